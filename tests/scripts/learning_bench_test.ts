/** The simulated user of `deno task bench learning`: what it keeps of a suggestion, where it pauses. */
import assert from "node:assert/strict";
import { keptWords, nextPause } from "../../scripts/bench/learning.ts";

Deno.test("keptWords() keeps what the line goes on with, in whole words", () => {
  assert.equal(keptWords("render(x)", "render(x)\n"), "render(x)", "all of it: accepted");
  assert.equal(
    keptWords("self.render(y)", "self.render(x)"),
    "self.render(",
    "up to where it differs",
  );
  assert.equal(keptWords("self.renderer", "self.render(x)"), "self.", "never half a word");
  assert.equal(keptWords("value", "values[0]"), "value", "the line goes on with it: accepted");
  assert.equal(keptWords("values", "value[0]"), "", "a word the line does not have");
  assert.equal(keptWords("(y)", "(x)"), "", "punctuation alone is not worth a key");
  assert.equal(keptWords("x = 1; more", "x = 1"), "x = 1", "past the line's end: the line is kept");
});

Deno.test("nextPause() stops after each character that ends a word", () => {
  const line = "return self.render(x)";
  const pauses: number[] = [];
  for (let at = 0; at < line.length; at = nextPause(line, at)) pauses.push(at);
  assert.deepEqual(pauses.map((at) => line.slice(0, at)), [
    "",
    "return ",
    "return self.",
    "return self.render(",
  ]);
});
