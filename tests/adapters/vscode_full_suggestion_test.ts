/**
 * The VS Code extension's full suggestion after a quick one, outside VS Code:
 * when it asks again, when it has the editor show the full answer, and when
 * it drops it because the editor moved on.
 */
import assert from "node:assert/strict";
import { FullSuggestion, type Place } from "../../adapters/vscode/src/full_suggestion.ts";
import type { CompleteRequest } from "../../engine/protocol/mod.ts";

const PLACE: Place = { uri: "file:///p/a.py", version: 3, line: 4, character: 8 };

function result(id: string, text: string | undefined, shortened = false): CompleteRequest.Result {
  const at = { line: PLACE.line, character: PLACE.character };
  return {
    id,
    items: text === undefined ? [] : [{ text, range: { start: at, end: at } }],
    timings: {
      astMs: 0,
      retrieveMs: 0,
      promptMs: 0,
      generateMs: 0,
      totalMs: 0,
      promptTokens: 0,
      reusedTokens: 0,
      generatedTokens: 0,
      cached: false,
      ...(shortened ? { shortened } : {}),
    },
  };
}

/** A FullSuggestion whose asks are answered by hand. */
function setup() {
  const asks: {
    place: Place;
    signal: AbortSignal;
    answer(result: CompleteRequest.Result): void;
    fail(error: Error): void;
  }[] = [];
  const reshown: Place[] = [];
  const full = new FullSuggestion({
    ask: (place, signal) =>
      new Promise((resolve, reject) => asks.push({ place, signal, answer: resolve, fail: reject })),
    reshow: (place) => reshown.push(place),
  });
  return { asks, reshown, full };
}

/** Lets the ask's settlement reach the FullSuggestion. */
const settled = () => new Promise((resolve) => setTimeout(resolve, 0));

Deno.test("full suggestion: a different full answer is shown in place of the quick one", async () => {
  const { asks, reshown, full } = setup();
  full.quick(PLACE, { id: "q", text: "return" });
  assert.equal(asks.length, 1);
  assert.deepEqual(asks[0].place, PLACE);
  assert.equal(full.take(PLACE), undefined, "nothing to show before the answer");
  asks[0].answer(result("f", "return width * height"));
  await settled();
  assert.deepEqual(reshown, [PLACE]);
  const answer = full.take(PLACE);
  assert.equal(answer?.result.id, "f");
  assert.equal(answer?.replaces, "q");
  assert.equal(full.take(PLACE), undefined, "taken once");
});

Deno.test("full suggestion: nothing is reshown when the full answer adds nothing", async (t) => {
  for (
    const [name, answer] of [
      ["the same text", result("f", "return")],
      ["no suggestion", result("f", undefined)],
      ["shortened again", result("f", "return x", true)],
    ] as const
  ) {
    await t.step(name, async () => {
      const { asks, reshown, full } = setup();
      full.quick(PLACE, { id: "q", text: "return" });
      asks[0].answer(answer);
      await settled();
      assert.deepEqual(reshown, []);
      assert.equal(full.take(PLACE), undefined);
    });
  }
  await t.step("the sidecar failed or cancelled the ask", async () => {
    const { asks, reshown, full } = setup();
    full.quick(PLACE, { id: "q", text: "return" });
    asks[0].fail(new Error("Request cancelled"));
    await settled();
    assert.deepEqual(reshown, []);
    assert.equal(full.take(PLACE), undefined);
  });
});

Deno.test("full suggestion: a quick answer with nothing worth showing still gets its full one", async () => {
  const { asks, reshown, full } = setup();
  full.quick(PLACE, undefined);
  asks[0].answer(result("f", "return width * height"));
  await settled();
  assert.equal(reshown.length, 1);
  const answer = full.take(PLACE);
  assert.equal(answer?.result.id, "f");
  assert.equal(answer?.replaces, undefined);
});

Deno.test("full suggestion: the editor moving on cancels the ask and drops the answer", async (t) => {
  const typed = { ...PLACE, version: PLACE.version + 1, character: PLACE.character + 1 };
  await t.step("a key typed while asking: the ask is aborted, nothing is reshown", async () => {
    const { asks, reshown, full } = setup();
    full.quick(PLACE, { id: "q", text: "return" });
    full.left({ ...PLACE });
    assert.equal(asks[0].signal.aborted, false, "still at the place");
    full.left(typed);
    assert.equal(asks[0].signal.aborted, true);
    asks[0].answer(result("f", "return width * height"));
    await settled();
    assert.deepEqual(reshown, []);
    assert.equal(full.take(PLACE), undefined);
  });
  await t.step("another editor after the answer came: it is not shown", async () => {
    const { asks, full } = setup();
    full.quick(PLACE, { id: "q", text: "return" });
    asks[0].answer(result("f", "return width * height"));
    await settled();
    full.left(undefined);
    assert.equal(full.take(PLACE), undefined);
  });
  await t.step("asked at another place: not shown there, gone once the editor left", async () => {
    const { asks, full } = setup();
    full.quick(PLACE, { id: "q", text: "return" });
    asks[0].answer(result("f", "return width * height"));
    await settled();
    assert.equal(full.take(typed), undefined);
    full.left(typed);
    assert.equal(full.take(PLACE), undefined);
  });
  await t.step("a newer quick answer replaces the one asked for", async () => {
    const { asks, reshown, full } = setup();
    full.quick(PLACE, { id: "q1", text: "return" });
    full.quick(typed, { id: "q2", text: "x" });
    assert.equal(asks[0].signal.aborted, true);
    asks[0].answer(result("f1", "return width * height"));
    asks[1].answer(result("f2", "x * 2"));
    await settled();
    assert.deepEqual(reshown, [typed]);
    assert.equal(full.take(typed)?.replaces, "q2");
  });
});
