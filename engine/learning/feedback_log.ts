/**
 * The per-project feedback log: one JSON line per accept/reject signal, the
 * raw material of per-project learning. Bounded three ways: every string
 * field is cut at a cap, the file is rotated at a size cap, and a line torn
 * by a crash is cut off before the next event is appended.
 */
import { join } from "node:path";
import { makePrivateDir } from "../config/mod.ts";
import { ErrorCode } from "../protocol/mod.ts";
import { EngineError } from "../protocol/errors.ts";

/** One recorded signal. */
export interface FeedbackEvent {
  /** ISO time of the event. */
  time: string;
  /** The completion's id. */
  id: string;
  outcome: "accepted" | "rejected" | "partial";
  /** What was suggested. */
  text: string;
  /** For "partial": the part kept. */
  acceptedText?: string;
  languageId: string;
  path: string;
  /** The fields cut at their cap (see {@link FEEDBACK_FIELD_CAPS}); set by the log. */
  truncated?: TruncatableField[];
}

/** The string fields of an event that the log bounds. */
export type TruncatableField = "id" | "text" | "acceptedText" | "languageId" | "path";

/**
 * The most UTF-16 code units each string field keeps. A longer value is cut
 * (keeping its start, which is what a learner reads) and the field is listed
 * in `truncated`: the event still counts, without letting one client grow
 * the log by megabytes.
 */
export const FEEDBACK_FIELD_CAPS: Readonly<Record<TruncatableField, number>> = {
  id: 256,
  text: 16 * 1024,
  acceptedText: 16 * 1024,
  languageId: 128,
  path: 4 * 1024,
};

/** Past this size `feedback.jsonl` becomes `feedback.1.jsonl`, replacing the older generation. */
export const FEEDBACK_LOG_MAX_BYTES = 8 * 1024 * 1024;

/**
 * Appends per file, in order, across every FeedbackLog of this process, so
 * two sessions on one project neither interleave a rotation with an append
 * nor repair a tail the other is writing.
 */
const queues = new Map<string, Promise<unknown>>();
/** Files whose folder, mode and tail this process has checked. */
const prepared = new Set<string>();

/**
 * Appends feedback events to `feedback.jsonl` in a project's state folder
 * (0700), a file only its owner can read (0600).
 */
export class FeedbackLog {
  /** The current log file. */
  readonly path: string;
  /** The previous generation, kept after a rotation. */
  readonly rotatedPath: string;
  #dir: string;
  #lastError?: EngineError;

  constructor(stateDir: string) {
    this.#dir = stateDir;
    this.path = join(stateDir, "feedback.jsonl");
    this.rotatedPath = join(stateDir, "feedback.1.jsonl");
  }

  /**
   * Why the last append failed, naming the file and the OS reason; cleared
   * by the next append that succeeds.
   */
  get lastError(): EngineError | undefined {
    return this.#lastError;
  }

  /**
   * Records one event as a single append of one line, its fields bounded.
   *
   * @throws EngineError StateUnwritable naming the file and the OS reason.
   */
  append(event: FeedbackEvent): Promise<void> {
    const line = new TextEncoder().encode(`${JSON.stringify(bounded(event))}\n`);
    const previous = queues.get(this.path) ?? Promise.resolve();
    const run = previous.then(() => this.#write(line));
    const settled = run.catch(() => undefined);
    queues.set(this.path, settled);
    settled.then(() => {
      if (queues.get(this.path) === settled) queues.delete(this.path);
    });
    return run;
  }

  async #write(line: Uint8Array): Promise<void> {
    try {
      if (!prepared.has(this.path)) {
        await this.#prepare();
        prepared.add(this.path);
      }
      const size = await fileSize(this.path);
      if (size > 0 && size + line.length > FEEDBACK_LOG_MAX_BYTES) {
        await Deno.rename(this.path, this.rotatedPath);
      }
      using file = await Deno.open(this.path, { append: true, create: true, mode: 0o600 });
      await writeAll(file, line);
      this.#lastError = undefined;
    } catch (error) {
      // Check the folder, mode and tail again next time: the failure may have been the folder
      // going away.
      prepared.delete(this.path);
      this.#lastError = new EngineError(
        ErrorCode.StateUnwritable,
        `Cannot write the feedback log ${this.path}: ${osReason(error as Error)}`,
      );
      throw this.#lastError;
    }
  }

  /** Makes the folder 0700 and the file 0600, and cuts a line torn by a crash. */
  async #prepare(): Promise<void> {
    await makePrivateDir(this.#dir);
    let stat: Deno.FileInfo;
    try {
      stat = await Deno.stat(this.path);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return;
      throw error;
    }
    if (stat.mode !== null && (stat.mode & 0o777) !== 0o600) await Deno.chmod(this.path, 0o600);
    await cutTornTail(this.path, stat.size);
  }
}

/** The event with each string field cut at its cap, and the cut fields listed. */
function bounded(event: FeedbackEvent): FeedbackEvent {
  const result: FeedbackEvent = { ...event };
  const truncated: TruncatableField[] = [];
  for (const [field, cap] of Object.entries(FEEDBACK_FIELD_CAPS)) {
    const name = field as TruncatableField;
    const value = result[name];
    if (value === undefined || value.length <= cap) continue;
    // Never split a surrogate pair: half of one is not valid UTF-8.
    const last = value.charCodeAt(cap - 1);
    const end = last >= 0xd800 && last <= 0xdbff ? cap - 1 : cap;
    result[name] = value.slice(0, end);
    truncated.push(name);
  }
  delete result.truncated;
  if (truncated.length > 0) result.truncated = truncated;
  return result;
}

/**
 * Cuts the file back to just after its last newline, so the next append
 * starts on a line of its own: a crash mid-append leaves part of a line.
 */
async function cutTornTail(path: string, size: number): Promise<void> {
  if (size === 0) return;
  using file = await Deno.open(path, { read: true, write: true });
  const chunk = new Uint8Array(64 * 1024);
  for (let end = size; end > 0;) {
    const start = Math.max(0, end - chunk.length);
    const window = chunk.subarray(0, end - start);
    await file.seek(start, Deno.SeekMode.Start);
    await readFull(file, window);
    const newline = window.lastIndexOf(0x0a);
    if (newline >= 0) {
      const keep = start + newline + 1;
      if (keep < size) await file.truncate(keep);
      return;
    }
    end = start;
  }
  await file.truncate(0);
}

async function fileSize(path: string): Promise<number> {
  try {
    return (await Deno.stat(path)).size;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return 0;
    throw error;
  }
}

async function readFull(file: Deno.FsFile, buffer: Uint8Array): Promise<void> {
  let read = 0;
  while (read < buffer.length) {
    const count = await file.read(buffer.subarray(read));
    if (count === null) throw new Error("File shrank while reading its tail");
    read += count;
  }
}

async function writeAll(file: Deno.FsFile, data: Uint8Array): Promise<void> {
  let written = 0;
  while (written < data.length) written += await file.write(data.subarray(written));
}

/** The OS's words for a file error, e.g. "permission denied", without the errno and path. */
function osReason(error: Error): string {
  const reason = error.message.replace(/\s*\(os error \d+\)[\s\S]*$/, "");
  return reason.charAt(0).toLowerCase() + reason.slice(1);
}
