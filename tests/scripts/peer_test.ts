/**
 * The peer bench's llama.vscode side without a server: the /infill body it
 * builds, what it shows of an answer, its ring buffer, and the lines and keys
 * both sides are given.
 */
import assert from "node:assert/strict";
import {
  firstIdentifier,
  infillBody,
  LLAMA_VSCODE,
  peer,
  pickPlaces,
  RingBuffer,
  shownSuggestion,
  warmBody,
} from "../../scripts/bench/peer.ts";
import { createLogger } from "../../engine/log/mod.ts";
import { seeded } from "../../scripts/bench/stats.ts";
import { typedPrefixes } from "../../scripts/bench/typing.ts";

/** A document of `count` lines, each naming its number. */
function numbered(count: number): string[] {
  return Array.from({ length: count }, (_, index) => `line ${index}`);
}

Deno.test("infillBody() sends 256 lines above, the rest of the line and 64 below, the line as prompt", () => {
  const doc = numbered(400);
  doc[300] = "    const total = compute(";
  const extra = [{ text: "a\nb\n", filename: "/p/a.ts" }];
  const body = infillBody(doc, { line: 300, character: 18 }, extra);
  assert.equal(body.input_prefix, doc.slice(44, 300).join("\n") + "\n");
  assert.equal(body.input_suffix, "compute(\n" + doc.slice(301, 365).join("\n") + "\n");
  assert.equal(body.prompt, "    const total = ");
  assert.equal(body.n_indent, 4);
  assert.deepEqual(body.input_extra, extra);
  assert.deepEqual(
    { ...body, input_prefix: "", input_suffix: "", input_extra: [], prompt: "" },
    {
      id_slot: 0,
      input_prefix: "",
      input_suffix: "",
      input_extra: [],
      prompt: "",
      n_predict: LLAMA_VSCODE.nPredict,
      top_k: 1,
      top_p: 0.99,
      stream: false,
      samplers: ["top_k", "top_p", "infill"],
      cache_prompt: true,
      n_indent: 4,
      t_max_prompt_ms: 500,
      t_max_predict_ms: 500,
    },
  );
});

Deno.test("infillBody() near the ends of the file, and on a line of indentation only", () => {
  const doc = ["first", "  ", "last"];
  const body = infillBody(doc, { line: 1, character: 2 }, []);
  assert.equal(body.input_prefix, "first\n");
  assert.equal(body.input_suffix, "\nlast\n");
  assert.equal(body.prompt, "");
  assert.equal(body.n_indent, 2);
  assert.equal(infillBody(doc, { line: 2, character: 4 }, []).n_indent, undefined);
  assert.equal(infillBody(doc, { line: 0, character: 5 }, []).input_prefix, "\n");
});

Deno.test("warmBody() sends the chunks alone and predicts nothing", () => {
  const body = warmBody([{ text: "x\n", filename: "/p/x.ts" }]);
  assert.equal(body.n_predict, 0);
  assert.equal(body.t_max_predict_ms, 1);
  assert.deepEqual(body.samplers, []);
  assert.equal(body.prompt + body.input_prefix + body.input_suffix, "");
  assert.equal(body.input_extra.length, 1);
});

Deno.test("shownSuggestion() drops trailing empty lines and repeats of the text around the cursor", () => {
  const doc = ["function f() {", "  return ", "}", ""];
  const cursor = { line: 1, character: 9 };
  assert.equal(shownSuggestion("a + b;\n\n", doc, cursor), "a + b;");
  assert.equal(shownSuggestion("", doc, cursor), undefined);
  assert.equal(shownSuggestion("  \n", doc, cursor), undefined);
  // The next line written again, and the rest of the line written again.
  assert.equal(
    shownSuggestion("x", ["a(", "  ", "  x", "b"], { line: 1, character: 2 }),
    undefined,
  );
  assert.equal(shownSuggestion("x", ["a(", "  x", "b"], { line: 1, character: 2 }), undefined);
});

Deno.test("shownSuggestion() keeps the first line before a line suffix, without the suffix", () => {
  const doc = ["call(", "end"];
  const cursor = { line: 0, character: 4 };
  assert.equal(shownSuggestion("a, b(", doc, cursor), "a, b");
  assert.equal(shownSuggestion("a\nb", doc, cursor), "a");
});

Deno.test("shownSuggestion() shows nothing when its check reads past the document, as VS Code throws", () => {
  // A 2-line suggestion whose first line rebuilds the next line checks the line after it.
  const doc = ["x", "", "y"];
  assert.equal(shownSuggestion("y\nz", doc, { line: 0, character: 0 }), undefined);
});

Deno.test("RingBuffer queues picks and takes them in one per idle tick, 16 at most", () => {
  const ring = new RingBuffer(seeded(1));
  const doc = numbered(2000);
  ring.opened(doc, 100, "/p/a.ts");
  assert.equal(ring.queued, 1);
  assert.equal(ring.chunks.length, 0);
  assert.equal(ring.idle(3), 1);
  // Around the cursor: 65 lines, of which half a chunk (32) is kept.
  assert.equal(ring.chunks[0].text.split("\n").length - 1, 32);
  for (let index = 0; index < 20; index++) {
    ring.pick(numbered(5).map((line) => `${line} of ${index}`), {
      filename: "/p/b.ts",
      evict: true,
    });
  }
  assert.equal(ring.queued, 16);
  assert.equal(ring.idle(3), 3);
  assert.equal(ring.idle(100), 13);
  assert.equal(ring.chunks.length, 16);
  assert.match(ring.chunks.at(-1)!.text, /of 19/);
});

Deno.test("RingBuffer evicts a near-duplicate and ignores chunks under 3 lines", () => {
  const ring = new RingBuffer(seeded(1));
  const lines = numbered(20);
  ring.pick(lines, { filename: "/p/a.ts", evict: true });
  ring.idle(1);
  ring.pick(lines, { filename: "/p/a.ts", evict: true });
  assert.equal(ring.queued, 0, "the same text again is not queued");
  ring.pick([...lines.slice(0, 19), "changed"], { filename: "/p/a.ts", evict: true });
  assert.equal(ring.chunks.length, 0, "19 of 21 distinct lines shared: evicted");
  ring.pick(["a", "b"], { filename: "/p/a.ts", evict: true });
  assert.equal(ring.queued, 1);
});

Deno.test("RingBuffer picks after a suggestion only when the cursor moved more than 32 lines", () => {
  const ring = new RingBuffer(seeded(1));
  const doc = numbered(2000);
  ring.shown(doc, 1000, "/p/a.ts");
  assert.equal(ring.queued, 2, "one chunk far above, one below the suffix");
  ring.shown(doc, 1020, "/p/a.ts");
  assert.equal(ring.queued, 2);
  ring.shown(doc, 1040, "/p/a.ts");
  assert.equal(ring.queued, 4);
  ring.idle(4);
  for (const chunk of ring.chunks) {
    const numbers = chunk.text.trim().split("\n").map((line) => Number(line.split(" ")[1]));
    assert.ok(numbers.every((n) => n <= 784 || n >= 1064), `${numbers[0]}..${numbers.at(-1)}`);
  }
});

Deno.test("firstIdentifier() finds the first name, after punctuation or in the middle of a word", () => {
  assert.equal(firstIdentifier("(options.value)"), "options");
  assert.equal(firstIdentifier("ame = 1"), "ame");
  assert.equal(firstIdentifier("$el_2.x"), "$el_2");
  assert.equal(firstIdentifier(");"), undefined);
});

Deno.test("pickPlaces() takes one typable code line per file, the same for the same seed", () => {
  const files = [
    { path: "a.ts", text: "// a comment that is long enough\nconst alpha = compute(1, 2, 3);\n" },
    { path: "b.ts", text: "x\n" },
    { path: "c.ts", text: "export function gamma(value: number) {\n  return value;\n}\n" },
  ];
  const places = pickPlaces(files, 5, seeded(31));
  assert.deepEqual(places.map((place) => place.path).sort(), ["a.ts", "c.ts"]);
  for (const place of places) assert.ok(place.lines[place.line].trim().length >= 20);
  assert.deepEqual(pickPlaces(files, 5, seeded(31)), places);
  assert.equal(pickPlaces(files, 1, seeded(31)).length, 1);
});

Deno.test("typedPrefixes() clears a line after its indentation and types it key by key, 40 at most", () => {
  assert.deepEqual(typedPrefixes("  abc"), ["  a", "  ab", "  abc"]);
  const long = "    " + "x".repeat(100);
  const typed = typedPrefixes(long);
  assert.equal(typed.length, 40);
  assert.equal(typed.at(-1), "    " + "x".repeat(40));
});

Deno.test("peer() is skipped, saying why, without a llama-server, and refuses one that is missing", async () => {
  const log = createLogger("bench", "error");
  const skipped = await peer({ projects: [], lines: 1, log });
  assert.match(String((skipped as { skipped?: string }).skipped), /--llama-server PATH/);
  await assert.rejects(
    peer({ llamaServer: "/nonexistent/llama-server", projects: [], lines: 1, log }),
    /No llama-server at \/nonexistent\/llama-server/,
  );
});
