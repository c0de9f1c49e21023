/**
 * The order project context goes into the prompt when the pick changes: what
 * stays keeps its place, so the prompt's beginning stays evaluated.
 */
import assert from "node:assert/strict";
import { ringOrder } from "../../engine/pipeline.ts";
import type { ScoredChunk } from "../../engine/retrieval/mod.ts";

function chunk(path: string, text: string, score = 0.5): ScoredChunk {
  return { id: -1, path, startLine: 1, endLine: 2, text, score, kind: "similar" };
}

Deno.test("chunks that stay keep their order; new ones follow them", () => {
  const previous = [chunk("b.py", "b"), chunk("a.py", "a"), chunk("c.py", "c")];
  const chosen = [chunk("a.py", "a"), chunk("d.py", "d"), chunk("c.py", "c")];
  assert.deepEqual(ringOrder(previous, chosen).map((item) => item.path), ["a.py", "c.py", "d.py"]);
});

Deno.test("a first pick keeps the order it was given", () => {
  const chosen = [chunk("z.py", "z"), chunk("a.py", "a")];
  assert.deepEqual(ringOrder([], chosen).map((item) => item.path), ["z.py", "a.py"]);
});

Deno.test("a chunk whose text changed is a new chunk; staying ones carry their new score", () => {
  const previous = [chunk("a.py", "old"), chunk("b.py", "b", 0.1)];
  const chosen = [chunk("a.py", "new"), chunk("b.py", "b", 0.9)];
  const ordered = ringOrder(previous, chosen);
  assert.deepEqual(ordered.map((item) => item.text), ["b", "new"]);
  assert.equal(ordered[0].score, 0.9);
});
