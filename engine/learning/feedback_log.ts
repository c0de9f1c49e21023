/**
 * The per-project feedback log, the event store learning reads: one JSON line
 * per suggestion shown and per outcome reported (see events.ts). Bounded three
 * ways: every string field is cut at a cap, the file is rotated at a size
 * cap, and a line torn by a crash is cut off before the next event is
 * appended, so a kill mid-write loses at most the event being written.
 */
import { basename, join } from "node:path";
import { makePrivateDir } from "../config/mod.ts";
import {
  ErrorCode,
  type LearningEventCounts,
  type LearningResetRequest,
  type LearningStatusRequest,
} from "../protocol/mod.ts";
import { EngineError } from "../protocol/errors.ts";
import { bounded, type LearningEvent, parseEvent } from "./events.ts";
import { OutcomeJoin } from "./join.ts";

/** Past this size `feedback.jsonl` becomes `feedback.1.jsonl`, replacing the older generation. */
export const FEEDBACK_LOG_MAX_BYTES = 8 * 1024 * 1024;

/**
 * Operations per file, in order, across every FeedbackLog of this process,
 * so two sessions on one project neither interleave a rotation, a reset or a
 * count with an append nor repair a tail the other is writing.
 */
const queues = new Map<string, Promise<unknown>>();
/** Files whose folder, mode and tail this process has checked. */
const prepared = new Set<string>();

/**
 * The running count of a log's events: those of the rotated generation and
 * of the current file up to `offset` (a file told apart by its inode), kept
 * current by reading only what was appended since, by any process.
 */
interface Tally {
  join: OutcomeJoin<null>;
  ino: number | null | undefined;
  offset: number;
}
/** Tallies per file, shared by every FeedbackLog of this process. */
const tallies = new Map<string, Tally>();

/**
 * Appends events to `feedback.jsonl` in a project's state folder (0700), a
 * file only its owner can read (0600), and reads, counts and erases them.
 * Every operation on one file runs in turn, in this process.
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
  append(event: LearningEvent): Promise<void> {
    const line = new TextEncoder().encode(`${JSON.stringify(bounded(event))}\n`);
    return this.#queued(async () => {
      await this.#write(line);
      // The event is on disk whether or not it can be counted now: a count that fails is redone.
      await this.#catchUp().catch(() => tallies.delete(this.path));
    });
  }

  /**
   * The counts as of this process's last append or read of the log, without
   * touching the disk (for `status`); undefined before the first.
   */
  counts(): LearningEventCounts | undefined {
    return tallies.get(this.path)?.join.counts(Date.now());
  }

  /** Reads what was appended since the last count, so that {@link counts} is current. */
  refresh(): Promise<void> {
    return this.#queued(() => this.#catchUp());
  }

  /** Every whole event on disk, the rotated generation's first, in the order they were written. */
  readEvents(): Promise<LearningEvent[]> {
    return this.#queued(async () => [
      ...(await readWholeLines(this.rotatedPath)).events,
      ...(await readWholeLines(this.path)).events,
    ]);
  }

  /**
   * `learning/status`: the events on disk now, counted, and the files' size.
   *
   * @throws EngineError StateUnwritable naming the file and the OS reason.
   */
  status(): Promise<Pick<LearningStatusRequest.Result, "events" | "bytes">> {
    return this.#queued(async () => {
      try {
        await this.#catchUp();
        const bytes = (await fileSize(this.path)) + (await fileSize(this.rotatedPath));
        return { events: this.counts()!, bytes };
      } catch (error) {
        throw stateError("read", this.path, error as Error);
      }
    });
  }

  /**
   * `learning/reset`: removes both generations and says what they held. The
   * state folder stays: it holds the project's index too.
   *
   * @throws EngineError StateUnwritable naming the file and the OS reason.
   */
  reset(): Promise<LearningResetRequest.Result> {
    return this.#queued(async () => {
      try {
        await this.#catchUp();
        const events = this.counts()!;
        const files: string[] = [];
        let bytes = 0;
        for (const path of [this.path, this.rotatedPath]) {
          const size = await fileSize(path);
          await Deno.remove(path).then(() => files.push(basename(path)), (error) => {
            if (!(error instanceof Deno.errors.NotFound)) throw error;
          });
          bytes += size;
        }
        tallies.set(this.path, { join: new OutcomeJoin(() => null), ino: undefined, offset: 0 });
        return { files, bytes, events };
      } catch (error) {
        throw stateError("erase", this.path, error as Error);
      }
    });
  }

  /** Runs `task` after every operation already asked of this file, in any FeedbackLog. */
  #queued<T>(task: () => Promise<T>): Promise<T> {
    const previous = queues.get(this.path) ?? Promise.resolve();
    const run = previous.then(task);
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
      using file = await Deno.open(this.path, {
        read: true,
        append: true,
        create: true,
        mode: 0o600,
      });
      // Another process killed mid-write since this one opened the log left a line without its
      // end: start on a line of our own (the fragment is skipped by readers) rather than cut
      // bytes that process may still be writing.
      await writeAll(file, (await endsLine(file)) ? line : new Uint8Array([0x0a, ...line]));
      this.#lastError = undefined;
    } catch (error) {
      // Check the folder, mode and tail again next time: the failure may have been the folder
      // going away.
      prepared.delete(this.path);
      this.#lastError = stateError("write", this.path, error as Error);
      throw this.#lastError;
    }
  }

  /**
   * Brings the tally up to the disk: reads the whole lines appended since,
   * or everything again when the file was rotated, erased or replaced.
   */
  async #catchUp(): Promise<void> {
    const stat = await Deno.stat(this.path).catch((error) => {
      if (error instanceof Deno.errors.NotFound) return undefined;
      throw error;
    });
    let tally = tallies.get(this.path);
    if (!tally || tally.ino !== stat?.ino || (stat?.size ?? 0) < tally.offset) {
      tally = { join: new OutcomeJoin(() => null), ino: stat?.ino, offset: 0 };
      for (const event of (await readWholeLines(this.rotatedPath)).events) tally.join.add(event);
    }
    if (stat && stat.size > tally.offset) {
      const { events, bytes } = await readWholeLines(this.path, tally.offset);
      for (const event of events) tally.join.add(event);
      tally.offset += bytes;
    }
    tallies.set(this.path, tally);
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

/**
 * The events of the whole lines of a file from byte `from` on, and how many
 * bytes those lines take: a line still being written (or torn) is left for
 * later. A missing file has none.
 */
async function readWholeLines(
  path: string,
  from = 0,
): Promise<{ events: LearningEvent[]; bytes: number }> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return { events: [], bytes: 0 };
    throw error;
  }
  // One buffer the size of what is there: on a completion's path this reads a single new line.
  let data: Uint8Array;
  try {
    const { size } = await file.stat();
    await file.seek(from, Deno.SeekMode.Start);
    const buffer = new Uint8Array(Math.max(0, size - from));
    let length = 0;
    while (length < buffer.length) {
      const count = await file.read(buffer.subarray(length));
      if (count === null) break; // It shrank since the stat: what was read is all there is.
      length += count;
    }
    data = buffer.subarray(0, length);
  } finally {
    file.close();
  }
  const bytes = data.lastIndexOf(0x0a) + 1;
  const events = new TextDecoder().decode(data.subarray(0, bytes)).split("\n")
    .map(parseEvent)
    .filter((event) => event !== undefined);
  return { events, bytes };
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

/** Whether an open file is empty or ends with a newline. */
async function endsLine(file: Deno.FsFile): Promise<boolean> {
  const size = await file.seek(0, Deno.SeekMode.End);
  if (size === 0) return true;
  const last = new Uint8Array(1);
  await file.seek(size - 1, Deno.SeekMode.Start);
  await readFull(file, last);
  return last[0] === 0x0a;
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

/** A failure on the log, naming the file and the OS's reason. */
function stateError(action: "write" | "read" | "erase", path: string, error: Error): EngineError {
  return new EngineError(
    ErrorCode.StateUnwritable,
    `Cannot ${action} the feedback log ${path}: ${osReason(error)}`,
  );
}

/** The OS's words for a file error, e.g. "permission denied", without the errno and path. */
function osReason(error: Error): string {
  const reason = error.message.replace(/\s*\(os error \d+\)[\s\S]*$/, "");
  return reason.charAt(0).toLowerCase() + reason.slice(1);
}
