import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { Parser } from "web-tree-sitter";
import { grammarPath, readGrammarManifest, SyntaxService } from "../../engine/ast/mod.ts";

const syntax = await SyntaxService.create();

/** A real snippet per language, with `║` at the cursor, its scopes and its imports. */
const CASES: Record<string, { source: string; scopes: string[]; imports: number }> = {
  python: {
    source:
      "import os\nfrom billing import invoice\n\nclass Cart:\n    def total(self):\n        return ║\n",
    scopes: ["class Cart:", "def total(self):"],
    imports: 2,
  },
  typescript: {
    source:
      'import { a } from "./a";\n\nexport class Cart {\n  total(): number {\n    return ║;\n  }\n}\n',
    scopes: ["class Cart {", "total(): number {"],
    imports: 1,
  },
  typescriptreact: {
    source: 'import React from "react";\n\nexport function App() {\n  return <div>{║}</div>;\n}\n',
    scopes: ["function App() {"],
    imports: 1,
  },
  javascript: {
    source: 'const fs = require("fs");\n\nfunction read(path) {\n  return ║;\n}\n',
    scopes: ["function read(path) {"],
    imports: 1,
  },
  go: {
    source: 'package main\n\nimport "fmt"\n\nfunc main() {\n\tfmt.Println(║)\n}\n',
    scopes: ["func main() {"],
    imports: 2,
  },
  rust: {
    source:
      "use std::fs;\n\nstruct Cart;\n\nimpl Cart {\n    fn total(&self) -> u32 {\n        ║\n    }\n}\n",
    scopes: ["impl Cart {", "fn total(&self) -> u32 {"],
    imports: 1,
  },
  java: {
    source:
      "import java.util.List;\n\nclass Cart {\n    int total() {\n        return ║;\n    }\n}\n",
    scopes: ["class Cart {", "int total() {"],
    imports: 1,
  },
  c: {
    source: "#include <stdio.h>\n\nint main(void) {\n    printf(║);\n}\n",
    scopes: ["int main(void) {"],
    imports: 1,
  },
  cpp: {
    source: "#include <vector>\n\nclass Cart {\n  int total() {\n    return ║;\n  }\n};\n",
    scopes: ["class Cart {", "int total() {"],
    imports: 1,
  },
  csharp: {
    source: "using System;\n\nclass Cart {\n    int Total() {\n        return ║;\n    }\n}\n",
    scopes: ["class Cart {", "int Total() {"],
    imports: 1,
  },
  ruby: {
    source: "require 'json'\n\nclass Cart\n  def total\n    ║\n  end\nend\n",
    scopes: ["class Cart", "def total"],
    imports: 1,
  },
  php: {
    source:
      "<?php\nuse App\\Models\\User;\n\nclass Cart {\n    function total() {\n        return ║;\n    }\n}\n",
    scopes: ["class Cart {", "function total() {"],
    imports: 1,
  },
  shellscript: {
    source: 'greet() {\n  echo "hi ║"\n}\n',
    scopes: ["greet() {"],
    imports: 0,
  },
};

Deno.test("every shipped grammar matches its manifest sha256 and parses", async () => {
  const entries = await readGrammarManifest();
  assert.ok(entries.length >= 13);
  const parser = new Parser();
  for (const entry of entries) {
    const bytes = await Deno.readFile(grammarPath(entry));
    assert.equal(createHash("sha256").update(bytes).digest("hex"), entry.sha256, entry.file);
    parser.setLanguage(await syntax.language(entry.languageIds[0])!);
    const tree = parser.parse("x");
    assert.ok(tree?.rootNode, `${entry.file} parses`);
    tree?.delete();
  }
});

for (const [languageId, example] of Object.entries(CASES)) {
  Deno.test(`SyntaxService.cursorSyntax() finds the scopes and imports of ${languageId}`, async () => {
    const offset = example.source.indexOf("║");
    const text = example.source.replace("║", "");
    const found = await syntax.cursorSyntax(languageId, text, offset);
    assert.ok(found, `${languageId} has a grammar`);
    assert.deepEqual(found.scopes, example.scopes);
    assert.equal(found.imports.length, example.imports, found.imports.join(" | "));
  });
}

Deno.test("SyntaxService.cursorSyntax() gives nothing, not an error, for a language without a grammar", async () => {
  assert.equal(await syntax.cursorSyntax("plaintext", "hello", 2), undefined);
  assert.equal(await syntax.cursorSyntax("cobol", "MOVE A TO B.", 3), undefined);
});

Deno.test("SyntaxService.cursorSyntax() survives broken code", async () => {
  const found = await syntax.cursorSyntax("python", "def f(:\n    return (((\n", 20);
  assert.ok(found);
});

Deno.test("SyntaxService.outline() lists named definitions with their lines and signatures", async () => {
  const text = await Deno.readTextFile(
    new URL("../fixtures/shop/billing/invoice.py", import.meta.url),
  );
  const outline = await syntax.outline("python", text);
  assert.ok(outline);
  assert.deepEqual(outline.definitions.map((definition) => definition.name), [
    "LineItem",
    "compute_invoice_total",
    "format_cents",
  ]);
  const total = outline.definitions[1];
  assert.equal(
    total.signature,
    "def compute_invoice_total(items: list[LineItem], tax_rate: float) -> int:",
  );
  assert.equal(text.split("\n")[total.line - 1], total.signature);
  assert.equal(await syntax.outline("plaintext", "x"), undefined);
});

Deno.test("SyntaxService.outline() starts blocks at statements, their comments, and the methods of a long class", async () => {
  const methods = Array.from(
    { length: 5 },
    (_, index) =>
      `  // Step ${index}.\n  step${index}(): number {\n${"    work();\n".repeat(15)}  }\n`,
  );
  const text = `import { work } from "./work";\n// A cart.\nexport class Cart {\n${
    methods.join("")
  }}\nconst done = true;\n`;
  const outline = await syntax.outline("typescript", text);
  assert.ok(outline);
  const lines = text.split("\n");
  const starts = outline.blockStarts.map((line) => lines[line]);
  assert.deepEqual(starts, [
    'import { work } from "./work";',
    "// A cart.",
    "  step0(): number {",
    "  step1(): number {",
    "  step2(): number {",
    "  step3(): number {",
    "  step4(): number {",
    "const done = true;",
  ]);
});

Deno.test("SyntaxService.cursorSyntax() re-parses an edited document to the same result as a fresh parse", async () => {
  const fresh = await SyntaxService.create();
  // Non-ASCII text before the edits checks that offsets and columns agree with tree-sitter's.
  let text =
    'import { a } from "./a"; // café ☕ 🎉\n\nclass Cart {\n  total() {\n    return 1;\n  }\n}\n';
  const edits: [string, string][] = [
    ["return 1;", "return a(1);"],
    ["  total() {", "  /* é */ total(rate: number) {"],
    [
      "class Cart {\n",
      "class Cart {\n  count = 0;\n  add(x: number) {\n    this.count += x;\n  }\n",
    ],
    ["}\n}\n", "}\n}\nfunction later() {\n  return 🎉;\n}\n"],
  ];
  for (const [before, after] of edits) {
    text = text.replace(before, after);
    for (const offset of [text.indexOf("x;"), text.indexOf("a(1)"), text.length - 3]) {
      if (offset < 0) continue;
      assert.deepEqual(
        await syntax.cursorSyntax("typescript", text, offset, { key: "file:///cart.ts" }),
        await fresh.cursorSyntax("typescript", text, offset),
        `after ${after}`,
      );
    }
  }
  const found = await syntax.cursorSyntax("typescript", text, text.indexOf("return 🎉"), {
    key: "file:///cart.ts",
    path: "web/cart.ts",
  });
  assert.deepEqual(found?.scopes, ["function later() {"]);
  assert.ok(
    found?.modules[0].paths.includes("web/a.ts"),
    "imports resolve from the document's path",
  );
});

Deno.test("SyntaxService.cursorSyntax() tells when the cursor is inside a string or a comment", async () => {
  const cases: [string, string, boolean][] = [
    ["python", 'def f():\n    """Returns ║\n    """\n', true],
    ["python", "x = 1  # the count of ║ items\n", true],
    ["python", 'name = "ab║c"\n', true],
    ["python", 'name = "abc"║\n', false],
    ["python", "def f():\n    ║\n", false],
    ["typescript", "const a = `line ║`;\n", true],
    ["typescript", "// a comment ║\nconst b = 1;\n", true],
    ["typescript", "const b = ║;\n", false],
  ];
  for (const [languageId, source, expected] of cases) {
    const offset = source.indexOf("║");
    const found = await syntax.cursorSyntax(languageId, source.replace("║", ""), offset);
    assert.equal(found?.inLiteral, expected, source);
  }
});
