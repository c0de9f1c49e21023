/** The configuration read from AST_COMPLETE_* variables: a value out of range keeps the default. */
import assert from "node:assert/strict";
import { loadConfig } from "../../engine/config/mod.ts";

/** The quick first suggestion's budget with AST_COMPLETE_FIRST_SUGGESTION_MS set to `value`. */
function firstSuggestionMs(value: string | undefined): number {
  const name = "AST_COMPLETE_FIRST_SUGGESTION_MS";
  const before = Deno.env.get(name);
  try {
    if (value === undefined) Deno.env.delete(name);
    else Deno.env.set(name, value);
    return loadConfig().completion.firstSuggestionMs;
  } finally {
    if (before === undefined) Deno.env.delete(name);
    else Deno.env.set(name, before);
  }
}

Deno.test("the first suggestion's budget comes from the environment; 0 turns it off, nonsense keeps the default", () => {
  assert.equal(firstSuggestionMs(undefined), 1000);
  assert.equal(firstSuggestionMs("0"), 0);
  assert.equal(firstSuggestionMs("1500"), 1500);
  assert.equal(firstSuggestionMs("-5"), 1000);
  assert.equal(firstSuggestionMs("soon"), 1000);
  assert.equal(firstSuggestionMs(""), 1000, "set but empty");
});
