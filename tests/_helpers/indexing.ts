/**
 * The real embedder and tree-sitter, and a fixture project indexed with them
 * into a throwaway store: what indexer and retrieval tests start from.
 */
import { join } from "node:path";
import { SyntaxService } from "../../engine/ast/mod.ts";
import { defaultCacheDir } from "../../engine/config/mod.ts";
import { languageOf } from "../../engine/documents/mod.ts";
import { Indexer } from "../../engine/indexer/mod.ts";
import { createLogger } from "../../engine/log/mod.ts";
import { Embedder, IndexStore, Retriever } from "../../engine/retrieval/mod.ts";

/** A logger that only says what failed. */
export const log = createLogger("test", "error");

let loaded: Promise<{ embedder: Embedder; syntax: Promise<SyntaxService> }> | undefined;

/** The pulled all-MiniLM-L6-v2 on one thread, and tree-sitter, loaded once per test file. */
export function loadIndexing(): Promise<{ embedder: Embedder; syntax: Promise<SyntaxService> }> {
  loaded ??= Embedder.load(join(defaultCacheDir(), "models", "all-MiniLM-L6-v2"), { threads: 1 })
    .then((embedder) => ({ embedder, syntax: SyntaxService.create() }));
  return loaded;
}

/**
 * `root` indexed into a new store, with its indexer and a retriever over it;
 * its vectors too (phase 2) unless `vectors` is false, when they are still
 * being made in the background (close the indexer before the store). The
 * indexer embeds with `indexEmbedder` when given; the retriever, with the real one.
 */
export async function indexed(
  root: string,
  options: { vectors?: boolean; indexEmbedder?: Embedder } = {},
) {
  const { embedder, syntax } = await loadIndexing();
  const stateDir = await Deno.makeTempDir();
  const store = await IndexStore.open(stateDir, embedder);
  const indexer = new Indexer(root, store, options.indexEmbedder ?? embedder, {
    log,
    outline: async (path, text) => (await syntax).outline(languageOf(path), text),
  });
  await indexer.indexAll();
  if (options.vectors !== false) await indexer.vectorsDone();
  return { store, indexer, stateDir, retriever: new Retriever(store, embedder) };
}

/**
 * An embedder that holds back the texts `held` picks until `release()`,
 * embedding them with `embedder` then; it records every text it was given.
 */
export function heldEmbedder(embedder: Embedder, held: (text: string) => boolean = () => true) {
  const released = Promise.withResolvers<void>();
  const texts: string[] = [];
  let waiting = 0;
  const wrapped = {
    dimensions: embedder.dimensions,
    embed: async (batch: string[]) => {
      texts.push(...batch);
      if (batch.some(held)) {
        waiting++;
        await released.promise;
        waiting--;
      }
      return await embedder.embed(batch);
    },
  } as unknown as Embedder;
  return {
    embedder: wrapped,
    texts,
    /** How many calls wait for `release()` now. */
    waiting: () => waiting,
    release: () => released.resolve(),
  };
}

/** Every chunk's vector as stored in SQLite, with its path and text; empty when not embedded. */
export async function storedVectors(
  stateDir: string,
): Promise<{ id: number; path: string; text: string; vector: Float32Array }[]> {
  const { DatabaseSync } = await import("node:sqlite");
  const db = new DatabaseSync(join(stateDir, "index.sqlite"), { readOnly: true });
  const rows = db.prepare("SELECT id, path, text, vector FROM chunks ORDER BY id").all() as {
    id: number;
    path: string;
    text: string;
    vector: Uint8Array;
  }[];
  db.close();
  return rows.map((row) => ({
    ...row,
    vector: new Float32Array(row.vector.slice().buffer, 0, row.vector.byteLength / 4),
  }));
}
