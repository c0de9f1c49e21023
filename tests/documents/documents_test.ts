import assert from "node:assert/strict";
import { DocumentStore, languageOf, offsetAt, pathOf } from "../../engine/documents/mod.ts";
import { ErrorCode } from "../../engine/protocol/mod.ts";

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

Deno.test("DocumentStore.set() ignores versions older than the one held", () => {
  const store = new DocumentStore();
  store.set({ uri: "u", languageId: "python", version: 2, text: "new" });
  store.set({ uri: "u", languageId: "python", version: 1, text: "old" });
  assert.equal(store.get("u")?.text, "new");
  store.delete("u");
  assert.equal(store.get("u"), undefined);
});
