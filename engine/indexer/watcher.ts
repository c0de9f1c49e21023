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
 * again; or ten times as long as the last walk took, where that is longer,
 * so rescanning takes at most a tenth of a core. A walk stats every file and
 * reads only those whose size, times or inode changed (30000 files in 3000
 * folders: about 4 s on a 2-core machine, mostly the ignore rules).
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
  /** Opens the OS watcher: `Deno.watchFs`, unless a test fakes the OS refusing. */
  watchFs?: (paths: string[], options: { recursive: boolean }) => Deno.FsWatcher;
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

/** Changes that go on without a pause are handed on at most this many debounce periods after the first. */
const MAX_WAIT_PERIODS = 10;

/** Files in the git directory whose change means the work tree may have changed wholesale. */
const HEAD_FILES = new Set(["HEAD", "ORIG_HEAD"]);

/**
 * Folders watched by extra OS watchers (made after the main one) before all
 * are folded into one: Deno tests every event against every watcher's paths.
 */
const MAX_EXTRA_DIRS = 64;

/** What `DirWatcher.sync` did. */
export type SyncResult =
  /** Watching these folders too (the first time: all of them). */
  | { added: string[] }
  /**
   * Stopped watching for a moment and started again over every folder (a
   * folder was made again under a watched name, or the extra watchers were
   * folded into one): a change in that moment may be missed, so walk again.
   */
  | { rebuilt: true };

/**
 * The watches of one project. How Deno 2.9 behaves, measured: every
 * `Deno.watchFs` of a process shares one inotify instance, and a path
 * already watched by an open watcher is not watched again by a new one, even
 * where the folder was removed and made again (a watch holds an inode: the
 * new folder goes unwatched until every watcher holding its name is closed);
 * each event is tested against the paths of every open watcher, cheaply only
 * where one of them contains it (the root, listed first: 900 events in 29 ms
 * over 8192 folders, but 269 ms with the root listed last, and 32 watchers
 * of 256 folders lost events). So there is one main watcher, root first; new
 * folders get a small extra watcher (no gap, no re-watching of the others);
 * and a folder made again under a watched name, or too many extra folders,
 * closes every watcher before opening one new one over all folders.
 */
export class DirWatcher {
  #root: string;
  #maxDirs: number;
  #debounceMs: number;
  #onBatch: (batch: ChangeBatch) => void;
  #onError: (error: Error) => void;
  #watchFs: NonNullable<WatchOptions["watchFs"]>;
  /** Project-relative folders watched now ("" is the root), with their inodes. */
  #dirs = new Map<string, number | null>();
  /** Every folder an open OS watcher was given, gone ones included. */
  #registered = new Set<string>();
  /**
   * Folders given to an open watcher that were removed, moved away or made
   * again since (their watch is gone with the old inode, whose number a new
   * folder may well reuse), or all of them (`true`) after events were lost.
   */
  #stale: Set<string> | true = new Set();
  #extra = 0;
  #gitDir?: string;
  #watchers: Deno.FsWatcher[] = [];
  /** Each watcher's event loop, ended once Deno has let go of it. */
  #loops: Promise<void>[] = [];
  #paths = new Set<string>();
  #rewalk?: string;
  #timer?: ReturnType<typeof setTimeout>;
  #firstAt?: number;
  #closed = false;
  #turn = Promise.resolve();

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
      watchFs?: WatchOptions["watchFs"];
    },
  ) {
    this.#root = root;
    this.#watchFs = options.watchFs ?? Deno.watchFs;
    this.#maxDirs = options.maxDirs;
    this.#debounceMs = options.debounceMs;
    this.#onBatch = options.onBatch;
    this.#onError = options.onError;
  }

  /** How many folders are watched, the git directory included. */
  get size(): number {
    return this.#dirs.size + (this.#gitDir ? 1 : 0);
  }

  /** The folders watched, project-relative ("" is the root), sorted. */
  folders(): string[] {
    const git = this.#gitDir ? [relative(this.#root, this.#gitDir)] : [];
    return [...this.#dirs.keys(), ...git].sort();
  }

  /** Whether the project-relative folder is watched. */
  has(dir: string): boolean {
    return this.#dirs.has(dir);
  }

  /**
   * Watches `dirs` (project-relative, as a walk found them): with
   * "replace" exactly them (the root and the git directory always), with
   * "add" them too. Throws `TooManyDirectories` over the budget, and the
   * OS's error when it refuses (e.g. "OS file watch limit reached" when the
   * user's inotify watches are spent); what was watched before is then
   * watched still, unless it had to be closed first.
   */
  sync(dirs: Iterable<string>, how: "replace" | "add"): Promise<SyncResult> {
    const given = [...dirs];
    return this.#inTurn(() => this.#sync(given, how));
  }

  /** Runs syncs one at a time, so that none works from a set another is changing. */
  #inTurn<T>(work: () => Promise<T>): Promise<T> {
    const turn = this.#turn.then(work);
    this.#turn = turn.then(() => undefined, () => undefined);
    return turn;
  }

  async #sync(given: string[], how: "replace" | "add"): Promise<SyncResult> {
    try {
      return await this.#syncOnce(given, how);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
      // A folder went away between its check and its watch: its removal is an event of its own.
      return await this.#syncOnce(given, how);
    }
  }

  async #syncOnce(given: string[], how: "replace" | "add"): Promise<SyncResult> {
    if (this.#closed) return { added: [] };
    // Inodes are read anew for the folders given: one made again under its name has a new one.
    const next = new Map<string, number | null>(how === "add" ? this.#dirs : []);
    for (const dir of how === "add" ? given : ["", ...given]) {
      const info = await Deno.lstat(join(this.#root, dir)).catch(() => undefined);
      if (info?.isDirectory) next.set(dir, info.ino);
    }
    const gitDir = await findGitDir(this.#root);
    const count = next.size + (gitDir ? 1 : 0);
    if (count > this.#maxDirs) throw new TooManyDirectories(count, this.#maxDirs);
    const added = [...next.keys()].filter((dir) => !this.#dirs.has(dir));
    if (this.#watchers.length === 0) {
      this.#open(next, gitDir);
      return { added };
    }
    // A name an open watcher holds is not watched again (see above): all must close first.
    const stale = this.#stale;
    const madeAgain = [...next].some(([dir, ino]) =>
      this.#registered.has(dir) &&
      (stale === true || stale.has(dir) || !this.#dirs.has(dir) || this.#dirs.get(dir) !== ino)
    );
    const gitMoved = gitDir !== this.#gitDir;
    if (madeAgain || gitMoved || this.#extra + added.length > MAX_EXTRA_DIRS) {
      // Deno lets go of a closed watcher's paths only after its loop ends: opening at once
      // would leave them unwatched.
      await this.#closeWatchers();
      if (this.#closed) return { added: [] };
      this.#open(next, gitDir);
      return { rebuilt: true };
    }
    if (added.length > 0) {
      // The root first here too, so that each event matches at once (it is not watched twice).
      const paths = [this.#root, ...added.map((dir) => join(this.#root, dir))];
      const watcher = this.#watchFs(paths, { recursive: false });
      this.#adopt(watcher);
      for (const dir of added) this.#registered.add(dir);
      this.#extra += added.length;
    }
    this.#dirs = next;
    return { added };
  }

  /** Opens the main watcher over `dirs`, the root first, and the git directory. */
  #open(dirs: Map<string, number | null>, gitDir: string | undefined): void {
    const names = ["", ...[...dirs.keys()].filter((dir) => dir !== "")];
    const paths = names.map((dir) => join(this.#root, dir));
    if (gitDir) paths.push(gitDir);
    this.#adopt(this.#watchFs(paths, { recursive: false }));
    this.#registered = new Set(names);
    this.#stale = new Set();
    this.#extra = 0;
    this.#dirs = dirs;
    this.#gitDir = gitDir;
  }

  #adopt(watcher: Deno.FsWatcher): void {
    if (this.#closed) return watcher.close();
    this.#watchers.push(watcher);
    this.#loops.push(this.#listen(watcher));
  }

  /**
   * Forgets the folder at `path` and those under it, once it is gone: the
   * OS dropped their watches with them.
   */
  forget(path: string): void {
    for (const dir of this.#dirs.keys()) {
      if (dir === path || dir.startsWith(`${path}/`)) this.#dirs.delete(dir);
    }
  }

  /** Stops watching at once; changes not yet handed on are dropped. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    void this.#closeWatchers();
  }

  /** Closes every OS watcher; resolves when their loops have ended. */
  #closeWatchers(): Promise<void> {
    for (const watcher of this.#watchers) watcher.close();
    const loops = this.#loops;
    this.#watchers = [];
    this.#loops = [];
    this.#registered.clear();
    this.#extra = 0;
    return Promise.all(loops).then(() => undefined);
  }

  async #listen(watcher: Deno.FsWatcher): Promise<void> {
    try {
      for await (const event of watcher) {
        // Deno flags a rescan when events were lost (e.g. a burst while this thread was busy).
        if (event.flag === "rescan") {
          this.#stale = true;
          this.#take(undefined, "change events were lost");
        }
        for (const path of event.paths) {
          if (event.kind === "remove" || event.kind === "rename" || event.kind === "create") {
            const dir = relative(this.#root, path);
            if (this.#stale !== true && this.#registered.has(dir)) this.#stale.add(dir);
          }
          this.#take(path);
        }
      }
    } catch (error) {
      if (this.#watchers.includes(watcher) && !this.#closed) this.#onError(error as Error);
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
