/**
 * Retrieval over a real fixture project indexed with the real embedder: what
 * the cursor uses is found in the file that defines it, through its imports,
 * and the vector index survives a torn save.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  codeTerms,
  IndexStore,
  type RetrievalQuery,
  Retriever,
} from "../../engine/retrieval/mod.ts";
import { fixtureProject } from "../_helpers/project.ts";
import { heldEmbedder, indexed, loadIndexing } from "../_helpers/indexing.ts";

const { embedder, syntax } = await loadIndexing();

Deno.test("Retriever finds the file that defines what the cursor uses", async () => {
  const { retriever, store } = await indexed(await fixtureProject());
  const best = async (code: string, excludePath: string, more: Partial<RetrievalQuery> = {}) =>
    (await retriever.search({ code, linePrefix: "", imports: "", ...more }, {
      excludePath,
      limit: 3,
    }))[0];
  const python = await best(
    "items = [LineItem(sku, 1, 40)]\ntotal = compute_invoice_total(",
    "app.py",
  );
  assert.equal(python.path, "billing/invoice.py");
  assert.ok(python.text.includes("def compute_invoice_total"));
  const typescript = await best(
    "const session = createUserSession(userId, 60);\nif (isSessionExpired(",
    "web/checkout.ts",
  );
  assert.equal(typescript.path, "web/session.ts");
  // A query with no shared identifier still lands through the embedding.
  const semantic = await best("sort the goods from cheapest to most expensive", "");
  assert.equal(semantic.path, "catalog/products.py");
  // The names at the cursor say nothing; the file's imports say where to look.
  const imported = await best("def main():\n    result = ", "main.py", {
    linePrefix: "    result = ",
    imports: "from catalog import products",
  });
  assert.equal(imported.path, "catalog/products.py");
  await store.close();
});

Deno.test("Retriever finds a file by its definitions and terms before its vectors, by meaning after", async () => {
  const held = heldEmbedder(embedder);
  const { retriever, store, indexer } = await indexed(await fixtureProject(), {
    vectors: false,
    indexEmbedder: held.embedder,
  });
  // Phase 1 is done, phase 2 waits: every file is stored, no chunk has a vector.
  const before = indexer.progress();
  assert.equal(before.state, "idle", "clients see the index ready");
  assert.equal(before.files, 5);
  assert.ok(before.vectorsPending > 0);
  assert.equal(before.vectorsPending, before.chunks);
  const code = "items = [LineItem(sku, 1, 40)]\ntotal = compute_invoice_total(";
  const query = { code, linePrefix: "total = compute_invoice_total(", imports: "" };
  const [definition] = retriever.definitions(query, "app.py");
  assert.equal(definition.path, "billing/invoice.py");
  assert.ok(definition.text.includes("def compute_invoice_total"));
  const lexical = store.chunks(store.lexicalSearch(codeTerms(code), 3).map((hit) => hit.id));
  assert.ok(
    lexical.some((chunk) => chunk.text.includes("def compute_invoice_total")),
    "lexical search finds it",
  );
  const semantic = "sort the goods from cheapest to most expensive";
  const [vector] = await embedder.embed([semantic]);
  assert.deepEqual(store.vectorSearch(vector, 5), [], "no vector yet");
  const [found] = await retriever.search(query, { excludePath: "app.py", limit: 3 });
  assert.equal(found.path, "billing/invoice.py", "search finds it without its vector");

  held.release();
  await indexer.vectorsDone();
  const after = indexer.progress();
  assert.equal(after.vectorsPending, 0);
  assert.equal(store.vectorSearch(vector, 100).length, after.chunks, "every chunk has its vector");
  const [meaning] = await retriever.search({ code: semantic, linePrefix: "", imports: "" }, {
    excludePath: "",
    limit: 3,
  });
  assert.equal(meaning.path, "catalog/products.py", "found by meaning");
  await indexer.close();
  await store.close();
});

Deno.test("IndexStore rebuilds its vector index when the saved one is missing or stale", async () => {
  const { store, stateDir, retriever } = await indexed(await fixtureProject());
  const query = { code: "total = compute_invoice_total(", linePrefix: "", imports: "" };
  const expected = (await retriever.search(query, { excludePath: "", limit: 1 }))[0].id;
  await store.close();
  await Deno.writeTextFile(join(stateDir, "vectors.usearch"), "torn write");
  const reopened = await IndexStore.open(stateDir, embedder);
  const [hit] = await new Retriever(reopened, embedder).search(query, {
    excludePath: "",
    limit: 1,
  });
  assert.equal(hit.id, expected);
  await reopened.close();
});

Deno.test("Retriever.definitions() lists what a module the cursor reaches into defines", async () => {
  const { retriever, store } = await indexed(await fixtureProject());
  const query = {
    code: "def report(items):\n    total = invoice.",
    linePrefix: "    total = invoice.",
    imports: "",
  };
  const [module] = retriever.definitions(query, "report.py");
  assert.equal(module.path, "billing/invoice.py");
  assert.equal(module.kind, "members", "what the pipeline never leaves out of the prompt");
  assert.ok(
    module.text.includes(
      "def compute_invoice_total(items: list[LineItem], tax_rate: float) -> int:",
    ),
  );
  // A name used just before the cursor brings its definition, wherever it lives.
  const named = retriever.definitions(
    { code: "session = createUserSession(userId, 60)\nok = ", linePrefix: "ok = ", imports: "" },
    "web/login.ts",
  );
  assert.deepEqual(named.map((chunk) => [chunk.path, chunk.kind]), [
    ["web/session.ts", "definition"],
  ]);
  assert.match(
    named[0].text,
    /^function createUserSession\(userId: string, ttlSeconds: number\): UserSession \{$/,
  );
  await store.close();
});

Deno.test("Retriever.definitions() follows the file's imports to the right namesake", async () => {
  const root = await Deno.makeTempDir({ prefix: "ast-complete-namesakes-" });
  const files: Record<string, string> = {
    "shop/prices.py": "def total(items, tax):\n    return sum(items) * (1 + tax)\n",
    "legacy/prices.py": "def total(rows):\n    return len(rows)\n",
    "web/prices.ts": "export function total(cents: number[]): number {\n  return 0;\n}\n",
    "web/legacy.ts": "export function total(rows: string[]): number {\n  return 1;\n}\n",
  };
  for (const [path, text] of Object.entries(files)) {
    await Deno.mkdir(join(root, path, ".."), { recursive: true });
    await Deno.writeTextFile(join(root, path), text);
  }
  const { retriever, store } = await indexed(root);
  const paths = async (languageId: string, path: string, source: string) => {
    const syntaxFound = await (await syntax).cursorSyntax(languageId, source, source.length, {
      path,
    });
    const lines = source.split("\n");
    return retriever.definitions({
      code: source,
      linePrefix: lines.at(-1)!,
      imports: syntaxFound!.imports.join("\n"),
      modules: syntaxFound!.modules,
    }, path).map((chunk) => chunk.path);
  };
  assert.deepEqual(
    await paths("python", "app.py", "from shop.prices import total\n\nx = total("),
    ["shop/prices.py"],
  );
  assert.deepEqual(
    await paths("python", "app.py", "from legacy import prices\n\nx = prices."),
    ["legacy/prices.py"],
  );
  assert.deepEqual(
    await paths("typescript", "web/cart.ts", 'import { total } from "./prices.js";\n\nx = total('),
    ["web/prices.ts"],
  );
  // Without imports, every namesake is a candidate.
  assert.equal((await paths("python", "app.py", "x = total(")).length, 4);
  await store.close();
});

Deno.test("Retriever.definitions() lists the signatures of what the file imports from the project", async () => {
  const root = await Deno.makeTempDir({ prefix: "ast-complete-imports-" });
  const files: Record<string, string> = {
    "shop/prices.py":
      "def total(items, tax):\n    return 0\n\n\ndef discount(rate):\n    return rate\n",
    "shop/stock.py": "class Shelf:\n    pass\n\n\ndef restock(shelf):\n    return shelf\n",
    "legacy/prices.py": "def total(rows):\n    return len(rows)\n",
  };
  for (const [path, text] of Object.entries(files)) {
    await Deno.mkdir(join(root, path, ".."), { recursive: true });
    await Deno.writeTextFile(join(root, path), text);
  }
  const { retriever, store } = await indexed(root);
  // The import lines are far above the cursor: the prefix window no longer shows them.
  const source = "from shop.prices import total\nfrom shop.stock import Shelf\nimport json\n\n" +
    "x = 1\n".repeat(400) + "shelf = ";
  const found = await (await syntax).cursorSyntax("python", source, source.length, {
    path: "app.py",
  });
  const chunks = retriever.definitions({
    code: source.split("\n").slice(-3).join("\n"),
    linePrefix: "shelf = ",
    imports: found!.imports.join("\n"),
    modules: found!.modules,
  }, "app.py");
  assert.deepEqual(
    chunks.map((chunk) => [chunk.path, chunk.kind, chunk.text]),
    [
      // Only the names imported, from the files they come from: not `discount`, not the namesake.
      ["shop/prices.py", "imports", "def total(items, tax):"],
      ["shop/stock.py", "imports", "class Shelf:"],
    ],
  );
  assert.ok(chunks.every((chunk) => chunk.score < 1), "below what the cursor's lines refer to");
  await store.close();
});
