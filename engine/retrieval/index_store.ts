/**
 * The project index on disk: chunks, their terms (SQLite FTS5) and their
 * vectors (SQLite BLOBs, the source of truth, mirrored in a usearch index for
 * search). Each file is replaced in one transaction, so a process killed
 * mid-write leaves the previous state. A file's chunks are stored first with
 * an empty vector (their terms and the file's definitions are searchable at
 * once); their vectors are written one by one later (see `setVector`), each
 * only while the chunk it was made from is still there. The usearch file is written to a
 * temporary name and renamed, with its sha256 and size recorded beside it; it
 * is loaded only when both still match (usearch aborts the process on a torn
 * file), and rebuilt from SQLite otherwise. Vectors are kept only for the
 * embedding model that made them: opened with another, the store forgets
 * them (chunks, terms and definitions stay) and they are made again. Several
 * processes may open one store: only the one allowed to write (see
 * `writable`) saves vectors; the others reload them when the writer saved
 * newer ones. Everything it writes is private to the user (0600 files in a
 * 0700 folder).
 */
import { DatabaseSync } from "node:sqlite";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { Index, MetricKind, ScalarKind } from "usearch";
import type { Chunk } from "./chunker.ts";
import { codeTerms } from "./terms.ts";
import { makePrivateDir, makePrivateFiles } from "../config/mod.ts";

/** A chunk with its id in the store. */
export interface StoredChunk extends Chunk {
  id: number;
}

/** What is recorded beside the saved vector index to know it is whole. */
interface VectorsMeta {
  sha256: string;
  size: number;
  count: number;
}

/** The embedding model the vectors come from: their length, and the model's sha256. */
export interface VectorModel {
  dimensions: number;
  model: string;
}

/** A chunk stored without its vector yet: what embedding it takes. */
export interface UnembeddedChunk {
  id: number;
  path: string;
  text: string;
}

/** A search hit: a chunk id and a score where higher is better. */
export interface Hit {
  id: number;
  score: number;
}

/** How long a write waits for another process's transaction before it fails. */
const BUSY_TIMEOUT_MS = 10_000;

/** How often a reader checks whether the writer saved newer vectors. */
const VECTORS_RECHECK_MS = 1000;

const SCHEMA = `
  PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS};
  PRAGMA journal_mode = WAL;
  CREATE TABLE IF NOT EXISTS files (path TEXT PRIMARY KEY, hash TEXT NOT NULL);
  CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL,
    start_line INTEGER NOT NULL,
    end_line INTEGER NOT NULL,
    text TEXT NOT NULL,
    vector BLOB NOT NULL
  );
  CREATE INDEX IF NOT EXISTS chunks_by_path ON chunks (path);
  CREATE INDEX IF NOT EXISTS chunks_unembedded ON chunks (id) WHERE length(vector) = 0;
  CREATE VIRTUAL TABLE IF NOT EXISTS chunk_terms USING fts5 (path_terms, terms);
  CREATE TABLE IF NOT EXISTS symbols (
    path TEXT NOT NULL,
    name TEXT NOT NULL,
    line INTEGER NOT NULL,
    signature TEXT NOT NULL
  );
  CREATE INDEX IF NOT EXISTS symbols_by_name ON symbols (name);
  CREATE INDEX IF NOT EXISTS symbols_by_path ON symbols (path);
  CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
`;

/** Files taken for one module: a Go package is a directory of them. */
const MODULE_FILES = 8;

/** A named definition stored with its file. */
export interface StoredSymbol {
  path: string;
  name: string;
  line: number;
  signature: string;
}

/** The index of one project. */
export class IndexStore {
  #db: DatabaseSync;
  #vectors: Index;
  #vectorsPath: string;
  #dimensions: number;
  #vectorsDirty = false;
  /** Modification time of the saved vectors this process has loaded or written. */
  #vectorsMtime?: number;
  #vectorsCheckedAt = 0;
  /** Whether this process may save the vector index; readers only reload it. */
  writable = true;
  #filesVersion = 0;

  private constructor(dir: string, vectorModel: VectorModel) {
    this.#db = new DatabaseSync(join(dir, "index.sqlite"));
    this.#db.exec(SCHEMA);
    this.#dimensions = vectorModel.dimensions;
    this.#vectorsPath = join(dir, "vectors.usearch");
    this.#vectors = this.#newVectorIndex();
    this.#forgetVectorsOfAnotherModel(vectorModel.model);
    this.#loadVectors();
  }

  /** Opens (or creates) the index in `dir`, whose vectors `vectorModel` makes. */
  static async open(dir: string, vectorModel: VectorModel): Promise<IndexStore> {
    await makePrivateDir(dir);
    // SQLite gives its -wal and -shm files the database's mode: create it private first.
    await (await Deno.open(join(dir, "index.sqlite"), { create: true, write: true, mode: 0o600 }))
      .close();
    await makePrivateFiles(dir);
    return new IndexStore(dir, vectorModel);
  }

  /**
   * Empties every vector another model made, in one transaction with the
   * model's name, so they are embedded again: vectors of two models do not
   * compare. The saved vector index then no longer matches the count and is
   * rebuilt from SQLite (see `#loadVectors`).
   */
  #forgetVectorsOfAnotherModel(model: string): void {
    const made = this.#db.prepare("SELECT value FROM meta WHERE key = 'vectors_model'").get() as
      | { value: string }
      | undefined;
    if (made?.value === model) return;
    this.#transaction(() => {
      this.#db.exec("UPDATE chunks SET vector = X'' WHERE length(vector) > 0");
      this.#db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('vectors_model', ?)")
        .run(model);
    });
  }

  /** Runs `work` in one transaction: all of it is written, or none (rolled back on a throw). */
  #transaction(work: () => void): void {
    this.#db.exec("BEGIN");
    try {
      work();
      this.#db.exec("COMMIT");
    } catch (error) {
      this.#db.exec("ROLLBACK");
      throw error;
    }
  }

  #newVectorIndex(): Index {
    return new Index({
      dimensions: this.#dimensions,
      metric: MetricKind.Cos,
      quantization: ScalarKind.F32,
      connectivity: 16,
      expansion_add: 128,
      expansion_search: 64,
      multi: false,
    });
  }

  /** Loads the saved vectors when they are intact and current, else rebuilds them from SQLite. */
  #loadVectors(): void {
    const count = this.counts().chunks - this.vectorsPending();
    const mtime = this.#savedVectorsMtime();
    if (this.#savedVectorsValid(count)) {
      this.#vectors.load(this.#vectorsPath);
      this.#vectorsMtime = mtime;
      if (this.#vectors.size() === count) return;
      this.#vectors = this.#newVectorIndex();
    }
    // Chunks not embedded yet have an empty vector: they join the index when embedded.
    const rows = this.#db.prepare("SELECT id, vector FROM chunks WHERE length(vector) > 0")
      .all() as {
        id: number;
        vector: Uint8Array;
      }[];
    for (const row of rows) this.#vectors.add(BigInt(row.id), toFloats(row.vector));
    this.#vectorsDirty = rows.length > 0;
  }

  #savedVectorsMtime(): number | undefined {
    try {
      return Deno.statSync(`${this.#vectorsPath}.json`).mtime?.getTime();
    } catch {
      return undefined;
    }
  }

  /** A reader picks up the vectors the writing process saved since it last looked. */
  #reloadVectorsIfNewer(): void {
    if (this.writable || performance.now() - this.#vectorsCheckedAt < VECTORS_RECHECK_MS) return;
    this.#vectorsCheckedAt = performance.now();
    const mtime = this.#savedVectorsMtime();
    if (mtime === undefined || mtime === this.#vectorsMtime) return;
    // The writer may have added chunks since it saved: ids not in SQLite are dropped by chunks().
    if (!this.#savedVectorsValid()) return;
    this.#vectors = this.#newVectorIndex();
    this.#vectors.load(this.#vectorsPath);
    this.#vectorsMtime = mtime;
  }

  /** Whether the saved vectors are whole, and when `count` is given, hold that many. */
  #savedVectorsValid(count?: number): boolean {
    try {
      const meta = JSON.parse(Deno.readTextFileSync(`${this.#vectorsPath}.json`)) as VectorsMeta;
      const bytes = Deno.readFileSync(this.#vectorsPath);
      return (count === undefined || meta.count === count) && meta.size === bytes.length &&
        meta.sha256 === createHash("sha256").update(bytes).digest("hex");
    } catch {
      return false;
    }
  }

  /** The content hash a file was indexed with, if it was. */
  fileHash(path: string): string | undefined {
    const row = this.#db.prepare("SELECT hash FROM files WHERE path = ?").get(path) as
      | { hash: string }
      | undefined;
    return row?.hash;
  }

  /** Every indexed path. */
  paths(): string[] {
    return (this.#db.prepare("SELECT path FROM files").all() as { path: string }[]).map((row) =>
      row.path
    );
  }

  /**
   * Replaces a file's chunks, vectors and definitions in one transaction. A
   * chunk without a vector in `vectors` (the indexer passes none) is stored
   * with an empty one, to be embedded later (see `unembedded`, `setVector`).
   */
  replaceFile(
    path: string,
    hash: string,
    chunks: Chunk[],
    vectors: Float32Array[],
    symbols: Omit<StoredSymbol, "path">[] = [],
  ): void {
    const removed = this.#chunkIds(path);
    const added: [number, Float32Array][] = [];
    this.#transaction(() => {
      this.#deleteRows(path);
      const insertChunk = this.#db.prepare(
        "INSERT INTO chunks (path, start_line, end_line, text, vector) VALUES (?, ?, ?, ?, ?)",
      );
      const insertTerms = this.#db.prepare(
        "INSERT INTO chunk_terms (rowid, path_terms, terms) VALUES (?, ?, ?)",
      );
      const pathTerms = codeTerms(path).join(" ");
      for (const [index, chunk] of chunks.entries()) {
        const vector = vectors[index] as Float32Array | undefined;
        const { lastInsertRowid } = insertChunk.run(
          path,
          chunk.startLine,
          chunk.endLine,
          chunk.text,
          vector ? toBytes(vector) : new Uint8Array(),
        );
        const id = Number(lastInsertRowid);
        insertTerms.run(id, pathTerms, codeTerms(chunk.text).join(" "));
        if (vector) added.push([id, vector]);
      }
      const insertSymbol = this.#db.prepare(
        "INSERT INTO symbols (path, name, line, signature) VALUES (?, ?, ?, ?)",
      );
      for (const symbol of symbols) {
        insertSymbol.run(path, symbol.name, symbol.line, symbol.signature);
      }
      this.#db.prepare("INSERT OR REPLACE INTO files (path, hash) VALUES (?, ?)").run(path, hash);
    });
    this.#updateVectors(removed, added);
    this.#filesVersion++;
  }

  /** Counts the files this process replaced or removed: it changes when what retrieval finds may. */
  get filesVersion(): number {
    return this.#filesVersion;
  }

  /** Forgets a file. */
  removeFile(path: string): void {
    const removed = this.#chunkIds(path);
    this.#transaction(() => {
      this.#deleteRows(path);
      this.#db.prepare("DELETE FROM files WHERE path = ?").run(path);
    });
    this.#updateVectors(removed, []);
    this.#filesVersion++;
  }

  #chunkIds(path: string): number[] {
    return (this.#db.prepare("SELECT id FROM chunks WHERE path = ?").all(path) as { id: number }[])
      .map((row) => row.id);
  }

  #deleteRows(path: string): void {
    this.#db.prepare(
      "DELETE FROM chunk_terms WHERE rowid IN (SELECT id FROM chunks WHERE path = ?)",
    )
      .run(path);
    this.#db.prepare("DELETE FROM chunks WHERE path = ?").run(path);
    this.#db.prepare("DELETE FROM symbols WHERE path = ?").run(path);
  }

  /** Definitions with one of these names. */
  symbolsNamed(names: string[]): StoredSymbol[] {
    if (names.length === 0) return [];
    const select = this.#db.prepare(
      "SELECT path, name, line, signature FROM symbols WHERE name = ? LIMIT 8",
    );
    return names.flatMap((name) => select.all(name) as unknown as StoredSymbol[]);
  }

  /** The definitions of a file, in file order. */
  symbolsIn(path: string): StoredSymbol[] {
    return this.#db.prepare(
      "SELECT path, name, line, signature FROM symbols WHERE path = ? ORDER BY line",
    ).all(path) as unknown as StoredSymbol[];
  }

  /**
   * The indexed files a module can be: the first of `paths` that is indexed,
   * else the files whose paths end with one of `suffixes` (a suffix ending in
   * `/` names a directory: the files directly in it).
   */
  filesFor(paths: string[], suffixes: string[]): string[] {
    const exact = this.#db.prepare("SELECT path FROM files WHERE path = ?");
    for (const path of paths) {
      if (exact.get(path)) return [path];
    }
    const ending = this.#db.prepare(
      "SELECT path FROM files WHERE instr('/' || path, '/' || ?) > 0 ORDER BY length(path) LIMIT 64",
    );
    for (const suffix of suffixes) {
      const found = (ending.all(suffix) as { path: string }[]).map((row) => row.path).filter(
        (path) => {
          const rest = ("/" + path).split("/" + suffix).at(-1)!;
          return suffix.endsWith("/") ? !rest.includes("/") : rest === "";
        },
      );
      if (found.length > 0) return found.slice(0, MODULE_FILES);
    }
    return [];
  }

  /** The files whose paths best match the terms. */
  pathsMatching(terms: string[], limit: number): string[] {
    const ids = this.pathSearch(terms, limit * 8).map((hit) => hit.id);
    return [...new Set(this.chunks(ids).map((chunk) => chunk.path))].slice(0, limit);
  }

  /**
   * Up to `limit` chunks stored without a vector, in id order, after the
   * chunk `afterId`.
   */
  unembedded(afterId: number, limit: number): UnembeddedChunk[] {
    return this.#db.prepare(
      "SELECT id, path, text FROM chunks WHERE length(vector) = 0 AND id > ? ORDER BY id LIMIT ?",
    ).all(afterId, limit) as unknown as UnembeddedChunk[];
  }

  /** How many chunks are stored without a vector. */
  vectorsPending(): number {
    return (this.#db.prepare("SELECT COUNT(*) AS n FROM chunks WHERE length(vector) = 0").get() as {
      n: number;
    }).n;
  }

  /** Those of `ids` whose chunks are stored without a vector. */
  withoutVectors(ids: number[]): Set<number> {
    if (ids.length === 0) return new Set();
    const rows = this.#db.prepare(
      `SELECT id FROM chunks WHERE length(vector) = 0 AND id IN (${ids.map(() => "?").join(",")})`,
    ).all(...ids) as { id: number }[];
    return new Set(rows.map((row) => row.id));
  }

  /**
   * Stores the vector of a chunk `unembedded` returned, and adds it to the
   * vector index; false, storing nothing, when the chunk is gone or no
   * longer the same (its file was replaced or removed meanwhile: an id can be
   * taken again by a new chunk) or has a vector already.
   */
  setVector(chunk: UnembeddedChunk, vector: Float32Array): boolean {
    const { changes } = this.#db.prepare(
      "UPDATE chunks SET vector = ? WHERE id = ? AND path = ? AND text = ? AND length(vector) = 0",
    ).run(toBytes(vector), chunk.id, chunk.path, chunk.text);
    if (Number(changes) !== 1) return false;
    this.#updateVectors([], [[chunk.id, vector]]);
    return true;
  }

  #updateVectors(removed: number[], added: [number, Float32Array][]): void {
    // A chunk not embedded yet is not in the vector index: removing its id does nothing.
    if (removed.length > 0) this.#vectors.remove(removed.map(BigInt));
    for (const [id, vector] of added) this.#vectors.add(BigInt(id), vector);
    this.#vectorsDirty ||= removed.length > 0 || added.length > 0;
  }

  /**
   * Writes the vector index if it changed: to a temporary file renamed into
   * place, then its sha256, size and count beside it.
   */
  async saveVectors(): Promise<void> {
    if (!this.#vectorsDirty || !this.writable) return;
    // Names no other process or earlier crash can share.
    const temporary = `${this.#vectorsPath}.${Deno.pid}-${crypto.randomUUID()}.tmp`;
    try {
      this.#vectors.save(temporary);
      await Deno.chmod(temporary, 0o600);
      const bytes = await Deno.readFile(temporary);
      const meta: VectorsMeta = {
        sha256: createHash("sha256").update(bytes).digest("hex"),
        size: bytes.length,
        count: this.#vectors.size(),
      };
      await Deno.rename(temporary, this.#vectorsPath);
      await Deno.writeTextFile(`${temporary}.json`, JSON.stringify(meta), { mode: 0o600 });
      await Deno.rename(`${temporary}.json`, `${this.#vectorsPath}.json`);
    } finally {
      await Deno.remove(temporary).catch(() => undefined);
      await Deno.remove(`${temporary}.json`).catch(() => undefined);
    }
    this.#vectorsMtime = this.#savedVectorsMtime();
    this.#vectorsDirty = false;
  }

  /** How many files and chunks are indexed. */
  counts(): { files: number; chunks: number } {
    const files = this.#db.prepare("SELECT COUNT(*) AS n FROM files").get() as { n: number };
    const chunks = this.#db.prepare("SELECT COUNT(*) AS n FROM chunks").get() as { n: number };
    return { files: files.n, chunks: chunks.n };
  }

  /** Chunks sharing the most terms with the query, by BM25; only chunks of `paths` when given. */
  lexicalSearch(terms: string[], limit: number, paths?: string[]): Hit[] {
    return this.#match("terms", terms, limit, paths);
  }

  /** Chunks of the files whose paths share the most terms with the query, by BM25. */
  pathSearch(terms: string[], limit: number): Hit[] {
    return this.#match("path_terms", terms, limit);
  }

  #match(column: "terms" | "path_terms", terms: string[], limit: number, paths?: string[]): Hit[] {
    if (terms.length === 0 || paths?.length === 0) return [];
    const any = terms.map((term) => `"${term.replaceAll('"', "")}"`).join(" OR ");
    const within = paths
      ? `JOIN chunks ON chunks.id = chunk_terms.rowid AND chunks.path IN (${
        paths.map(() => "?").join(",")
      })`
      : "";
    const rows = this.#db.prepare(
      `SELECT chunk_terms.rowid AS id, bm25(chunk_terms) AS rank FROM chunk_terms ${within}
       WHERE chunk_terms MATCH ? ORDER BY rank LIMIT ?`,
    ).all(...paths ?? [], `${column} : (${any})`, limit) as { id: number; rank: number }[];
    return rows.map((row) => ({ id: row.id, score: -row.rank }));
  }

  /** Chunks nearest the vector, by cosine similarity; only chunks embedded so far. */
  vectorSearch(vector: Float32Array, limit: number): Hit[] {
    this.#reloadVectorsIfNewer();
    if (this.#vectors.size() === 0) return [];
    const matches = this.#vectors.search(vector, limit, 1);
    return [...matches.keys].map((key, index) => ({
      id: Number(key),
      score: 1 - matches.distances[index],
    }));
  }

  /** The chunks with these ids. */
  chunks(ids: number[]): StoredChunk[] {
    const select = this.#db.prepare(
      "SELECT id, path, start_line AS startLine, end_line AS endLine, text FROM chunks WHERE id = ?",
    );
    return ids.map((id) => select.get(id) as StoredChunk | undefined).filter((chunk) =>
      chunk !== undefined
    );
  }

  /** Saves the vectors and closes the database. */
  async close(): Promise<void> {
    await this.saveVectors();
    this.#db.close();
  }
}

function toBytes(vector: Float32Array): Uint8Array {
  return new Uint8Array(vector.buffer, vector.byteOffset, vector.byteLength);
}

function toFloats(bytes: Uint8Array): Float32Array {
  const copy = bytes.slice();
  return new Float32Array(copy.buffer, 0, copy.byteLength / 4);
}
