/**
 * Reuse "to the token" (llama.cpp's `--cache-reuse`): evaluated runs that the
 * new prompt goes on with are shifted into place by erasing what lies between.
 */
import assert from "node:assert/strict";
import type { Token } from "node-llama-cpp";
import { shiftedReuse } from "../../engine/inference/generator.ts";

/** `length` distinct tokens starting at `from`. */
function run(from: number, length: number): Token[] {
  return Array.from({ length }, (_, index) => (from + index) as Token);
}

Deno.test("a chunk that left the prompt is erased and what followed it shifts into place", () => {
  const header = run(0, 10), left = run(100, 30), file = run(1000, 200);
  const evaluated = [...header, ...left, ...file];
  const prompt = [...header, ...file, 9999 as Token];
  const { erase, kept } = shiftedReuse(evaluated, prompt, header.length);
  assert.deepEqual(erase, [{ start: 10, end: 40 }]);
  assert.equal(kept, header.length + file.length);
});

Deno.test("a run shorter than the minimum is evaluated again, not shifted", () => {
  const header = run(0, 10), left = run(100, 30), short = run(1000, 20);
  const evaluated = [...header, ...left, ...short];
  const prompt = [...header, ...short, 9999 as Token];
  const { erase, kept } = shiftedReuse(evaluated, prompt, header.length);
  assert.deepEqual(erase, [{ start: 10, end: 60 }]);
  assert.equal(kept, header.length);
});

Deno.test("the prompt's last token is never kept: it is evaluated for its logits", () => {
  const evaluated = run(0, 300);
  const { erase, kept } = shiftedReuse(evaluated, evaluated, 299);
  assert.equal(kept, 299);
  assert.deepEqual(erase, [{ start: 299, end: 300 }]);
});

Deno.test("new text inserted before evaluated runs stops the reuse there", () => {
  const header = run(0, 10), inserted = run(500, 40), file = run(1000, 200);
  const evaluated = [...header, ...file];
  const prompt = [...header, ...inserted, ...file, 9999 as Token];
  const { erase, kept } = shiftedReuse(evaluated, prompt, header.length);
  assert.deepEqual(erase, [{ start: 10, end: 210 }]);
  assert.equal(kept, header.length);
});
