/**
 * One indexer per project across processes: two editor windows on one
 * workspace start two sidecars, and only the holder of the project's lock
 * writes its index; the other reads it and takes over when the holder exits.
 * The lock is an advisory file lock (flock), which the OS releases when its
 * process dies, so a killed sidecar never leaves a stale lock.
 */
import { join } from "node:path";

/** How often a process that does not hold the lock tries again. */
const RETRY_MS = 1000;

/** The lock of one project's state folder. */
export class ProjectLock {
  #file: Deno.FsFile;
  #held = false;
  #timer?: ReturnType<typeof setTimeout>;
  #closed = false;

  private constructor(file: Deno.FsFile) {
    this.#file = file;
  }

  /** Opens the lock file in `stateDir` and tries to take the lock once. */
  static async open(stateDir: string): Promise<ProjectLock> {
    const file = await Deno.open(join(stateDir, "index.lock"), {
      read: true,
      write: true,
      create: true,
      mode: 0o600,
    });
    const lock = new ProjectLock(file);
    lock.#held = await file.tryLock(true);
    return lock;
  }

  /** Whether this process holds the lock and may write the index. */
  get held(): boolean {
    return this.#held;
  }

  /** Calls `onAcquired` once this process holds the lock: at once if it does, else when it can. */
  whenHeld(onAcquired: () => void): void {
    if (this.#held) return onAcquired();
    const retry = async () => {
      if (this.#closed) return;
      this.#held = await this.#file.tryLock(true).catch(() => false);
      if (this.#closed) return;
      if (this.#held) onAcquired();
      else this.#timer = setTimeout(retry, RETRY_MS);
    };
    this.#timer = setTimeout(retry, RETRY_MS);
  }

  /** Releases the lock (if held) and stops trying to take it. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#file.close();
  }
}
