import assert from "node:assert/strict";
import {
  chunkText,
  codeTerms,
  reciprocalRankFusion,
  subWords,
} from "../../engine/retrieval/mod.ts";

Deno.test("chunkText() keeps whole top-level blocks with their line ranges", async () => {
  const text = await Deno.readTextFile(
    new URL("../fixtures/shop/billing/invoice.py", import.meta.url),
  );
  const chunks = chunkText("billing/invoice.py", text);
  const total = chunks.find((chunk) => chunk.text.includes("def compute_invoice_total"))!;
  assert.ok(
    total.text.includes("return int(subtotal"),
    "the function body stays with its signature",
  );
  const lines = text.split("\n");
  assert.equal(lines[total.startLine - 1], total.text.split("\n")[0]);
  assert.equal(lines[total.endLine - 1], total.text.split("\n").at(-1));
  for (const chunk of chunks) assert.notEqual(chunk.text.trim(), "");
});

Deno.test("chunkText() cuts a long block into overlapping windows", () => {
  const body = Array.from({ length: 150 }, (_, index) => `    x${index} = ${index}`).join("\n");
  const chunks = chunkText("long.py", `def long():\n${body}\n`);
  assert.ok(chunks.length >= 4);
  assert.equal(chunks[0].startLine, 1);
  assert.ok(chunks[1].startLine <= chunks[0].endLine, "windows overlap");
  assert.equal(chunks.at(-1)!.endLine, 151);
});

Deno.test("chunkText() with syntax block starts keeps each method of a long class whole", () => {
  const method = (index: number) =>
    `  step${index}(): void {\n${"    this.work();\n".repeat(14)}  }\n`;
  const text = `class Long {\n${Array.from({ length: 6 }, (_, i) => method(i)).join("")}}\n`;
  const lines = text.split("\n");
  const methodStarts = lines.flatMap((line, index) => /^ {2}step/.test(line) ? [index] : []);
  const byLayout = chunkText("long.ts", text);
  const bySyntax = chunkText("long.ts", text, [0, ...methodStarts]);
  const atBoundary = (chunk: { startLine: number }) =>
    chunk.startLine === 1 || methodStarts.includes(chunk.startLine - 1);
  assert.ok(bySyntax.every(atBoundary), "every chunk starts at the class or a method");
  assert.ok(!byLayout.every(atBoundary), "layout windows start inside methods");
  assert.ok(bySyntax.every((chunk) => chunk.endLine - chunk.startLine < 60));
});

Deno.test("subWords() splits camelCase, PascalCase, snake_case and acronyms", () => {
  assert.deepEqual(subWords("parseHTTPRequest"), ["parse", "http", "request"]);
  assert.deepEqual(subWords("compute_invoice_total"), ["compute", "invoice", "total"]);
  assert.deepEqual(subWords("UserSession"), ["user", "session"]);
});

Deno.test("codeTerms() keeps identifiers and their sub-words, without keywords", () => {
  const terms = codeTerms("const total = computeInvoiceTotal(items);\nreturn total;");
  assert.ok(terms.includes("computeinvoicetotal"));
  assert.ok(terms.includes("invoice"));
  assert.ok(!terms.includes("const") && !terms.includes("return"));
});

Deno.test("reciprocalRankFusion() ranks what both lists agree on first", () => {
  const fused = reciprocalRankFusion([
    [{ id: 1, score: 9 }, { id: 2, score: 8 }, { id: 3, score: 7 }],
    [{ id: 3, score: 0.9 }, { id: 4, score: 0.8 }, { id: 1, score: 0.7 }],
  ]);
  assert.deepEqual(fused.slice(0, 2).map((hit) => hit.id).sort(), [1, 3]);
  assert.equal(fused.length, 4);
});
