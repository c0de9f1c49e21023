/**
 * What the model is shown after the cursor: on a blank line it is asked for
 * the whole line, newline included, as FIM models were trained.
 */
import assert from "node:assert/strict";
import { modelSuffix } from "../../engine/pipeline.ts";

Deno.test("on a blank line the model's suffix starts at the next line", () => {
  assert.equal(modelSuffix("", "", "\n    return m\n"), "    return m\n");
  assert.equal(modelSuffix("    ", "  ", "  \n    return m\n"), "    return m\n");
});

Deno.test("on a line with text the suffix is kept whole", () => {
  assert.equal(modelSuffix("    m = ", "", "\n    return m\n"), "\n    return m\n");
  assert.equal(modelSuffix("", ")", ")\n    return m\n"), ")\n    return m\n");
});

Deno.test("a blank last line has nothing after it", () => {
  assert.equal(modelSuffix("", "", ""), "");
});
