/**
 * The smoke run of `deno task bench humaneval-fim` that CI keeps, and the
 * guard it carries: on HumanEval's single-line infilling problems the engine
 * must match the first line at least as often as a bare call of its own model
 * with the native FIM prompt, cut at its first line as published harnesses do.
 * The engine once scored below it (0.36 vs 0.46 on 80 problems): the cursor's
 * own newline in the suffix, and a suffix cut at 300 characters.
 */
import assert from "node:assert/strict";
import { createLogger } from "../../engine/log/mod.ts";
import { humanevalFim } from "../../scripts/bench/humaneval.ts";

interface Scores {
  pass1: number;
  exactMatch: number;
  exactMatchTrimmed: number;
}

Deno.test("the engine's first-line exact match is not below the bare model's", async () => {
  const report = await humanevalFim({
    limit: 24,
    sets: ["single"],
    log: createLogger("test", "error"),
  });
  const single = report.single as {
    problems: number;
    canonicalPass: number;
    engine: Scores;
    bareModel: Scores;
    lostToBare: unknown[];
  };
  assert.equal(single.problems, 24);
  // The harness works: every canonical solution passes its tests.
  assert.equal(single.canonicalPass, 24);
  assert.ok(
    single.engine.exactMatchTrimmed >= single.bareModel.exactMatchTrimmed,
    `engine ${single.engine.exactMatchTrimmed} < bare ${single.bareModel.exactMatchTrimmed}; ` +
      `lost: ${JSON.stringify(single.lostToBare)}`,
  );
  assert.ok(single.engine.pass1 >= single.bareModel.pass1);
});
