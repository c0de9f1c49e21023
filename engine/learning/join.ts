/**
 * Shown suggestions joined with their outcomes: what a learner trains on and
 * what `learning/status` counts.
 */
import type { LearningEventCounts } from "../protocol/mod.ts";
import type { LearningEvent, Outcome, ShownEvent } from "./events.ts";

/**
 * A suggestion with no outcome this long after it was shown counts as
 * ignored. Adapters report an outcome when the suggestion leaves the screen
 * (accepted, typed over, dismissed, replaced), so one never answered was
 * left unread, or its client went away.
 */
export const IGNORED_AFTER_MS = 10 * 60_000;

/** A shown suggestion and what became of it. */
export interface Suggestion<S = ShownEvent> {
  shown: S;
  outcome: Outcome | "ignored";
  /** For "partial": the part kept. */
  acceptedText?: string;
  /** From its return to its outcome's report; absent when ignored. */
  msToOutcome?: number;
}

/**
 * The suggestions of `events` (in log order) that are settled by `now`: each
 * with its first reported outcome, or ignored past {@link IGNORED_AFTER_MS}.
 * Suggestions still open are left out, and so are outcomes whose shown event
 * is not among `events` (rotated away).
 */
export function joinOutcomes(events: Iterable<LearningEvent>, now = Date.now()): Suggestion[] {
  const join = new OutcomeJoin((event) => event);
  for (const event of events) join.add(event);
  return join.settled(now);
}

/**
 * The join, fed one event at a time. `keep` chooses what of a shown event
 * to hold: the whole event for a learner, nothing for a running count.
 */
export class OutcomeJoin<S> {
  #keep: (event: ShownEvent) => S;
  #suggestions = new Map<string, { shownAt: number; shown: S; outcome?: Suggestion<S> }>();
  /** The last quick suggestion shown (see `add`). */
  #quick?: ShownEvent;

  constructor(keep: (event: ShownEvent) => S) {
    this.#keep = keep;
  }

  /**
   * Adds the next event of the log. A quick suggestion (`shortened`) followed
   * by the full one at the same place leaves one of them for the user to
   * answer: the full one when it differs (the editor shows it in the quick
   * one's place), else the quick one, which stays on screen. The other is
   * not a suggestion the user saw, and is left out.
   */
  add(event: LearningEvent): void {
    if (event.kind === "shown") {
      const quick = this.#quick;
      this.#quick = event.shortened ? event : undefined;
      if (
        quick && !event.shortened && quick.path === event.path && quick.prefix === event.prefix &&
        quick.suffix === event.suffix && !this.#suggestions.get(quick.id)?.outcome
      ) {
        if (quick.text === event.text) return;
        this.#suggestions.delete(quick.id);
      }
      const shown = this.#keep(event);
      this.#suggestions.set(event.id, { shownAt: Date.parse(event.time), shown });
      return;
    }
    const suggestion = this.#suggestions.get(event.id);
    if (!suggestion || suggestion.outcome) return;
    suggestion.outcome = {
      shown: suggestion.shown,
      outcome: event.outcome,
      ...(event.acceptedText !== undefined ? { acceptedText: event.acceptedText } : {}),
      msToOutcome: event.msToOutcome,
    };
  }

  /** The suggestions settled by `now`, in the order they were shown. */
  settled(now: number): Suggestion<S>[] {
    const settled: Suggestion<S>[] = [];
    for (const { shownAt, shown, outcome } of this.#suggestions.values()) {
      if (outcome) settled.push(outcome);
      else if (now - shownAt >= IGNORED_AFTER_MS) settled.push({ shown, outcome: "ignored" });
    }
    return settled;
  }

  /** How many were shown, and how many of them were settled each way by `now`. */
  counts(now: number): LearningEventCounts {
    const counts = {
      shown: this.#suggestions.size,
      accepted: 0,
      partial: 0,
      rejected: 0,
      ignored: 0,
    };
    for (const { outcome } of this.settled(now)) counts[outcome]++;
    return counts;
  }
}
