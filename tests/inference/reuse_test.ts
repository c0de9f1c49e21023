/**
 * The real default model behind the completion pipeline: the evaluated prefix
 * is reused between keystrokes without changing a single token of output,
 * typing through a suggestion needs no model, and a keystroke storm leaves
 * only the latest request running.
 */
import assert from "node:assert/strict";
import { loadConfig } from "../../engine/config/mod.ts";
import { CancelledError } from "../../engine/protocol/errors.ts";
import { createLogger } from "../../engine/log/mod.ts";
import type { CompletionInput } from "../../engine/pipeline.ts";
import type { ContextSource } from "../../engine/retrieval/mod.ts";
import { createEngine } from "../../engine/engine.ts";

const log = createLogger("test", "error");
const config = loadConfig();
const engine = createEngine(config, log);
const { models: host, pipeline } = engine;
host.start();

const BEFORE = `import math


def square_area(side: float) -> float:
    """The area of a square."""
    return side * side


def rectangle_area(width: float, height: float) -> float:
    """The area of a rectangle."""
    return width * height


def triangle_area(base: float, height: float) -> float:
    """The area of a triangle."""
    return base * height / 2


def circle_area(radius: float) -> float:
    """The area of a circle."""
    return math.pi * radius ** 2


def ring_area(outer: float, inner: float) -> float:
    """The area between two circles."""
    return `;
const AFTER = `\n\n\nprint(ring_area(2.0, 1.0))\n`;

/** The document with `typed` written at the cursor, completed there. */
function at(uri: string, typed: string, extra: Partial<CompletionInput> = {}): CompletionInput {
  const before = BEFORE + typed;
  const lines = before.split("\n");
  return {
    uri,
    path: "geometry.py",
    languageId: "python",
    text: before + AFTER,
    position: { line: lines.length - 1, character: lines.at(-1)!.length },
    maxLines: 1,
    ...extra,
  };
}

const never = new AbortController().signal;

/** `input` with `header` as a line of its own at the top: a prompt the model has not evaluated. */
function headed(header: string, input: CompletionInput): CompletionInput {
  const { line, character } = input.position;
  return { ...input, text: `${header}\n${input.text}`, position: { line: line + 1, character } };
}

/** Runs `body` with the first suggestion's budget at `ms`. */
async function withFirstSuggestionMs<T>(ms: number, body: () => Promise<T>): Promise<T> {
  const budget = config.completion.firstSuggestionMs;
  config.completion.firstSuggestionMs = ms;
  try {
    return await body();
  } finally {
    config.completion.firstSuggestionMs = budget;
  }
}

Deno.test("a completion that reuses the evaluated prefix to a batch boundary equals one evaluated afresh", async () => {
  await host.ready(never, 120_000);
  await pipeline.complete(at("file:///reuse.py", "", { reuse: "batch" }), never);
  const reused = await pipeline.complete(
    at("file:///reuse.py", "circle", { reuse: "batch" }),
    never,
  );
  const fresh = await pipeline.complete(at("file:///reuse.py", "circle", { fresh: true }), never);
  assert.ok(
    reused.timings.reusedTokens > reused.timings.promptTokens * 0.5,
    `reused ${reused.timings.reusedTokens} of ${reused.timings.promptTokens}`,
  );
  assert.equal(fresh.timings.reusedTokens, 0);
  assert.equal(fresh.timings.promptTokens, reused.timings.promptTokens);
  assert.ok(reused.text, "a suggestion was made");
  assert.equal(reused.text, fresh.text);
});

Deno.test("steady typing deep in a file reuses nearly all of the prompt at every key", async () => {
  await host.ready(never, 120_000);
  // Enough code above the cursor that the prompt window is cut, placed so that the cut's
  // 256-character step is not crossed while typing: the window's start stays put.
  const filler = Array.from(
    { length: 40 },
    (_, index) => `def helper_${index}(value: float) -> float:\n    return value * ${index}\n\n\n`,
  ).join("");
  const step = 256;
  const overflow = filler.length + BEFORE.length - config.completion.maxPrefixChars;
  const padding = `# ${"-".repeat((((10 - 3 - overflow) % step) + step) % step)}\n`;
  const line = "math.pi * (outer ** 2 - inner ** 2)";
  const shares: number[] = [];
  for (let key = 0; key <= 24; key++) {
    const input = at("file:///steady.py", line.slice(0, key), { useCache: false });
    input.text = filler + padding + input.text;
    input.position.line += (filler + padding).split("\n").length - 1;
    const result = await pipeline.complete(input, never);
    if (key > 0) shares.push(result.timings.reusedTokens / result.timings.promptTokens);
  }
  assert.ok(
    shares.every((share) => share >= 0.9),
    `reused shares: ${shares.map((s) => s.toFixed(2))}`,
  );
});

Deno.test("with the typed line after the middle token a key only appends, and the cut token is healed", async () => {
  await host.ready(never, 120_000);
  const middle = { layout: "middle" as const, useCache: false };
  const line = "math.pi * (outer ** 2 - inner ** 2)";
  let previous: number | undefined;
  for (let key = 1; key <= 10; key++) {
    const result = await pipeline.complete(
      at("file:///middle.py", line.slice(0, key), middle),
      never,
    );
    const evaluated = result.timings.promptTokens - result.timings.reusedTokens;
    // The prompt grows by what was typed; at most the healed token and the new one are evaluated.
    if (previous !== undefined) {
      assert.ok(
        evaluated <= 3,
        `key ${key}: ${evaluated} of ${result.timings.promptTokens} evaluated`,
      );
      assert.ok(result.timings.promptTokens >= previous, `key ${key}: the prompt only grows`);
    }
    previous = result.timings.promptTokens;
  }
  // "math.p" is cut inside `pi`: the healed suggestion goes on from `p` (`i * ...`), it does
  // not start a new word after it.
  const healed = await pipeline.complete(at("file:///middle.py", "math.p", middle), never);
  assert.match(healed.text, /^i\b/, JSON.stringify(healed.text));
  const words = await pipeline.complete(at("file:///middle.py", "math.pi * (out", middle), never);
  assert.match(words.text, /^er\b/, JSON.stringify(words.text));
  // Lines left unfinished above (`items = `, `total = `) invite the healed " " to become " \n",
  // ending the line being typed; a healed token never ends the line.
  const shop = await Deno.readTextFile(
    new URL("../fixtures/shop/app.py", import.meta.url),
  );
  const unfinished = await host.generator!.generate({
    prefix: `${shop.trimEnd()}\n    items = \n    total = \n    tax = `,
    suffix: "\n",
    path: "app.py",
    languageId: "python",
    multiline: false,
    context: [],
    repoName: "",
    maxTokens: 12,
    shouldStop: () => false,
    layout: "middle",
    signal: never,
  });
  assert.match(unfinished.text, /^\S/, JSON.stringify(unfinished.text));
});

Deno.test("a cancel stops a long prompt evaluation between batches", async () => {
  await host.ready(never, 120_000);
  const filler = Array.from(
    { length: 60 },
    (_, index) => `def scale_${index}(value: float) -> float:\n    return value * ${index}\n\n\n`,
  ).join("");
  const long = (uri: string) => {
    const input = at(uri, "", { fresh: true });
    input.text = filler + input.text;
    input.position.line += filler.split("\n").length - 1;
    return input;
  };
  let started = performance.now();
  await pipeline.complete(long("file:///whole.py"), never);
  const whole = performance.now() - started;
  const controller = new AbortController();
  started = performance.now();
  const cancelled = pipeline.complete(long("file:///cancelled.py"), controller.signal);
  setTimeout(() => controller.abort(), 50);
  await assert.rejects(cancelled, CancelledError);
  const stoppedAfter = performance.now() - started;
  assert.ok(
    stoppedAfter < whole / 2,
    `stopped after ${Math.round(stoppedAfter)} ms; the whole evaluation takes ${
      Math.round(whole)
    } ms`,
  );
});

Deno.test("typing the start of a suggestion returns the rest without the model", async () => {
  await host.ready(never, 120_000);
  const first = await pipeline.complete(at("file:///through.py", ""), never);
  const shown = first.text ?? "";
  assert.ok(shown.length > 3, `a suggestion to type through: ${JSON.stringify(shown)}`);
  assert.equal(first.timings.cached, false);
  const typed = shown.slice(0, 3);
  const next = await pipeline.complete(at("file:///through.py", typed), never);
  assert.equal(next.timings.cached, true);
  assert.equal(next.timings.generateMs, 0);
  assert.equal(next.text, shown.slice(3));
  const other = await pipeline.complete(at("file:///through.py", `${typed}q`), never);
  assert.equal(other.timings.cached, false, "typing something else asks the model");
});

Deno.test("a keystroke storm ends with the latest request answered and the rest cancelled", async () => {
  await host.ready(never, 120_000);
  const line = "math.pi * (outer ** 2 - inner ** 2)  # the outer circle less the inner one";
  const outcomes: Promise<"answered" | "cancelled">[] = [];
  for (let key = 1; key <= 50; key++) {
    outcomes.push(
      pipeline.complete(at("file:///storm.py", line.slice(0, key)), never).then(
        () => "answered",
        (error) => {
          if (error instanceof CancelledError) return "cancelled";
          throw error;
        },
      ),
    );
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const results = await Promise.all(outcomes);
  assert.equal(results.at(-1), "answered");
  const cancelled = results.filter((outcome) => outcome === "cancelled").length;
  assert.ok(cancelled >= 45, `${cancelled} of 49 superseded requests were cancelled`);
});

Deno.test("a prefetched completion answers the request at its cursor; another request cancels it", async () => {
  await host.ready(never, 120_000);
  const fresh = await pipeline.complete(at("file:///fresh.py", "", { fresh: true }), never);
  // In full at once: a slow host would make a quick one first (tested below).
  pipeline.prefetch(at("file:///ahead.py", "", { fresh: true }), 0);
  await new Promise((resolve) => setTimeout(resolve, 50));
  // The request arrives while the prefetch is still being made: it waits for it, not again.
  const joined = await pipeline.complete(at("file:///ahead.py", ""), never);
  assert.equal(joined.timings.prefetched, true);
  assert.equal(joined.text, fresh.text, "the same completion as one made on request");
  assert.ok(joined.timings.generateMs > 0, "the timings say what making it cost");

  pipeline.prefetch(at("file:///elsewhere.py", "", { fresh: true }), 0);
  // Made in full, as a fast host makes it (the next test has the quick one).
  const other = await withFirstSuggestionMs(
    0,
    () => pipeline.complete(at("file:///other.py", "circle"), never),
  );
  assert.equal(other.timings.prefetched, undefined);
  // The cancelled prefetch left nothing behind: its own request is made anew.
  const after = await pipeline.complete(at("file:///elsewhere.py", ""), never);
  assert.equal(after.timings.prefetched, undefined);
  assert.equal(after.timings.cached, false);
});

Deno.test("a prefetch the model cannot evaluate in time is answered first from the prompt nearest the cursor, then in full", async () => {
  await host.ready(never, 120_000);
  // Measures the model's rate, and makes the full completion to compare with.
  const full = await pipeline.complete(at("file:///full.py", "", { fresh: true }), never);
  pipeline.prefetch(at("file:///quick.py", "", { fresh: true }), 1);
  const quick = await pipeline.complete(at("file:///quick.py", ""), never);
  assert.equal(quick.timings.prefetched, true);
  assert.equal(quick.timings.shortened, true);
  // 1 ms affords the fewest tokens a shortened prompt keeps.
  assert.ok(quick.timings.promptTokens <= 64, `${quick.timings.promptTokens} prompt tokens`);
  assert.ok(full.timings.promptTokens > 64, `${full.timings.promptTokens} prompt tokens in full`);
  assert.equal(full.timings.shortened, undefined, "a request is never shortened");
  // The full one went on in the background: the same cursor asked again waits for it.
  const again = await pipeline.complete(at("file:///quick.py", ""), never);
  assert.equal(again.timings.prefetched, true);
  assert.equal(again.timings.shortened, undefined);
  assert.equal(again.text, full.text);
  assert.equal(again.timings.promptTokens, full.timings.promptTokens);

  // A key typed before a prefetch is ready: its request is made quick the same way, and its full
  // completion goes on in the background. A line more at the top: a prompt not evaluated yet.
  const elsewhere = (uri: string, typed: string, extra: Partial<CompletionInput> = {}) =>
    headed("# Areas.", at(uri, typed, extra));
  await withFirstSuggestionMs(1, async () => {
    pipeline.prefetch(elsewhere("file:///typed.py", "", { fresh: true }));
    const typed = await pipeline.complete(elsewhere("file:///typed.py", "c"), never);
    assert.equal(typed.timings.prefetched, undefined);
    assert.equal(typed.timings.shortened, true);
    const typedAgain = await pipeline.complete(elsewhere("file:///typed.py", "c"), never);
    assert.equal(typedAgain.timings.prefetched, true);
    assert.equal(typedAgain.timings.shortened, undefined);
    const typedFull = await pipeline.complete(
      elsewhere("file:///typed-full.py", "c", { fresh: true }),
      never,
    );
    assert.equal(typedAgain.timings.promptTokens, typedFull.timings.promptTokens);
  });
});

Deno.test("keys typed before the full completion is ready are answered quick, from the same cut prompt", async () => {
  await host.ready(never, 120_000);
  // Measures the model's rate elsewhere.
  await pipeline.complete(at("file:///rate.py", "", { fresh: true }), never);
  const keyed = (typed: string) => headed("# Keyed.", at("file:///keyed.py", typed));
  await withFirstSuggestionMs(1, async () => {
    pipeline.prefetch({ ...keyed(""), fresh: true });
    const first = await pipeline.complete(keyed("circle"), never);
    // Not typed through from the cache: the model answers.
    const second = await pipeline.complete({ ...keyed("circle_area("), useCache: false }, never);
    assert.equal(first.timings.shortened, true);
    assert.equal(second.timings.shortened, true);
    // Only the typed line grew (by tokens, too): the rest of the cut prompt is the one evaluated
    // at the key before.
    const { promptTokens, reusedTokens } = second.timings;
    assert.ok(reusedTokens >= promptTokens - 8, `${reusedTokens} of ${promptTokens} reused`);
  });
});

Deno.test("a newer request for the document cancels one waiting for the full completion", async () => {
  await host.ready(never, 120_000);
  const waited = (typed: string) => headed("# Waited.", at("file:///waited.py", typed));
  // Measures the model's rate elsewhere.
  await pipeline.complete(at("file:///rate.py", "", { fresh: true }), never);
  await withFirstSuggestionMs(1, async () => {
    pipeline.prefetch({ ...waited(""), fresh: true });
    const quick = await pipeline.complete(waited(""), never);
    assert.equal(quick.timings.shortened, true);
    // Asked again for the full one, then a key typed: the wait gives way, and the key still finds
    // the full one being made, cancels it and is answered quick, as a key typed with no one waiting.
    const waiting = assert.rejects(pipeline.complete(waited(""), never), CancelledError);
    const typed = await pipeline.complete({ ...waited("c"), useCache: false }, never);
    await waiting;
    assert.equal(typed.timings.cached, false);
    assert.equal(typed.timings.prefetched, undefined);
    assert.equal(typed.timings.shortened, true);
  });
});

Deno.test("typing on a line keeps its project context; a new name, a new line or a changed index looks again", async () => {
  await host.ready(never, 120_000);
  const looked: string[] = [];
  // A pick that changes at every key, as a search by the line's text would.
  const source: ContextSource = (query) => {
    looked.push(query.linePrefix);
    const key = query.linePrefix.length;
    return Promise.resolve([{
      id: -1,
      path: `shapes_${key}.py`,
      startLine: 1,
      endLine: 1,
      text: `def shape_${key}(size: float) -> float: ...`,
      score: 0.5,
      kind: "similar" as const,
    }]);
  };
  const context = { source, repoName: "geometry" };
  const typing = (typed: string) =>
    pipeline.complete(
      at("file:///sticky.py", typed, { useCache: false, retrieval: "always", context }),
      never,
    );
  const line = "math.pi * (outer";
  const paths: string[] = [];
  for (let key = 0; key <= line.length; key++) {
    const result = await typing(line.slice(0, key));
    paths.push(result.context!.map((chunk) => chunk.path).join());
    if (key > 0 && key !== "math.".length) {
      const evaluated = result.timings.promptTokens - result.timings.reusedTokens;
      // The key's own tokens and the short suffix after them (AFTER, about 15 tokens) are
      // evaluated again; the context and the file before them stay evaluated.
      assert.ok(evaluated <= 32, `key ${key}: ${evaluated} prompt tokens evaluated again`);
    }
  }
  // Looked up where the line began and once more when it reached into `math.`.
  assert.deepEqual(looked, ["    return ", "    return math."]);
  assert.deepEqual(new Set(paths), new Set(["shapes_11.py", "shapes_16.py"]));
  await pipeline.complete(
    at("file:///sticky.py", line, {
      useCache: false,
      retrieval: "always",
      context: { ...context, version: 1 },
    }),
    never,
  );
  assert.equal(looked.length, 3, "a change to the index looks again");
  const next = await pipeline.complete(
    at("file:///sticky.py", `${line})\n    `, {
      useCache: false,
      retrieval: "always",
      context: { ...context, version: 1 },
    }),
    never,
  );
  assert.equal(looked.at(-1), "    ", "a new line looks again");
  // What stayed in the prompt keeps its place, the new pick comes after it.
  assert.deepEqual(next.context!.map((chunk) => chunk.path), ["shapes_4.py"]);
});

Deno.test({
  name: "the model is freed",
  fn: () => engine.close(),
  sanitizeResources: false,
  sanitizeOps: false,
});
