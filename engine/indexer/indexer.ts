/**
 * Keeps the project index fresh: a background walk at start, a re-index of a
 * file on save or on an external change. Every path goes through the same
 * policy as the walk (walker.ts), so a save never indexes what the walk would
 * skip. It re-embeds only files whose content changed, yields between chunks
 * so requests are answered while it works, stops within a chunk when closed,
 * and saves the vector index after each batch.
 */
import { createHash } from "node:crypto";
import { join, relative } from "node:path";
import type { Logger } from "../log/mod.ts";
import type { FileOutline } from "../ast/mod.ts";
import { chunkText, type Embedder, type IndexStore } from "../retrieval/mod.ts";
import {
  IgnoreRules,
  MAX_FILE_BYTES,
  type SkipReason,
  skipReasonForContent,
  skipReasonForPath,
  walkProject,
} from "./walker.ts";

/** What the indexer is doing, as `status` reports it. */
export interface IndexProgress {
  files: number;
  chunks: number;
  pending: number;
  state: "idle" | "indexing";
  /** Files and directories left out by the last walk and the saves since, by reason. */
  skipped: Partial<Record<SkipReason, number>>;
  /** The last file left out, and why. */
  lastSkipped?: { path: string; reason: SkipReason };
}

/** A file's definitions and syntax blocks (tree-sitter); undefined where there is no grammar. */
export type OutlineFinder = (path: string, text: string) => Promise<FileOutline | undefined>;

/** External changes are collected this long before they are indexed. */
const WATCH_DEBOUNCE_MS = 300;

/** Indexes one project. */
export class Indexer {
  #root: string;
  #store: IndexStore;
  #embedder: Embedder;
  #log: Logger;
  /** Paths waiting to be indexed, with the editor's text for a save. */
  #pending = new Map<string, string | undefined>();
  #running?: Promise<void>;
  #draining?: Promise<void>;
  #listeners = new Set<() => void>();
  #watcher?: Deno.FsWatcher;
  #outline: OutlineFinder;
  #stop = new AbortController();
  #skipped: IndexProgress["skipped"] = {};
  #lastSkipped?: IndexProgress["lastSkipped"];

  /** @param root The project's real path (symlinks resolved). */
  constructor(
    root: string,
    store: IndexStore,
    embedder: Embedder,
    options: { log: Logger; outline?: OutlineFinder },
  ) {
    this.#root = root;
    this.#store = store;
    this.#embedder = embedder;
    this.#log = options.log;
    this.#outline = options.outline ?? (() => Promise.resolve(undefined));
  }

  /** Progress so far. */
  progress(): IndexProgress {
    return {
      ...this.#store.counts(),
      pending: this.#pending.size,
      state: this.#running ? "indexing" : "idle",
      skipped: { ...this.#skipped },
      ...(this.#lastSkipped ? { lastSkipped: this.#lastSkipped } : {}),
    };
  }

  /** Calls `listener` when indexing starts or finishes. */
  onChange(listener: () => void): void {
    this.#listeners.add(listener);
  }

  /**
   * Walks the project, indexes what changed and forgets deleted files.
   *
   * @param onFile Called after each file, e.g. for a progress bar.
   */
  async indexAll(onFile?: (done: number, total: number) => void): Promise<void> {
    const seen = new Set<string>();
    this.#skipped = {};
    const walk = walkProject(this.#root, {
      signal: this.#stop.signal,
      onSkip: (path, reason) => this.#skip(path, reason),
    });
    for await (const file of walk) {
      seen.add(file.path);
      this.#pending.set(file.path, undefined);
    }
    if (this.#stop.signal.aborted) return;
    for (const path of this.#store.paths()) {
      if (!seen.has(path)) this.#store.removeFile(path);
    }
    await this.#drain(onFile);
  }

  /** Starts `indexAll` in the background; errors are logged, never thrown. */
  start(): void {
    this.#track(
      this.indexAll().catch((error) => this.#log.error(`Indexing failed: ${error.message}`)),
    );
  }

  /**
   * Re-indexes one file, e.g. on save; `text` is used instead of reading the
   * file. Files the walk would not index are left out (and dropped from the
   * index), with the reason counted in `progress().skipped`.
   */
  async reindex(absolutePath: string, text?: string): Promise<void> {
    this.#pending.set(relative(this.#root, absolutePath), text);
    await this.#drain();
  }

  /**
   * Re-indexes files changed outside the editor (a checkout, a generator, another
   * tool), collected for a moment so a burst of changes costs one pass.
   */
  async watch(): Promise<void> {
    this.#watcher = Deno.watchFs(this.#root, { recursive: true });
    let timer: ReturnType<typeof setTimeout> | undefined;
    for await (const event of this.#watcher) {
      const paths = event.paths.map((path) => relative(this.#root, path))
        .filter((path) => path !== "" && !path.startsWith(".."));
      if (paths.length === 0) continue;
      for (const path of paths) this.#pending.set(path, undefined);
      clearTimeout(timer);
      timer = setTimeout(() => this.#drain(), WATCH_DEBOUNCE_MS);
    }
    clearTimeout(timer);
  }

  /** Stops watching and waits for background work to finish. */
  async idle(): Promise<void> {
    this.#watcher?.close();
    this.#watcher = undefined;
    while (this.#running) await this.#running;
  }

  /** Stops the walk and the embedding at the next file or chunk, then waits for them. */
  async close(): Promise<void> {
    this.#stop.abort();
    await this.idle();
  }

  #track(work: Promise<void>): Promise<void> {
    const running = work.finally(() => {
      if (this.#running === running) {
        this.#running = undefined;
        this.#notify();
      }
    });
    this.#running = running;
    this.#notify();
    return running;
  }

  #notify(): void {
    for (const listener of this.#listeners) listener();
  }

  #skip(path: string, reason: SkipReason): void {
    this.#skipped[reason] = (this.#skipped[reason] ?? 0) + 1;
    this.#lastSkipped = { path, reason };
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
      }
    })();
    this.#draining = draining;
    return this.#track(draining);
  }

  async #drainOnce(onFile?: (done: number, total: number) => void): Promise<void> {
    let done = 0;
    const rules = new IgnoreRules(this.#root);
    for (const [path, text] of this.#pending) {
      if (this.#stop.signal.aborted) return;
      this.#pending.delete(path);
      await this.#indexPath(path, text, rules).catch((error) =>
        this.#log.warn(`Skipped ${path}: ${error.message}`)
      );
      onFile?.(++done, done + this.#pending.size);
      await yieldToRequests();
    }
    await this.#store.saveVectors();
  }

  async #indexPath(path: string, text: string | undefined, rules: IgnoreRules): Promise<void> {
    const pathReason = await skipReasonForPath(this.#root, path, rules);
    if (pathReason) return this.#leaveOut(path, pathReason);
    // Only files on disk, as the walk finds them: a save's text stands for the file's bytes.
    const absolute = join(this.#root, path);
    const info = await Deno.lstat(absolute).catch(() => undefined);
    if (!info?.isFile) return this.#store.removeFile(path);
    if (text === undefined && info.size > MAX_FILE_BYTES) return this.#leaveOut(path, "tooLarge");
    const bytes = text === undefined
      ? await Deno.readFile(absolute).catch(() => new Uint8Array())
      : new TextEncoder().encode(text);
    const contentReason = skipReasonForContent(bytes);
    if (contentReason) return this.#leaveOut(path, contentReason);
    await this.#indexText(path, text ?? new TextDecoder().decode(bytes));
  }

  /** Drops a file the policy leaves out, in case an older version of it was indexed. */
  #leaveOut(path: string, reason: SkipReason): void {
    this.#skip(path, reason);
    // A path outside the project was never indexed, and must not reach the store's queries.
    if (reason !== "outside") this.#store.removeFile(path);
    this.#log.debug(`Not indexed: ${path} (${reason})`);
  }

  async #indexText(path: string, text: string): Promise<void> {
    const hash = createHash("sha256").update(text).digest("hex");
    if (this.#store.fileHash(path) === hash) return;
    const outline = await this.#outline(path, text).catch((error) => {
      this.#log.debug(`No syntax for ${path}, chunking by layout: ${error.message}`);
      return undefined;
    });
    const chunks = chunkText(path, text, outline?.blockStarts);
    // One chunk per call: on a CPU, batches pad every text to the longest and were slower
    // (vscode-jsonrpc, 196 chunks, 2 threads: 8.2 s one by one, 8.7 s by 4, 10.6 s by 16).
    const vectors: Float32Array[] = [];
    for (const chunk of chunks) {
      if (this.#stop.signal.aborted) return;
      vectors.push(...await this.#embedder.embed([`${path}\n${chunk.text}`]));
      // Tokenizing and pooling run on this thread: requests get in between chunks.
      await yieldToRequests();
    }
    this.#store.replaceFile(path, hash, chunks, vectors, outline?.definitions ?? []);
  }
}

function yieldToRequests(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}
