/**
 * Indexing a real fixture project with the real embedder, and searching it.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { Indexer, walkProject } from "../../engine/indexer/mod.ts";
import { type Embedder, Retriever } from "../../engine/retrieval/mod.ts";
import { fixtureProject } from "../_helpers/project.ts";
import { indexed, loadIndexing, log } from "../_helpers/indexing.ts";

const { embedder } = await loadIndexing();

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
  const { store } = await indexed(await fixtureProject());
  assert.deepEqual(store.paths().sort(), [
    "app.py",
    "billing/invoice.py",
    "catalog/products.py",
    "web/checkout.ts",
    "web/session.ts",
  ]);
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
  assert.equal(embedded, 0, "nothing changed, nothing embedded");
  await Deno.writeTextFile(
    join(root, "web", "session.ts"),
    "export const SESSION_COOKIE = 'sid';\n",
  );
  await Deno.remove(join(root, "catalog", "products.py"));
  await again.indexAll();
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
  await store.close();
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
