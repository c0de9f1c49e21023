/**
 * The indexed projects of a running sidecar: one index per workspace root,
 * opened on first use and indexed in the background, all sharing one embedder.
 */
import { basename } from "node:path";
import { projectStateDir } from "../config/mod.ts";
import type { Logger } from "../log/mod.ts";
import { type ContextSource, type Embedder, IndexStore, Retriever } from "../retrieval/mod.ts";
import { Indexer, type IndexProgress, type OutlineFinder } from "./indexer.ts";
import { ProjectLock } from "./project_lock.ts";

/** Chunks retrieval hands to the pipeline, before the token budget picks. */
const RETRIEVED_CHUNKS = 8;

/** One workspace's index. */
export class ProjectIndex {
  readonly root: string;
  readonly indexer: Indexer;
  #store: IndexStore;
  #retriever: Retriever;
  #lock: ProjectLock;
  #log: Logger;

  constructor(
    root: string,
    store: IndexStore,
    embedder: Embedder,
    options: { log: Logger; outline?: OutlineFinder; lock: ProjectLock },
  ) {
    this.root = root;
    this.#store = store;
    this.#lock = options.lock;
    this.#log = options.log;
    store.writable = options.lock.held;
    this.indexer = new Indexer(root, store, embedder, options);
    this.#retriever = new Retriever(store, embedder);
  }

  /**
   * Whether this process writes the index; when another sidecar on the same
   * project does, this one reads what it writes.
   */
  get writer(): boolean {
    return this.#lock.held;
  }

  /**
   * Indexes the project in the background once this process holds its lock,
   * and keeps it fresh from then on (watching the project, see
   * `Indexer.watch`): at once, or when the sidecar holding it exits (then a
   * walk catches up on whatever changed meanwhile). A reader does not watch:
   * the writer does.
   */
  start(): void {
    if (!this.#lock.held) {
      this.#log.info(`Another ast-complete process indexes ${this.root}: reading its index`);
    }
    this.#lock.whenHeld(() => {
      this.#store.writable = true;
      void this.indexer.watch();
    });
  }

  /**
   * `index/rebuild`: walks the project again, reading every file, if this
   * process writes the index; a reader leaves it to the writer.
   */
  rebuild(): void {
    if (this.#lock.held) this.indexer.start();
  }

  /** Re-indexes one file if this process writes the index; a reader leaves it to the writer. */
  reindex(absolutePath: string, text?: string): Promise<void> {
    return this.#lock.held ? this.indexer.reindex(absolutePath, text) : Promise.resolve();
  }

  /** The project's name, shown to the model. */
  get name(): string {
    return basename(this.root);
  }

  /** Changes whenever a file of the index is replaced or removed (see IndexStore.filesVersion). */
  get contextVersion(): number {
    return this.#store.filesVersion;
  }

  /** Retrieval for the completion pipeline: what the cursor refers to, then what resembles it. */
  readonly contextSource: ContextSource = async (query, excludePath) => [
    ...this.#retriever.definitions(query, excludePath),
    ...await this.#retriever.search(query, { excludePath, limit: RETRIEVED_CHUNKS }),
  ];

  /** Stops indexing at the next chunk, saves and closes the index, and releases the lock. */
  async close(): Promise<void> {
    await this.indexer.close();
    await this.#store.close();
    this.#lock.close();
  }
}

/** Opens project indexes on demand. */
export class Projects {
  #cacheDir: string;
  #log: Logger;
  #loadEmbedder: () => Promise<Embedder>;
  #embedder?: Promise<Embedder>;
  #opened = new Map<string, Promise<ProjectIndex>>();
  #ready = new Map<string, ProjectIndex>();
  #listeners = new Set<() => void>();
  #error?: string;
  #outline?: OutlineFinder;

  constructor(
    cacheDir: string,
    loadEmbedder: () => Promise<Embedder>,
    options: { log: Logger; outline?: OutlineFinder },
  ) {
    this.#cacheDir = cacheDir;
    this.#loadEmbedder = loadEmbedder;
    this.#log = options.log;
    this.#outline = options.outline;
  }

  /** Calls `listener` when any project's indexing starts or finishes. */
  onChange(listener: () => void): void {
    this.#listeners.add(listener);
  }

  /**
   * Opens the index of `root` and starts indexing it in the background. A
   * missing embedder or an unwritable cache is logged and reported in status;
   * completions go on without project context.
   */
  open(root: string): void {
    if (this.#opened.has(root)) return;
    const opening = this.openNow(root).then((project) => {
      project.start();
      return project;
    });
    opening.catch((error: Error) => {
      this.#error = `Project index unavailable: ${error.message}`;
      this.#log.warn(this.#error);
      this.#notify();
    });
    this.#opened.set(root, opening);
  }

  /**
   * Opens the index of `root` without starting to index it; throws when it cannot.
   *
   * @param root The project's real path (symlinks resolved).
   */
  async openNow(root: string): Promise<ProjectIndex> {
    this.#embedder ??= this.#loadEmbedder();
    const embedder = await this.#embedder;
    const stateDir = projectStateDir(this.#cacheDir, root);
    const store = await IndexStore.open(stateDir, embedder);
    const project = new ProjectIndex(root, store, embedder, {
      log: this.#log,
      outline: this.#outline,
      lock: await ProjectLock.open(stateDir),
    });
    project.indexer.onChange(() => this.#notify());
    this.#ready.set(root, project);
    return project;
  }

  /** The project's index once `open()` has opened it and started indexing; undefined on failure. */
  async opened(root: string): Promise<ProjectIndex | undefined> {
    return await this.#opened.get(root)?.catch(() => undefined);
  }

  /** The project's index once it is open. */
  get(root: string): ProjectIndex | undefined {
    return this.#ready.get(root);
  }

  /** Index progress of a project, or "off" with the reason when it has none. */
  progress(
    root: string,
  ):
    | (IndexProgress & { readOnly?: true })
    | { files: 0; chunks: 0; pending: 0; vectorsPending: 0; state: "off"; watching: "off" } {
    const project = this.#ready.get(root);
    if (!project) {
      return { files: 0, chunks: 0, pending: 0, vectorsPending: 0, state: "off", watching: "off" };
    }
    return { ...project.indexer.progress(), ...(project.writer ? {} : { readOnly: true }) };
  }

  /** Why project context is off, if it failed. */
  get error(): string | undefined {
    return this.#error;
  }

  /** Stops indexing and closes every open project, including those still opening. */
  async close(): Promise<void> {
    const opened = await Promise.all(
      [...this.#opened.values()].map((opening) => opening.catch(() => undefined)),
    );
    const projects = new Set([...this.#ready.values(), ...opened]);
    await Promise.all([...projects].map((project) => project?.close()));
  }

  #notify(): void {
    for (const listener of this.#listeners) listener();
  }
}
