/**
 * Run by watch_test.ts in a user namespace whose inotify watches are few:
 * watches the project given as the argument and prints how it is kept fresh
 * and what was logged, as JSON. The embedder is a stand-in: only watching
 * is at stake.
 */
import { Indexer } from "../../engine/indexer/mod.ts";
import { type Embedder, IndexStore } from "../../engine/retrieval/mod.ts";

const [root] = Deno.args;
const store = await IndexStore.open(await Deno.makeTempDir(), { dimensions: 4, model: "stand-in" });
const embedder = {
  dimensions: 4,
  embed: (texts: string[]) => Promise.resolve(texts.map(() => Float32Array.of(1, 2, 3, 4))),
} as unknown as Embedder;
const warnings: string[] = [];
const indexer = new Indexer(root, store, embedder, {
  log: { debug() {}, info() {}, error: (m) => warnings.push(m), warn: (m) => warnings.push(m) },
  watch: { maxDirs: 1000 },
});
await indexer.watch();
await indexer.idle();
console.log(JSON.stringify({ ...indexer.progress(), warnings }));
await indexer.close();
await store.close();
