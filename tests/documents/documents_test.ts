import assert from "node:assert/strict";
import {
  DocumentStore,
  insertionEnd,
  languageOf,
  offsetAt,
  pathOf,
} from "../../engine/documents/mod.ts";
import { ErrorCode } from "../../engine/protocol/mod.ts";
import { EngineError } from "../../engine/protocol/errors.ts";

Deno.test("offsetAt() maps line and character to an offset", () => {
  const text = "ab\ncde\n";
  assert.equal(offsetAt(text, { line: 0, character: 0 }), 0);
  assert.equal(offsetAt(text, { line: 1, character: 2 }), 5);
  assert.equal(offsetAt(text, { line: 1, character: 3 }), 6);
  assert.equal(offsetAt(text, { line: 2, character: 0 }), 7);
});

Deno.test("offsetAt() refuses positions past the end with InvalidParams", () => {
  for (const position of [{ line: 3, character: 0 }, { line: 0, character: 3 }]) {
    assert.throws(
      () => offsetAt("ab\ncde\n", position),
      (error: { code: number; message: string }) => {
        assert.equal(error.code, ErrorCode.InvalidParams);
        assert.match(error.message, /past the end/);
        return true;
      },
    );
  }
});

Deno.test("languageOf() knows common extensions and falls back to plaintext", () => {
  assert.equal(languageOf("/a/b.py"), "python");
  assert.equal(languageOf("x.TSX"), "typescriptreact");
  assert.equal(languageOf("Makefile.unknown"), "plaintext");
});

Deno.test("pathOf() decodes file URIs and leaves other URIs alone", () => {
  assert.equal(pathOf("file:///tmp/a%20b.py"), "/tmp/a b.py");
  assert.equal(pathOf("untitled:Untitled-1"), "untitled:Untitled-1");
});

const LIMITS = { maxDocumentBytes: 1000, maxOpenDocuments: 3, maxOpenDocumentChars: 100 };

Deno.test("DocumentStore.set() ignores versions older than the one held", () => {
  const store = new DocumentStore(LIMITS);
  store.set({ uri: "u", languageId: "python", version: 2, text: "new" });
  store.set({ uri: "u", languageId: "python", version: 1, text: "old" });
  assert.equal(store.get("u")?.text, "new");
  store.delete("u");
  assert.equal(store.get("u"), undefined);
});

Deno.test("DocumentStore.set() refuses a document over the size limit and remembers why", () => {
  const store = new DocumentStore(LIMITS);
  store.set({ uri: "u", languageId: "python", version: 1, text: "small" });
  assert.throws(
    () => store.set({ uri: "u", languageId: "python", version: 2, text: "é".repeat(600) }),
    (error: unknown) =>
      error instanceof EngineError && error.code === ErrorCode.DocumentTooLarge &&
      /^Document too large/.test(error.message),
  );
  assert.equal(store.get("u"), undefined, "the older text is not kept as if it were current");
  assert.match(store.refusal("u") ?? "", /Document too large/);
  store.set({ uri: "u", languageId: "python", version: 3, text: "small again" });
  assert.equal(store.refusal("u"), undefined);
});

Deno.test("DocumentStore.set() forgets the least recently synced past the count and size limits", () => {
  const store = new DocumentStore(LIMITS);
  for (const uri of ["a", "b", "c"]) store.set({ uri, languageId: "go", version: 0, text: "x" });
  store.set({ uri: "a", languageId: "go", version: 1, text: "xx" }); // a is now the newest
  store.set({ uri: "d", languageId: "go", version: 0, text: "x" });
  assert.equal(store.get("b"), undefined, "b was the least recently synced");
  assert.deepEqual(["a", "c", "d"].map((uri) => store.get(uri) !== undefined), [true, true, true]);
  store.set({ uri: "e", languageId: "go", version: 0, text: "y".repeat(99) });
  assert.deepEqual(store.size(), { documents: 2, chars: 100 }, "100 characters held at most");
  assert.ok(store.get("e") && store.get("d"), "the newest stay");
});

Deno.test("insertionEnd: the cursor after Enter, an accepted suggestion or a paste; nothing else", () => {
  const before = "def f(x):\n    y = x\nprint(f(1))\n";
  const cases: [string, number, number][] = [
    // Enter at the end of a line, with the new line's indentation; without any.
    ["def f(x):\n    y = x\n    \nprint(f(1))\n", 2, 4],
    ["def f(x):\n    y = x\nprint(f(1))\n\n", 3, 0],
    // An accepted suggestion: the rest of a line, then a line and Enter.
    ["def f(x):\n    y = x * 2\nprint(f(1))\n", 1, 13],
    ["def f(x):\n    y = x\n    return y\n    \nprint(f(1))\n", 3, 4],
  ];
  for (const [after, line, character] of cases) {
    assert.equal(insertionEnd(before, after), offsetAt(after, { line, character }), after);
  }
  assert.equal(insertionEnd("a\r\nb", "a\r\n\r\nb"), 3, "Enter as \\r\\n");
  // Enter between brackets: the cursor on the indented new line, the bracket on the next.
  const braces = "function f() {}\n";
  const entered = "function f() {\n  \n}\n";
  assert.equal(insertionEnd(braces, entered), offsetAt(entered, { line: 1, character: 2 }));
  // A key typed, an auto-closed pair, a deletion, a replacement, no change: no cursor to act on.
  for (
    const after of [
      "def f(x):\n    y = x\nprint(f(1))\n#",
      "def f(x):\n    y = x()\nprint(f(1))\n",
      "def f(x):\n    y = \nprint(f(1))\n",
      "def f(x):\n    z = x + 1\nprint(f(1))\n",
      before,
    ]
  ) assert.equal(insertionEnd(before, after), undefined, JSON.stringify(after));
});
