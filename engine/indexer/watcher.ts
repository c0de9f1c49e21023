/**
 * Watches a project for changes on disk, within bounds: one non-recursive
 * watch per directory the walk descends into, so node_modules, the insides of
 * .git, build outputs and everything else the walk skips cost nothing (a
 * recursive watch of the root takes one inotify watch per directory of the
 * whole tree, and its `ignore` option only filters events); at most a budget
 * of directories; plus the git directory, where HEAD moving (a checkout,
 * reset, merge, rebase, pull) asks for a walk of the whole project instead of
 * trusting single events. Changes are collected for a moment and handed on
 * as one batch.
 */
import { basename, dirname, join, relative, resolve } from "node:path";

/**
 * Most directories one project watches. Linux counts inotify watches per
 * user (fs.inotify.max_user_watches), shared with the editor's own watcher
 * and every other tool. Since Linux 5.11 its default is about 1% of RAM at
 * about 1 KB a watch, kept between 8192 and 1048576 (192536 on a 24 GB
 * machine, about 40000 on 4 GB); before 5.11 it was 8192, which editors ask
 * users to raise (VS Code: to 524288). One project takes at most a quarter of
 * the limit where it can be known (see `watchBudget`), and never more than this.
 */
export const MAX_WATCHED_DIRS = 8192;

/**
 * How often a project that cannot be watched (more directories than the
 * budget, the OS out of watches, no watcher on the platform) is walked
 * again. A walk stats every file and reads only those whose size, times or
 * inode changed.
 */
export const RESCAN_INTERVAL_MS = 60_000;

/** Changes are collected this long after the last one before they are handed on. */
export const WATCH_DEBOUNCE_MS = 300;

/** Bounds on watching, e.g. smaller ones in tests. */
export interface WatchOptions {
  /** Most directories watched; a project with more is rescanned instead. */
  maxDirs?: number;
  /** How often a project that is not watched is walked again, in ms. */
  rescanMs?: number;
  /** How long changes are collected before they are indexed, in ms. */
  debounceMs?: number;
}

/**
 * How the index follows changes on disk: "events" (the OS reports them),
 * "rescan" (a walk every `RESCAN_INTERVAL_MS`), "off" (not kept fresh by
 * this process: not started, stopped, or another process writes the index).
 */
export type Freshness = "events" | "rescan" | "off";

/** What changed on disk during one collection window. */
export interface ChangeBatch {
  /** Project-relative paths created, written, renamed (both names) or removed. */
  paths: Set<string>;
  /** Why the whole project should be walked again instead (e.g. HEAD moved), if it should. */
  rewalk?: string;
}

/** Thrown when a project has more directories than it may watch. */
export class TooManyDirectories extends Error {
  constructor(count: number, max: number) {
    super(`${count} folders to watch, more than the ${max} allowed`);
  }
}

/**
 * How many directories one project may watch on this machine: a quarter of
 * the user's inotify limit where it can be read, and at most
 * `MAX_WATCHED_DIRS`. Deno reads /proc only with --allow-all; without it, a
 * kernel older than 5.11 is assumed to have the old default of 8192.
 */
export function watchBudget(): number {
  const limit = inotifyLimit();
  return limit === undefined
    ? MAX_WATCHED_DIRS
    : Math.max(1, Math.min(MAX_WATCHED_DIRS, Math.floor(limit / 4)));
}

function inotifyLimit(): number | undefined {
  if (Deno.build.os !== "linux") return undefined;
  try {
    const limit = Number(Deno.readTextFileSync("/proc/sys/fs/inotify/max_user_watches"));
    if (limit > 0) return limit;
  } catch {
    // Not readable without --allow-all: judged by the kernel's version below.
  }
  try {
    // Asking without the permission would prompt on a terminal.
    if (Deno.permissions.querySync({ name: "sys", kind: "osRelease" }).state !== "granted") {
      return undefined;
    }
    const [major, minor] = Deno.osRelease().split(".").map(Number);
    return major < 5 || (major === 5 && minor < 11) ? 8192 : undefined;
  } catch {
    return undefined;
  }
}

/** A burst of changes that goes on is handed on at least this many debounce periods apart. */
const MAX_WAIT_PERIODS = 10;

/** Files in the git directory whose change means the work tree may have changed wholesale. */
const HEAD_FILES = new Set(["HEAD", "ORIG_HEAD"]);

/** The watches of one project: which directories, and the OS watcher over them. */
export class DirWatcher {
  #root: string;
  #maxDirs: number;
  #debounceMs: number;
  #onBatch: (batch: ChangeBatch) => void;
  #onError: (error: Error) => void;
  /** Project-relative directories watched ("" is the root). */
  #dirs = new Set<string>();
  #gitDir?: string;
  #watcher?: Deno.FsWatcher;
  #paths = new Set<string>();
  #rewalk?: string;
  #timer?: ReturnType<typeof setTimeout>;
  #firstAt?: number;
  #closed = false;

  /**
   * @param root The project's real path.
   * @param options `onBatch` gets the changes; `onError` is told when the OS watcher fails later.
   */
  constructor(
    root: string,
    options: {
      maxDirs: number;
      debounceMs: number;
      onBatch: (batch: ChangeBatch) => void;
      onError: (error: Error) => void;
    },
  ) {
    this.#root = root;
    this.#maxDirs = options.maxDirs;
    this.#debounceMs = options.debounceMs;
    this.#onBatch = options.onBatch;
    this.#onError = options.onError;
  }

  /** How many directories are watched, the git directory included. */
  get size(): number {
    return this.#watcher ? this.#dirs.size + (this.#gitDir ? 1 : 0) : 0;
  }

  /** Whether the project-relative directory is watched. */
  has(dir: string): boolean {
    return this.#dirs.has(dir);
  }

  /**
   * Watches exactly `dirs` (project-relative, as the walk found them) and the
   * git directory. The new OS watcher starts before the old one stops, so no
   * change in a directory watched by both is missed. Throws
   * `TooManyDirectories` over the budget, and the OS's error when it refuses
   * (e.g. "OS file watch limit reached" when the user's inotify watches are
   * spent); the old watcher then goes on.
   */
  async watch(dirs: Iterable<string>): Promise<void> {
    if (this.#closed) return;
    const next = new Set(dirs);
    next.add("");
    const gitDir = await findGitDir(this.#root);
    const count = next.size + (gitDir ? 1 : 0);
    if (count > this.#maxDirs) throw new TooManyDirectories(count, this.#maxDirs);
    let watcher: Deno.FsWatcher;
    try {
      watcher = this.#open(next, gitDir);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
      // A directory went away since the walk: it is not watched (its removal is an event).
      for (const dir of [...next]) {
        const info = await Deno.lstat(join(this.#root, dir)).catch(() => undefined);
        if (!info?.isDirectory) next.delete(dir);
      }
      watcher = this.#open(next, gitDir && await isDirectory(gitDir) ? gitDir : undefined);
    }
    if (this.#closed) return watcher.close();
    const old = this.#watcher;
    this.#watcher = watcher;
    this.#dirs = next;
    this.#gitDir = gitDir;
    this.#listen(watcher);
    old?.close();
  }

  /** Watches these directories too. Throws as `watch` does. */
  add(dirs: Iterable<string>): Promise<void> {
    return this.watch([...this.#dirs, ...dirs]);
  }

  /**
   * Forgets the directory at `path` and those under it, once it is gone: the
   * OS dropped their watches with them.
   */
  forget(path: string): void {
    for (const dir of this.#dirs) {
      if (dir === path || dir.startsWith(`${path}/`)) this.#dirs.delete(dir);
    }
  }

  /** Stops watching at once; changes not yet handed on are dropped. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#watcher?.close();
    this.#watcher = undefined;
  }

  #open(dirs: Set<string>, gitDir: string | undefined): Deno.FsWatcher {
    const paths = [...dirs].map((dir) => join(this.#root, dir));
    if (gitDir) paths.push(gitDir);
    return Deno.watchFs(paths, { recursive: false });
  }

  async #listen(watcher: Deno.FsWatcher): Promise<void> {
    try {
      for await (const event of watcher) {
        if (event.flag === "rescan") this.#take(undefined, "the OS dropped change events");
        for (const path of event.paths) this.#take(path);
      }
    } catch (error) {
      if (watcher === this.#watcher && !this.#closed) this.#onError(error as Error);
    }
  }

  #take(absolute: string | undefined, rewalk?: string): void {
    if (this.#closed) return;
    if (absolute !== undefined && this.#gitDir && dirname(absolute) === this.#gitDir) {
      // Only HEAD matters in there: index.lock and the like change on every `git status`.
      if (!HEAD_FILES.has(basename(absolute))) return;
      rewalk = `${basename(absolute)} of ${this.#gitDir} changed`;
    } else if (absolute !== undefined) {
      const path = relative(this.#root, absolute);
      if (path === "" || path.startsWith("..")) return;
      if (basename(path) === ".gitignore") rewalk = `${path} changed`;
      this.#paths.add(path);
    }
    this.#rewalk ??= rewalk;
    // Handed on once changes pause, and at least every few periods while they do not.
    this.#firstAt ??= Date.now();
    clearTimeout(this.#timer);
    const latest = this.#firstAt + this.#debounceMs * MAX_WAIT_PERIODS - Date.now();
    this.#timer = setTimeout(() => this.#flush(), Math.max(0, Math.min(this.#debounceMs, latest)));
  }

  #flush(): void {
    const batch: ChangeBatch = {
      paths: this.#paths,
      ...(this.#rewalk ? { rewalk: this.#rewalk } : {}),
    };
    this.#paths = new Set();
    this.#rewalk = undefined;
    this.#firstAt = undefined;
    if (!this.#closed) this.#onBatch(batch);
  }
}

/**
 * The project's git directory: `.git` itself, or where a `.git` file points
 * (a worktree or submodule: "gitdir: PATH"); undefined when there is none.
 */
async function findGitDir(root: string): Promise<string | undefined> {
  const dotGit = join(root, ".git");
  const info = await Deno.lstat(dotGit).catch(() => undefined);
  if (info?.isDirectory) return dotGit;
  if (!info?.isFile) return undefined;
  const text = await Deno.readTextFile(dotGit).catch(() => "");
  const found = /^gitdir:\s*(.+?)\s*$/m.exec(text);
  if (!found) return undefined;
  const gitDir = resolve(root, found[1]);
  return await isDirectory(gitDir) ? gitDir : undefined;
}

async function isDirectory(path: string): Promise<boolean> {
  return (await Deno.stat(path).catch(() => undefined))?.isDirectory ?? false;
}
