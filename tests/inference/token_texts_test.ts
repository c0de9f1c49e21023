import assert from "node:assert/strict";
import type { Token } from "node-llama-cpp";
import { TokenTexts } from "../../engine/inference/token_texts.ts";

const texts = new TokenTexts(
  (["con", "const", " con", "co", "cons\uFFFD", "contract", "c", "d", "é", "éa", "\uFFFD"] as const)
    .map((text, index): [string, Token] => [text, index as Token]),
);

function starting(prefix: string): string[] {
  return [...texts.startingWith(prefix)].map(([text]) => text).sort();
}

Deno.test("TokenTexts finds every token a text starts, itself among them", () => {
  assert.deepEqual(starting("con"), ["con", "const", "contract"]);
  assert.deepEqual(starting("co"), ["co", "con", "const", "contract"]);
  assert.deepEqual(starting(" "), [" con"]);
  assert.deepEqual(starting("é"), ["é", "éa"]);
});

Deno.test("TokenTexts leaves out texts with part of a character, and finds none past the end", () => {
  assert.deepEqual(starting("cons"), ["const"]);
  assert.deepEqual(starting("\uFFFD"), []);
  assert.deepEqual(starting("z"), []);
  assert.deepEqual(starting("ca"), []);
});

Deno.test("TokenTexts gives each text its own token", () => {
  assert.deepEqual([...texts.startingWith("const")], [["const", 1]]);
  assert.deepEqual([...texts.startingWith("d")], [["d", 7]]);
});
