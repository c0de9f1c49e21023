/**
 * The per-project feedback log: one JSON line per accept/reject signal, the
 * raw material of per-project learning.
 */
import { createHash } from "node:crypto";
import { basename, join } from "node:path";

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
}

/** The per-project state folder: under the cache, never inside the repository. */
export function projectStateDir(cacheDir: string, workspaceRoot: string): string {
  const digest = createHash("sha256").update(workspaceRoot).digest("hex").slice(0, 16);
  return join(cacheDir, "projects", `${basename(workspaceRoot) || "root"}-${digest}`);
}

/** Appends feedback events to `feedback.jsonl` in a project's state folder. */
export class FeedbackLog {
  readonly path: string;
  #dir: string;

  constructor(stateDir: string) {
    this.#dir = stateDir;
    this.path = join(stateDir, "feedback.jsonl");
  }

  /** Records one event; a single append of one line, so a crash loses at most that line. */
  async append(event: FeedbackEvent): Promise<void> {
    await Deno.mkdir(this.#dir, { recursive: true });
    await Deno.writeTextFile(this.path, `${JSON.stringify(event)}\n`, { append: true });
  }
}
