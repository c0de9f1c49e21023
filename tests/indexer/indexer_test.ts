/**
 * Indexing a real fixture project with the real embedder, and searching it.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { Indexer, walkProject } from "../../engine/indexer/mod.ts";
import { type Embedder, IndexStore, Retriever } from "../../engine/retrieval/mod.ts";
import { fixtureProject, largeProject } from "../_helpers/project.ts";
import { heldEmbedder, indexed, loadIndexing, log, storedVectors } from "../_helpers/indexing.ts";

const { embedder } = await loadIndexing();

/** Waits up to 15 s for `condition`, then asserts it. */
async function until(condition: () => boolean, what = "in time"): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!condition() && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.ok(condition(), what);
}

function cosine(a: Float32Array, b: Float32Array): number {
  return a.reduce((sum, value, index) => sum + value * b[index], 0);
}

Deno.test("walkProject() honours .gitignore and the default ignores", async () => {
  const root = await fixtureProject();
  const paths: string[] = [];
  for await (const file of walkProject(root)) paths.push(file.path);
  assert.deepEqual(paths, [
    "app.py",
    "billing/invoice.py",
    "catalog/blob.py",
    "catalog/products.py",
    "web/checkout.ts",
    "web/session.ts",
  ]);
});

Deno.test("Indexer indexes the project and skips binary files", async () => {
  const { store, indexer } = await indexed(await fixtureProject());
  assert.deepEqual(store.paths().sort(), [
    "app.py",
    "billing/invoice.py",
    "catalog/products.py",
    "web/checkout.ts",
    "web/session.ts",
  ]);
  // catalog/blob.py, counted once by the first walk.
  assert.equal(indexer.progress().skipped.binary, 1);
  assert.deepEqual(indexer.progress().lastSkipped, { path: "catalog/blob.py", reason: "binary" });
  assert.ok(store.counts().chunks >= store.counts().files, "every file has chunks");
  await store.close();
});

Deno.test("Indexer re-embeds only changed files and forgets deleted ones", async () => {
  const root = await fixtureProject();
  const { store, indexer } = await indexed(root);
  const before = store.counts();
  let embedded = 0;
  const counting = {
    embed: (texts: string[]) => (embedded += texts.length, embedder.embed(texts)),
  };
  const again = new Indexer(root, store, counting as unknown as Embedder, { log });
  await again.indexAll();
  await again.vectorsDone();
  assert.equal(embedded, 0, "nothing changed, nothing embedded");
  await Deno.writeTextFile(
    join(root, "web", "session.ts"),
    "export const SESSION_COOKIE = 'sid';\n",
  );
  await Deno.remove(join(root, "catalog", "products.py"));
  await again.indexAll();
  assert.equal(again.progress().vectorsPending, 1, "indexAll() stores files, vectors come after");
  await again.vectorsDone();
  assert.equal(embedded, 1, "one changed file of one chunk");
  assert.ok(!store.paths().includes("catalog/products.py"));
  assert.ok(store.counts().chunks < before.chunks);
  await indexer.reindex(join(root, "web", "session.ts"), "export const SESSION_TTL = 900;\n");
  const [hit] = await new Retriever(store, embedder).search({
    code: "SESSION_TTL",
    linePrefix: "",
    imports: "",
  }, {
    excludePath: "",
    limit: 1,
  });
  assert.ok(hit.text.includes("SESSION_TTL"), "a saved buffer is searchable at once");
  await indexer.close();
  await store.close();
});

Deno.test("Indexer never gives a chunk the vector of a file's older text", async () => {
  const root = await fixtureProject();
  // Phase 2 embeds in id order, the walk's: web/session.ts, the last file, is held back.
  const held = heldEmbedder(embedder, (text) => text.startsWith("web/session.ts\n"));
  const { store, indexer, stateDir } = await indexed(root, {
    vectors: false,
    indexEmbedder: held.embedder,
  });
  await until(() => held.waiting() === 1, "phase 2 reaches web/session.ts");
  const old = held.texts.at(-1)!;
  assert.ok(indexer.progress().vectorsPending > 0);
  // The file changes while its old chunk is being embedded: its chunks are replaced (the new one
  // may even take the old one's id).
  await indexer.reindex(join(root, "web", "session.ts"), "export const SESSION_TTL = 900;\n");
  held.release();
  await indexer.vectorsDone();
  assert.equal(indexer.progress().vectorsPending, 0);
  const rows = await storedVectors(stateDir);
  const session = rows.filter((row) => row.path === "web/session.ts");
  assert.equal(session.length, 1);
  assert.ok(session[0].text.includes("SESSION_TTL"));
  assert.notEqual(`web/session.ts\n${session[0].text}`, old);
  assert.ok(held.texts.includes(`web/session.ts\n${session[0].text}`), "the new chunk is embedded");
  for (const row of rows) {
    const [expected] = await embedder.embed([`${row.path}\n${row.text}`]);
    assert.equal(row.vector.length, embedder.dimensions, `${row.path} is embedded`);
    assert.ok(cosine(row.vector, expected) > 0.999, `${row.path}: the vector of its own text`);
  }
  // The vector index holds each chunk once, by its own vector, and nothing of the old text.
  const [oldVector] = await embedder.embed([old]);
  const hits = store.vectorSearch(oldVector, 100);
  assert.deepEqual(hits.map((hit) => hit.id).sort(), rows.map((row) => row.id).sort());
  const [newVector] = await embedder.embed([`web/session.ts\n${session[0].text}`]);
  assert.equal(store.vectorSearch(newVector, 1)[0].id, session[0].id);
  await indexer.close();
  await store.close();
});

Deno.test("Indexer.close() stops embedding within a chunk", async () => {
  const root = await largeProject(4, 50);
  const store = await IndexStore.open(await Deno.makeTempDir(), embedder);
  const indexer = new Indexer(root, store, embedder, { log });
  await indexer.indexAll();
  const total = indexer.progress().vectorsPending;
  assert.ok(total >= 200, `${total} chunks wait for vectors`);
  await until(() => indexer.progress().vectorsPending < total - 2, "phase 2 is under way");
  const started = performance.now();
  await indexer.close();
  const stopMs = performance.now() - started;
  assert.ok(stopMs < 1000, `stopped in ${stopMs.toFixed(0)} ms`);
  const left = indexer.progress().vectorsPending;
  assert.ok(left > 0, "it did not embed to the end");
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal(indexer.progress().vectorsPending, left, "nothing is embedded after close()");
  await store.close();
});

Deno.test("Indexer embeds the chunks a closed one left without vectors when the store reopens", async () => {
  const root = await fixtureProject();
  const stateDir = await Deno.makeTempDir();
  const store = await IndexStore.open(stateDir, embedder);
  const first = new Indexer(root, store, embedder, { log });
  await first.indexAll();
  await first.close(); // At once: at most the chunk under way gets its vector.
  const left = first.progress().vectorsPending;
  assert.ok(left > 0 && left >= first.progress().chunks - 1, `${left} chunks left`);
  await store.close();

  const reopened = await IndexStore.open(stateDir, embedder);
  assert.equal(reopened.vectorsPending(), left);
  await embedsAsASidecarStarts(root, reopened);
});

/**
 * Starts an indexer on `store` as a sidecar starts (nothing changed on disk, so
 * nothing is stored), waits until every chunk has its vector, and checks
 * that vector search finds the fixture's sorting code.
 */
async function embedsAsASidecarStarts(root: string, store: IndexStore) {
  const indexer = new Indexer(root, store, embedder, { log });
  await indexer.watch();
  await until(() => indexer.progress().vectorsPending === 0, "every chunk is embedded");
  const [query] = await embedder.embed(["sort the goods from cheapest to most expensive"]);
  const [hit] = store.vectorSearch(query, 1);
  assert.equal(store.chunks([hit.id])[0].path, "catalog/products.py");
  await indexer.close();
  await store.close();
}

Deno.test("A store opened with another embedding model forgets its vectors, and they are made again", async () => {
  const root = await fixtureProject();
  const stateDir = await Deno.makeTempDir();
  // Vectors of an older model: every one points the same way, so none of them is right.
  const older = {
    dimensions: embedder.dimensions,
    model: "an older model",
    embed: (texts: string[]) =>
      Promise.resolve(texts.map(() => new Float32Array(embedder.dimensions).fill(0.05))),
  };
  const store = await IndexStore.open(stateDir, older);
  const first = new Indexer(root, store, older as unknown as Embedder, { log });
  await first.indexAll();
  await first.vectorsDone();
  const { chunks } = first.progress();
  await first.close();
  await store.close();

  const reopened = await IndexStore.open(stateDir, embedder);
  assert.equal(reopened.vectorsPending(), chunks, "every vector of the older model is forgotten");
  assert.equal(reopened.counts().chunks, chunks, "chunks and terms stay");
  assert.equal(reopened.lexicalSearch(["products", "sorted"], 1).length, 1);
  await embedsAsASidecarStarts(root, reopened);

  const again = await IndexStore.open(stateDir, embedder);
  assert.equal(again.vectorsPending(), 0, "the same model's vectors are kept");
  await again.close();
});

Deno.test("Indexer.watch() indexes files changed outside the editor and drops deleted ones", async () => {
  const root = await fixtureProject();
  const { store, indexer } = await indexed(root);
  await indexer.watch();
  assert.equal(indexer.progress().watching, "events");
  const until = async (condition: () => boolean) => {
    const deadline = Date.now() + 15_000;
    while (!condition() && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.ok(condition());
  };
  await Deno.writeTextFile(
    join(root, "billing", "refunds.py"),
    "def refund_invoice(invoice_id):\n    return invoice_id\n",
  );
  await Deno.writeTextFile(join(root, "generated", "skip.py"), "def ignored():\n    pass\n");
  await until(() => store.paths().includes("billing/refunds.py"));
  await Deno.remove(join(root, "app.py"));
  await until(() => !store.paths().includes("app.py"));
  assert.ok(!store.paths().includes("generated/skip.py"), ".gitignore holds for the watcher too");
  await indexer.close();
  assert.equal(indexer.progress().watching, "off");
  await store.close();
});
