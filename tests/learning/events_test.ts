/** The shown event a session records: excerpts around the cursor and the completion's signals. */
import assert from "node:assert/strict";
import { EVENT_FIELD_CAPS, shownEvent, type ShownInput } from "../../engine/learning/mod.ts";
import type { Completion } from "../../engine/pipeline.ts";

const TIMINGS = {
  astMs: 1,
  retrieveMs: 2,
  promptMs: 3,
  generateMs: 40,
  totalMs: 46,
  promptTokens: 300,
  reusedTokens: 250,
  generatedTokens: 9,
  cached: false,
};

function input(overrides: Partial<ShownInput> = {}, completion: Partial<Completion> = {}) {
  return {
    id: "c1",
    at: Date.parse("2026-11-23T10:00:00.000Z"),
    languageId: "python",
    path: "src/add.py",
    document: "def add(a, b):\n    \n\nprint(add(1, 2))\n",
    offset: 19,
    completion: { text: "return a + b\n# done", timings: TIMINGS, ...completion },
    ...overrides,
  };
}

Deno.test("shownEvent() records the cursor's excerpts, the suggestion and its signals", () => {
  const context = [{
    path: "src/util.py",
    startLine: 1,
    endLine: 4,
    score: 0.8,
    kind: "definition" as const,
  }];
  const event = shownEvent(input({}, { context, logprobs: { mean: -0.2, min: -1.5 } }));
  assert.deepEqual(event, {
    kind: "shown",
    time: "2026-11-23T10:00:00.000Z",
    id: "c1",
    languageId: "python",
    path: "src/add.py",
    prefix: "def add(a, b):\n    ",
    suffix: "\n\nprint(add(1, 2))\n",
    text: "return a + b\n# done",
    chars: 19,
    lines: 2,
    contextUsed: 1,
    latencyMs: 46,
    cached: false,
    logprobs: { mean: -0.2, min: -1.5 },
  });
});

Deno.test("shownEvent() leaves out log-probabilities the generator did not report", () => {
  const event = shownEvent(input());
  assert.equal("logprobs" in event, false);
  assert.equal(event.contextUsed, 0);
  assert.equal("previousOutcome" in event, false);
  assert.equal("shortened" in event, false);
});

Deno.test("shownEvent() marks the quick first suggestion", () => {
  const event = shownEvent(input({}, { timings: { ...TIMINGS, shortened: true } }));
  assert.equal(event.shortened, true);
});

Deno.test("shownEvent() records the client's previous outcome and how long before", () => {
  const at = Date.parse("2026-11-23T10:00:00.000Z");
  const event = shownEvent(input({ previous: { outcome: "partial", at: at - 4200 } }));
  assert.deepEqual(event.previousOutcome, { outcome: "partial", msBefore: 4200 });
});

Deno.test("shownEvent() cuts the excerpts nearest the cursor, whole surrogate pairs only", () => {
  const before = `${"a".repeat(5000)}😀${"b".repeat(EVENT_FIELD_CAPS.prefix - 1)}`;
  const after = `${"c".repeat(EVENT_FIELD_CAPS.suffix - 1)}😀${"d".repeat(5000)}`;
  const event = shownEvent(input({ document: before + after, offset: before.length }));
  // The cap falls inside each emoji: the half is dropped, not kept.
  assert.equal(event.prefix, "b".repeat(EVENT_FIELD_CAPS.prefix - 1));
  assert.equal(event.suffix, "c".repeat(EVENT_FIELD_CAPS.suffix - 1));
});
