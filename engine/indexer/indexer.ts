/**
 * Keeps the project index fresh: a walk at start, then a re-index of a file
 * on save or when it changes on disk (see watcher.ts), and a walk again when
 * git's HEAD moves or the project cannot be watched. Every path goes through
 * the same policy as the walk (walker.ts), so a save or a change on disk
 * never indexes what the walk would skip. It reads again only files whose
 * size, times or inode changed since it last read them.
 *
 * Indexing has two phases. Phase 1 (the walk, saves, changes on disk) stores
 * each changed file's chunks, terms and definitions at once, with no vector:
 * definitions and lexical search are current when it is done. Phase 2 runs
 * in the background once phase 1 has nothing left (and again whenever it
 * stored new chunks): it embeds the chunks stored without a vector one by
 * one, yielding between chunks so requests are answered, pausing while phase
 * 1 has work, and stopping within a chunk when closed. A vector is stored
 * only while its chunk is still there, unchanged, so a file replaced or
 * removed meanwhile never gets a stale one; its new chunks are embedded
 * instead. Only the process that writes the index embeds. The vector index
 * is saved after each batch of phase 1, every 30 s of phase 2 and at its end.
 */
import { createHash } from "node:crypto";
import { join, relative } from "node:path";
import type { Logger } from "../log/mod.ts";
import type { FileOutline } from "../ast/mod.ts";
import { chunkText, type Embedder, type IndexStore } from "../retrieval/mod.ts";
import {
  fileVersion,
  IgnoreRules,
  MAX_FILE_BYTES,
  type SkipReason,
  skipReasonForContent,
  skipReasonForDirectory,
  skipReasonForPath,
  walkProject,
} from "./walker.ts";
import {
  type ChangeBatch,
  DirWatcher,
  type Freshness,
  RESCAN_INTERVAL_MS,
  type SyncResult,
  TooManyDirectories,
  WATCH_DEBOUNCE_MS,
  watchBudget,
  type WatchOptions,
} from "./watcher.ts";

/** What the indexer is doing, as `status` reports it. */
export interface IndexProgress {
  files: number;
  chunks: number;
  pending: number;
  /** Chunks stored without a vector yet (phase 2): vector search does not find them yet. */
  vectorsPending: number;
  /** "indexing" while phase 1 has work (the walk, saves, changes on disk); not while embedding. */
  state: "idle" | "indexing";
  /** Files and directories left out by the last walk and the saves since, by reason. */
  skipped: Partial<Record<SkipReason, number>>;
  /** The last file left out, and why. */
  lastSkipped?: { path: string; reason: SkipReason };
  /**
   * How the index follows changes on disk: "events" (watched), "rescan" (walked
   * again every minute: too many folders to watch, or the OS refused), "off"
   * (not kept fresh by this process).
   */
  watching: Freshness;
}

/** A file's definitions and syntax blocks (tree-sitter); undefined where there is no grammar. */
export type OutlineFinder = (path: string, text: string) => Promise<FileOutline | undefined>;

/** A path waiting to be indexed. */
interface Pending {
  /** The editor's text, for a save. */
  text?: string;
  /** A change on disk: what the policy leaves out is dropped without being counted. */
  quiet?: boolean;
  /**
   * The walk that queued it (see `Indexer.#walks`): what the policy leaves
   * out is counted only while that walk's counts stand. A walk begun since
   * counts the file itself, so counting it for the older one too would
   * count it twice.
   */
  walk?: number;
}

/**
 * A directory modified this long before watching it began is listed again
 * once watched: what was made in it meanwhile is not missed, even where
 * times are kept to the second.
 */
const CATCH_UP_SLACK_MS = 2000;

/** Rescans wait at least this many times as long as the last walk took. */
const RESCAN_COST_FACTOR = 10;

/** The work between two yields to waiting requests, at most (an embedding yields after each chunk). */
const YIELD_EVERY_MS = 10;

/** Chunks without a vector read from the store at a time (phase 2). */
const EMBED_BATCH = 32;

/** While phase 2 runs, the vector index is saved at least this often (and when it ends). */
const SAVE_VECTORS_EVERY_MS = 30_000;

/** Indexes one project. */
export class Indexer {
  #root: string;
  #store: IndexStore;
  #embedder: Embedder;
  #log: Logger;
  #pending = new Map<string, Pending>();
  /** Walks, batches of changes and indexing passes under way. */
  #work = new Set<Promise<void>>();
  #draining?: Promise<void>;
  #listeners = new Set<() => void>();
  #outline: OutlineFinder;
  #stop = new AbortController();
  #skipped: IndexProgress["skipped"] = {};
  /** Walks begun so far: the last one's counts are `#skipped`. */
  #walks = 0;
  #lastSkipped?: IndexProgress["lastSkipped"];
  /** What each file read last looked like on disk (see `fileVersion`). */
  #versions = new Map<string, string>();
  /** The watch budget (see `watchBudget`), worked out when first needed. */
  #maxDirs?: number;
  #rescanMs: number;
  #debounceMs: number;
  #watchFs: WatchOptions["watchFs"];
  #freshness: Freshness = "off";
  #keepingFresh = false;
  #watcher?: DirWatcher;
  /** Whether watching may be tried again at a rescan: the project had too many folders. */
  #retryWatching = false;
  #warned = false;
  #rescanTimer?: ReturnType<typeof setTimeout>;
  #rewalking?: Promise<void>;
  /** How long the last walk took (stats and ignore rules; reading and embedding aside). */
  #lastWalkMs = 0;
  #rewalkAgain = false;
  #batches = Promise.resolve();
  /** Phase 2 under way: chunks being embedded. */
  #embedding?: Promise<void>;
  /** Whether phase 2 goes through the store again once the pass under way ends. */
  #embedAgain = false;
  /** Told after each chunk embedded, with the chunks left. */
  #chunkListeners = new Set<(left: number) => void>();

  /** @param root The project's real path (symlinks resolved). */
  constructor(
    root: string,
    store: IndexStore,
    embedder: Embedder,
    options: { log: Logger; outline?: OutlineFinder; watch?: WatchOptions },
  ) {
    this.#root = root;
    this.#store = store;
    this.#embedder = embedder;
    this.#log = options.log;
    this.#outline = options.outline ?? (() => Promise.resolve(undefined));
    this.#maxDirs = options.watch?.maxDirs;
    this.#rescanMs = options.watch?.rescanMs ?? RESCAN_INTERVAL_MS;
    this.#debounceMs = options.watch?.debounceMs ?? WATCH_DEBOUNCE_MS;
    this.#watchFs = options.watch?.watchFs;
  }

  /** Progress so far. */
  progress(): IndexProgress {
    return {
      ...this.#store.counts(),
      pending: this.#pending.size,
      vectorsPending: this.#store.vectorsPending(),
      state: this.#work.size > 0 ? "indexing" : "idle",
      skipped: { ...this.#skipped },
      ...(this.#lastSkipped ? { lastSkipped: this.#lastSkipped } : {}),
      watching: this.#freshness,
    };
  }

  /** The folders watched, project-relative ("" is the root, the git directory included), sorted. */
  watchedFolders(): string[] {
    return this.#watcher?.folders() ?? [];
  }

  /**
   * Calls `listener` when indexing (phase 1) starts or finishes, when
   * embedding (phase 2) stops, or the way of keeping fresh changes.
   */
  onChange(listener: () => void): void {
    this.#listeners.add(listener);
  }

  /**
   * Walks the project, indexes what changed and forgets deleted files. Every
   * file is read and hashed again, whatever its size and times say. Resolves
   * when phase 1 is done: every file's chunks, terms and definitions are
   * stored; their vectors are embedded after, in the background (await
   * `vectorsDone` for them).
   *
   * @param onFile Called after each file, e.g. for a progress bar.
   */
  async indexAll(onFile?: (done: number, total: number) => void): Promise<void> {
    const since = Date.now();
    const dirs = await this.#walk(false);
    if (!dirs) return;
    if (this.#freshness === "events") await this.#watchDirs(dirs, since, "replace");
    await this.#drain(onFile);
  }

  /** Starts `indexAll` in the background; errors are logged, never thrown. */
  start(): void {
    this.#track(
      this.indexAll().catch((error) => this.#log.error(`Indexing failed: ${error.message}`)),
    );
  }

  /**
   * Keeps the index fresh from now on, in the background: walks the project
   * (indexing what changed since the index was written), then watches the
   * folders the walk descended into, one watch each (see watcher.ts), and
   * re-indexes what changes in them: a file written, created, renamed (the
   * old name leaves the index) or deleted, a folder made or moved in (walked).
   * When git's HEAD moves (a checkout, reset or merge) or a .gitignore
   * changes, it walks the whole project again instead. A project with more
   * folders than the budget, or that the OS will not watch, is walked again
   * every `rescanMs` instead, with one warning. Resolves once the first walk
   * has found the files and watching (or rescanning) has begun; their
   * indexing goes on. A change during the walk is not lost: a folder modified
   * since the walk began is listed again once it is watched.
   */
  watch(): Promise<void> {
    if (this.#keepingFresh || this.#stop.signal.aborted) return Promise.resolve();
    this.#keepingFresh = true;
    const begun = Promise.withResolvers<void>();
    this.#track(
      (async () => {
        try {
          const since = Date.now();
          const dirs = await this.#walk(true);
          this.#lastWalkMs = Date.now() - since;
          if (dirs) await this.#watchDirs(dirs, since, "replace");
        } finally {
          begun.resolve();
        }
        await this.#drain();
      })().catch((error) => this.#log.error(`Indexing failed: ${error.message}`)),
    );
    return begun.promise;
  }

  /**
   * Re-indexes one file, e.g. on save; `text` is used instead of reading the
   * file. Files the walk would not index are left out (and dropped from the
   * index), with the reason counted in `progress().skipped`. Resolves once
   * the file is stored (phase 1); its chunks are embedded after.
   */
  async reindex(absolutePath: string, text?: string): Promise<void> {
    this.#pending.set(relative(this.#root, absolutePath), { text });
    await this.#drain();
  }

  /**
   * Waits until the work of phase 1 under way (walks, changes, indexing) is
   * done; watching goes on, and so does embedding (see `vectorsDone`).
   */
  async idle(): Promise<void> {
    while (this.#work.size > 0) await Promise.allSettled([...this.#work]);
  }

  /**
   * Waits until phase 1 is done and phase 2 has embedded every chunk stored
   * without a vector (starting it if it is not under way), or stopped: on
   * close, where the embedder failed, or in a process that does not write the
   * index.
   *
   * @param onChunk Called after each chunk embedded meanwhile, e.g. for a progress bar.
   */
  async vectorsDone(onChunk?: (done: number, total: number) => void): Promise<void> {
    let done = 0;
    const listener = (left: number) => onChunk?.(++done, done + left);
    this.#chunkListeners.add(listener);
    let started = false;
    try {
      for (;;) {
        await this.idle();
        if (!this.#embedding && !started && this.#store.vectorsPending() > 0) {
          started = true;
          this.#embedLater();
        }
        if (this.#embedding) await this.#embedding;
        else if (this.#work.size === 0) return;
      }
    } finally {
      this.#chunkListeners.delete(listener);
    }
  }

  /**
   * Stops watching and rescanning at once, and the walk and the embedding at
   * the next file or chunk, then waits for them.
   */
  async close(): Promise<void> {
    this.#stop.abort();
    clearTimeout(this.#rescanTimer);
    this.#watcher?.close();
    this.#watcher = undefined;
    this.#freshness = "off";
    await this.idle();
    await this.#embedding;
  }

  #track(work: Promise<void>): Promise<void> {
    const tracked = work.finally(() => {
      this.#work.delete(tracked);
      if (this.#work.size === 0) this.#notify();
    });
    this.#work.add(tracked);
    if (this.#work.size === 1) this.#notify();
    return tracked;
  }

  #notify(): void {
    for (const listener of this.#listeners) listener();
  }

  #skip(path: string, reason: SkipReason): void {
    this.#skipped[reason] = (this.#skipped[reason] ?? 0) + 1;
    this.#lastSkipped = { path, reason };
  }

  /**
   * Walks the project: queues the files that may have changed (with
   * `trustVersions`, only those whose size, times or inode changed since they
   * were read), forgets files gone, and returns the folders it descended
   * into; undefined when stopped.
   */
  async #walk(trustVersions: boolean): Promise<string[] | undefined> {
    const seen = new Set<string>();
    const dirs: string[] = [];
    // The counts start again, and files queued by an earlier walk are not counted on top.
    const walked = ++this.#walks;
    this.#skipped = {};
    const walk = walkProject(this.#root, {
      signal: this.#stop.signal,
      onSkip: (path, reason) => this.#skip(path, reason),
      onDirectory: (dir) => dirs.push(dir),
    });
    for await (const file of walk) {
      seen.add(file.path);
      if (trustVersions && this.#unchanged(file.path, file.version)) continue;
      this.#pending.set(file.path, { walk: walked });
    }
    if (this.#stop.signal.aborted) return undefined;
    for (const path of this.#store.paths()) {
      if (!seen.has(path)) this.#removeFile(path);
    }
    for (const path of this.#versions.keys()) {
      if (!seen.has(path)) this.#versions.delete(path);
    }
    return dirs;
  }

  /**
   * Walks the project again, trusting files that did not change on disk;
   * walks asked for meanwhile make one more. Watching follows the folders
   * found, and rescanning goes on where the project is not watched.
   */
  #rewalk(): Promise<void> {
    if (this.#rewalking) {
      this.#rewalkAgain = true;
      return this.#rewalking;
    }
    const rewalking = (async () => {
      do {
        this.#rewalkAgain = false;
        const since = Date.now();
        const dirs = await this.#walk(true);
        this.#lastWalkMs = Date.now() - since;
        if (!dirs) return;
        const retry = this.#retryWatching && dirs.length + 1 <= (this.#maxDirs ??= watchBudget());
        if (this.#freshness === "events" || retry) await this.#watchDirs(dirs, since, "replace");
        await this.#drain();
      } while (this.#rewalkAgain && !this.#stop.signal.aborted);
    })().catch((error) => this.#log.error(`Indexing failed: ${error.message}`)).finally(() => {
      this.#rewalking = undefined;
      this.#rescanLater();
    });
    this.#rewalking = rewalking;
    return this.#track(rewalking);
  }

  /** The next rescan, at most a tenth of the time spent walking (see `RESCAN_INTERVAL_MS`). */
  #rescanLater(): void {
    clearTimeout(this.#rescanTimer);
    if (this.#freshness !== "rescan" || this.#stop.signal.aborted) return;
    const wait = Math.max(this.#rescanMs, this.#lastWalkMs * RESCAN_COST_FACTOR);
    this.#rescanTimer = setTimeout(() => this.#rewalk(), wait);
  }

  /**
   * Watches `dirs` ("replace": only them; "add": them too), or falls back to
   * rescans; then lists again those newly watched that were modified since
   * `since`, or walks again where watching had to stop for a moment.
   */
  async #watchDirs(dirs: string[], since: number, how: "replace" | "add"): Promise<void> {
    if (this.#stop.signal.aborted) return;
    this.#watcher ??= new DirWatcher(this.#root, {
      maxDirs: this.#maxDirs ??= watchBudget(),
      debounceMs: this.#debounceMs,
      onBatch: (batch) => this.#onBatch(batch),
      onError: (error) => this.#fallBack(error),
      watchFs: this.#watchFs,
    });
    const watcher = this.#watcher;
    let synced: SyncResult;
    try {
      synced = await watcher.sync(dirs, how);
    } catch (error) {
      return this.#fallBack(error as Error);
    }
    if (this.#stop.signal.aborted || watcher !== this.#watcher) return;
    if (this.#freshness !== "events") {
      this.#freshness = "events";
      this.#retryWatching = false;
      clearTimeout(this.#rescanTimer);
      this.#log.info(`Watching ${watcher.size} folders of ${this.#root} for changes`);
      this.#notify();
    }
    if ("rebuilt" in synced) void this.#rewalk();
    else await this.#catchUp(synced.added, since);
  }

  /**
   * Hands on, as changes, the entries of the folders modified since `since`
   * (what was made in them between the walk's listing and the watch), save
   * folders watched already and the root's `.git`: the watch just made found
   * the git directory and watches it, and the walk never enters it, so there
   * is nothing to catch up on there. Handed on, it would read as a
   * repository made and walk the whole project again, racing the walk's own
   * indexing (a project whose root was modified in the last seconds, e.g.
   * just cloned, was walked twice).
   */
  async #catchUp(dirs: string[], since: number): Promise<void> {
    const paths = new Set<string>();
    for (const dir of dirs) {
      if (this.#stop.signal.aborted) return;
      const info = await Deno.stat(join(this.#root, dir)).catch(() => undefined);
      if (!info?.mtime || info.mtime.getTime() < since - CATCH_UP_SLACK_MS) continue;
      try {
        for await (const entry of Deno.readDir(join(this.#root, dir))) {
          const path = dir ? `${dir}/${entry.name}` : entry.name;
          if (path === ".git") continue;
          if (!entry.isDirectory || !this.#watcher?.has(path)) paths.add(path);
        }
      } catch {
        paths.add(dir); // Gone meanwhile.
      }
    }
    if (paths.size > 0) await this.#applyChanges({ paths });
  }

  /** Stops watching and walks the project every `rescanMs` instead, with one warning. */
  #fallBack(error: Error): void {
    if (this.#stop.signal.aborted) return;
    this.#watcher?.close();
    this.#watcher = undefined;
    this.#retryWatching = error instanceof TooManyDirectories;
    if (!this.#warned) {
      this.#warned = true;
      this.#log.warn(
        `Not watching ${this.#root} for changes (${error.message}): ` +
          `walking it every ${this.#rescanMs / 1000} s instead`,
      );
    }
    if (this.#freshness !== "rescan") {
      this.#freshness = "rescan";
      this.#notify();
    }
    if (!this.#rewalking) this.#rescanLater();
  }

  /** Takes the watcher's batches one after another. */
  #onBatch(batch: ChangeBatch): void {
    const applied = this.#batches.then(() => this.#applyChanges(batch));
    this.#batches = applied.catch((error) =>
      this.#log.warn(`Changes in ${this.#root} not indexed: ${error.message}`)
    );
    this.#track(this.#batches);
  }

  /**
   * Queues what changed on disk: a file (to index, unless its size, times and
   * inode are as when it was last read; or to drop when it is gone or the
   * policy leaves it out); a folder made, moved in or replaced (walked, its
   * files gone from it dropped, and watched: a watch holds an inode, so a
   * folder made again under the same name is not watched yet); a folder gone
   * (its files dropped). A batch that asks for a walk gets one instead.
   */
  async #applyChanges(batch: ChangeBatch): Promise<void> {
    if (this.#stop.signal.aborted) return;
    // A repository made or replaced: its HEAD is watched from the walk on.
    const rewalk = batch.rewalk ?? (batch.paths.has(".git") ? ".git changed" : undefined);
    if (rewalk) {
      this.#log.info(`${rewalk}: walking ${this.#root} again`);
      return void this.#rewalk();
    }
    const since = Date.now();
    const rules = new IgnoreRules(this.#root);
    const newDirs: string[] = [];
    let stored: string[] | undefined;
    const dropUnder = (dir: string, kept: Set<string>) => {
      stored ??= this.#store.paths();
      for (const known of stored) {
        if (known.startsWith(`${dir}/`) && !kept.has(known)) {
          this.#queueChanged(known);
        }
      }
    };
    for (const path of batch.paths) {
      if (this.#stop.signal.aborted) return;
      const info = await Deno.lstat(join(this.#root, path)).catch(() => undefined);
      if (!info?.isDirectory) {
        // Removed, renamed away or replaced by a file: a watched folder takes its files with it.
        if (this.#watcher?.has(path)) {
          this.#watcher?.forget(path);
          dropUnder(path, new Set());
        }
        if (!info?.isFile || !this.#unchanged(path, fileVersion(info))) {
          this.#queueChanged(path);
        }
        continue;
      }
      const seen = new Set<string>();
      if (!(await skipReasonForDirectory(this.#root, path, rules))) {
        const walk = walkProject(this.#root, {
          from: path,
          signal: this.#stop.signal,
          onDirectory: (dir) => newDirs.push(dir),
        });
        for await (const file of walk) {
          seen.add(file.path);
          if (!this.#unchanged(file.path, file.version)) {
            this.#queueChanged(file.path);
          }
        }
        if (this.#stop.signal.aborted) return;
      }
      dropUnder(path, seen);
    }
    if (newDirs.length > 0 && this.#freshness === "events") {
      await this.#watchDirs(newDirs, since, "add");
    }
    this.#drain().catch((error) => this.#log.warn(`Indexing failed: ${error.message}`));
  }

  /**
   * Queues a path changed on disk, read from disk when its turn comes; a
   * save or walk waiting for the same path is still counted when it is left out.
   */
  #queueChanged(path: string): void {
    const waiting = this.#pending.get(path);
    this.#pending.set(path, waiting && !waiting.quiet ? { walk: waiting.walk } : { quiet: true });
  }

  /** Whether a file is as it was when last read (see `fileVersion`). */
  #unchanged(path: string, version: string | undefined): boolean {
    return !!version && this.#versions.get(path) === version;
  }

  /**
   * Indexes everything pending, in one pass at a time: a path added while a
   * pass runs is taken by it, or by another round before the pass ends.
   */
  #drain(onFile?: (done: number, total: number) => void): Promise<void> {
    if (this.#draining) return this.#draining;
    const draining = (async () => {
      try {
        do await this.#drainOnce(onFile); while (
          this.#pending.size > 0 && !this.#stop.signal.aborted
        );
      } finally {
        // Cleared in the same step as the last check, so no path can be added unseen.
        this.#draining = undefined;
        // Phase 2 embeds what this pass stored, or goes on where it paused for it.
        this.#embedLater();
      }
    })();
    this.#draining = draining;
    return this.#track(draining);
  }

  async #drainOnce(onFile?: (done: number, total: number) => void): Promise<void> {
    let done = 0;
    let yielded = performance.now();
    const rules = new IgnoreRules(this.#root);
    for (const [path, pending] of this.#pending) {
      if (this.#stop.signal.aborted) return;
      this.#pending.delete(path);
      await this.#indexPath(path, pending, rules).catch((error) =>
        this.#log.warn(`Skipped ${path}: ${error.message}`)
      );
      onFile?.(++done, done + this.#pending.size);
      // A timer per file costs milliseconds each: files that need no embedding go on in a row.
      if (performance.now() - yielded >= YIELD_EVERY_MS) {
        await yieldToRequests();
        yielded = performance.now();
      }
    }
    await this.#store.saveVectors();
  }

  async #indexPath(path: string, pending: Pending, rules: IgnoreRules): Promise<void> {
    const { text } = pending;
    const pathReason = await skipReasonForPath(this.#root, path, rules);
    if (pathReason) return this.#leaveOut(path, pathReason, pending);
    // Only files on disk, as the walk finds them: a save's text stands for the file's bytes.
    const absolute = join(this.#root, path);
    const info = await Deno.lstat(absolute).catch(() => undefined);
    if (!info?.isFile) return this.#removeFile(path);
    if (text === undefined && info.size > MAX_FILE_BYTES) {
      return this.#leaveOut(path, "tooLarge", pending);
    }
    const bytes = text === undefined
      ? await Deno.readFile(absolute).catch(() => new Uint8Array())
      : new TextEncoder().encode(text);
    const contentReason = skipReasonForContent(bytes);
    if (contentReason) return this.#leaveOut(path, contentReason, pending);
    await this.#indexText(path, text ?? new TextDecoder().decode(bytes));
    // Read before the bytes: a write after it shows as a new version, and the file is read again.
    const version = text === undefined ? fileVersion(info) : undefined;
    if (version) this.#versions.set(path, version);
    else this.#versions.delete(path);
  }

  /**
   * Drops a file the policy leaves out, in case an older version of it was
   * indexed; counted unless it is a change on disk (the counts describe the
   * last walk and the saves since) or was queued by a walk another has begun
   * since (judged now, not when the file was taken: the walk begun meanwhile
   * queues the file again, and counts it).
   */
  #leaveOut(path: string, reason: SkipReason, pending: Pending): void {
    const superseded = pending.walk !== undefined && pending.walk !== this.#walks;
    if (!pending.quiet && !superseded) this.#skip(path, reason);
    // A path outside the project was never indexed, and must not reach the store's queries.
    if (reason !== "outside") this.#removeFile(path);
    this.#log.debug(`Not indexed: ${path} (${reason})`);
  }

  #removeFile(path: string): void {
    this.#store.removeFile(path);
    this.#versions.delete(path);
  }

  /**
   * Stores a file's chunks, terms and definitions unless the store has its
   * text; with no vectors: phase 2 embeds them.
   */
  async #indexText(path: string, text: string): Promise<void> {
    const hash = createHash("sha256").update(text).digest("hex");
    if (this.#store.fileHash(path) === hash) return;
    const outline = await this.#outline(path, text).catch((error) => {
      this.#log.debug(`No syntax for ${path}, chunking by layout: ${error.message}`);
      return undefined;
    });
    const chunks = chunkText(path, text, outline?.blockStarts);
    this.#store.replaceFile(path, hash, chunks, [], outline?.definitions ?? []);
  }

  /**
   * Starts phase 2 in the background, or has the pass under way go through
   * the store again when it ends; only where this process writes the index.
   */
  #embedLater(): void {
    if (!this.#store.writable || this.#stop.signal.aborted) return;
    if (this.#embedding) {
      this.#embedAgain = true;
      return;
    }
    const embedding = (async () => {
      try {
        do {
          this.#embedAgain = false;
          await this.#embedPass();
        } while (this.#embedAgain && !this.#stop.signal.aborted);
      } finally {
        // Cleared in the same step as the last check, so no request to embed is lost.
        this.#embedding = undefined;
      }
    })().catch((error) => this.#log.warn(`Embedding failed: ${error.message}`))
      .finally(() => this.#notify());
    this.#embedding = embedding;
  }

  /**
   * Embeds the chunks stored without a vector, in id order, one per call,
   * until there are none left, the indexer stops, or phase 1 has work (its
   * end starts another pass).
   */
  async #embedPass(): Promise<void> {
    let after = 0;
    let savedAt = performance.now();
    try {
      for (;;) {
        let left = this.#store.vectorsPending();
        const batch = this.#store.unembedded(after, EMBED_BATCH);
        if (batch.length === 0) return;
        for (const chunk of batch) {
          if (this.#stop.signal.aborted || this.#draining) return;
          after = chunk.id;
          // One chunk per call: on a CPU, batches pad every text to the longest and were slower
          // (vscode-jsonrpc, 196 chunks, 2 threads: 8.2 s one by one, 8.7 s by 4, 10.6 s by 16).
          const [vector] = await this.#embedder.embed([`${chunk.path}\n${chunk.text}`]);
          // Stored only if the chunk is still there as it was read: no stale vector.
          if (this.#store.setVector(chunk, vector)) {
            left = Math.max(0, left - 1);
            for (const listener of this.#chunkListeners) listener(left);
          }
          // Tokenizing and pooling run on this thread: requests get in between chunks.
          await yieldToRequests();
          if (performance.now() - savedAt >= SAVE_VECTORS_EVERY_MS) {
            await this.#store.saveVectors();
            savedAt = performance.now();
          }
        }
      }
    } finally {
      // Phase 1's pass, if it paused this one, saves when it ends.
      if (!this.#draining) await this.#store.saveVectors();
    }
  }
}

function yieldToRequests(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}
