/**
 * What learning records: a suggestion as it was shown, and what the user did
 * with it. Each event is one JSON line of the project's feedback log; every
 * string in it is bounded.
 */
import type { Completion } from "../pipeline.ts";

/** What the user did with a suggestion, as the adapter reports it. */
export type Outcome = "accepted" | "rejected" | "partial";

/** A non-empty suggestion returned to the client, with what learning needs from that moment. */
export interface ShownEvent {
  kind: "shown";
  /** ISO time it was returned. */
  time: string;
  /** The completion's id, which `feedback` quotes. */
  id: string;
  languageId: string;
  /** The document's path, relative to the workspace when inside it. */
  path: string;
  /** The document's text just before the cursor: at most {@link EVENT_FIELD_CAPS}.prefix. */
  prefix: string;
  /** The document's text just after the cursor: at most {@link EVENT_FIELD_CAPS}.suffix. */
  suffix: string;
  /** The suggestion. */
  text: string;
  /** Its size in UTF-16 units and in lines, before any cut at the caps. */
  chars: number;
  lines: number;
  /** Project-context chunks that went into the prompt (0 when answered from the cache). */
  contextUsed: number;
  /** The completion's total time, in ms. */
  latencyMs: number;
  /** Answered from recent completions, without the model. */
  cached: boolean;
  /** The quick first suggestion, made from the prompt nearest the cursor (see `document/prefetch`). */
  shortened?: boolean;
  /** Mean and lowest token log-probability, when the generator reports them. */
  logprobs?: { mean: number; min: number };
  /** This client's outcome before this suggestion, and how long before it was reported. */
  previousOutcome?: { outcome: Outcome; msBefore: number };
  /** The fields cut at their cap; set by the log. */
  truncated?: TruncatableField[];
}

/**
 * What became of a suggestion. It repeats the suggestion's text, language
 * and path, so that it still says what was accepted once its shown event has
 * rotated away, and reads as the feedback events recorded before shown
 * events were.
 */
export interface OutcomeEvent {
  kind: "outcome";
  /** ISO time the outcome was reported. */
  time: string;
  id: string;
  outcome: Outcome;
  /** For "partial": the part kept. */
  acceptedText?: string;
  /** From the suggestion's return to its outcome's report. */
  msToOutcome: number;
  text: string;
  languageId: string;
  path: string;
  /** The fields cut at their cap; set by the log. */
  truncated?: TruncatableField[];
}

/** One line of the log. */
export type LearningEvent = ShownEvent | OutcomeEvent;

/** The string fields of an event that the log bounds. */
export type TruncatableField =
  | "id"
  | "text"
  | "acceptedText"
  | "languageId"
  | "path"
  | "prefix"
  | "suffix";

/**
 * The most UTF-16 code units each string field keeps. A longer value is cut,
 * keeping the part nearest the cursor (the end of `prefix`, the start of the
 * rest), and the field is listed in `truncated`: the event still counts,
 * without letting one client grow the log by megabytes. The excerpts a
 * session records are cut to these caps unmarked (see {@link shownEvent}).
 */
export const EVENT_FIELD_CAPS: Readonly<Record<TruncatableField, number>> = {
  id: 256,
  text: 16 * 1024,
  acceptedText: 16 * 1024,
  languageId: 128,
  path: 4 * 1024,
  prefix: 1000,
  suffix: 300,
};

/** What a session knows when it returns a non-empty completion. */
export interface ShownInput {
  id: string;
  /** When it was returned (ms since the epoch). */
  at: number;
  languageId: string;
  path: string;
  /** The document's text and the cursor's offset in it. */
  document: string;
  offset: number;
  completion: Completion;
  /** This client's last outcome and when it was reported (ms since the epoch). */
  previous?: { outcome: Outcome; at: number };
}

/** The shown event for a completion: excerpts around the cursor, the suggestion, its signals. */
export function shownEvent(input: ShownInput): ShownEvent {
  const { completion, previous } = input;
  return {
    kind: "shown",
    time: new Date(input.at).toISOString(),
    id: input.id,
    languageId: input.languageId,
    path: input.path,
    prefix: cut(input.document.slice(0, input.offset), EVENT_FIELD_CAPS.prefix, "end"),
    suffix: cut(input.document.slice(input.offset), EVENT_FIELD_CAPS.suffix, "start"),
    text: completion.text,
    chars: completion.text.length,
    lines: completion.text.split("\n").length,
    contextUsed: completion.context?.length ?? 0,
    latencyMs: completion.timings.totalMs,
    cached: completion.timings.cached,
    ...(completion.timings.shortened ? { shortened: true } : {}),
    ...(completion.logprobs ? { logprobs: completion.logprobs } : {}),
    ...(previous
      ? { previousOutcome: { outcome: previous.outcome, msBefore: input.at - previous.at } }
      : {}),
  };
}

/** The event with each string field cut at its cap, and the cut fields listed. */
export function bounded<E extends LearningEvent>(event: E): E {
  const result: Record<string, unknown> = { ...event };
  const truncated: TruncatableField[] = [];
  for (const [field, cap] of Object.entries(EVENT_FIELD_CAPS)) {
    const value = result[field];
    if (typeof value !== "string" || value.length <= cap) continue;
    result[field] = cut(value, cap, field === "prefix" ? "end" : "start");
    truncated.push(field as TruncatableField);
  }
  delete result.truncated;
  if (truncated.length > 0) result.truncated = truncated;
  return result as E;
}

/** The event one line holds, or undefined for a line that is not one (damaged, or unknown). */
export function parseEvent(line: string): LearningEvent | undefined {
  let value: Record<string, unknown>;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null) return undefined;
  if (typeof value.id !== "string" || typeof value.time !== "string") return undefined;
  if (value.kind === "shown" && typeof value.text === "string") {
    return value as unknown as ShownEvent;
  }
  const outcomes: unknown[] = ["accepted", "rejected", "partial"];
  if (value.kind === "outcome" && outcomes.includes(value.outcome)) {
    return value as unknown as OutcomeEvent;
  }
  return undefined;
}

/** At most `cap` UTF-16 units of `value` from one end, never half a surrogate pair. */
function cut(value: string, cap: number, keep: "start" | "end"): string {
  if (value.length <= cap) return value;
  if (keep === "start") {
    const last = value.charCodeAt(cap - 1);
    return value.slice(0, last >= 0xd800 && last <= 0xdbff ? cap - 1 : cap);
  }
  const first = value.charCodeAt(value.length - cap);
  return value.slice(first >= 0xdc00 && first <= 0xdfff ? value.length - cap + 1 : -cap);
}
