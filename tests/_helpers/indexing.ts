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

/** `root` indexed into a new store, with its indexer and a retriever over it. */
export async function indexed(root: string) {
  const { embedder, syntax } = await loadIndexing();
  const stateDir = await Deno.makeTempDir();
  const store = await IndexStore.open(stateDir, embedder.dimensions);
  const indexer = new Indexer(root, store, embedder, {
    log,
    outline: async (path, text) => (await syntax).outline(languageOf(path), text),
  });
  await indexer.indexAll();
  return { store, indexer, stateDir, retriever: new Retriever(store, embedder) };
}
