/**
 * The FIM prompt's token budget, with a tokenizer of one token per character
 * so what was kept can be read back.
 */
import assert from "node:assert/strict";
import type { Token } from "node-llama-cpp";
import { fimPrompt, type PromptInput } from "../../engine/inference/prompt.ts";

const PREFIX = -1 as Token;
const SUFFIX = -2 as Token;
const MIDDLE = -3 as Token;
const REPO = -4 as Token;
const FILE = -5 as Token;
const tokens = {
  prefix: PREFIX,
  suffix: SUFFIX,
  middle: MIDDLE,
  repo: { name: REPO, fileSeparator: FILE },
};
const tokenize = (text: string) => [...text].map((char) => char.codePointAt(0)! as Token);
const text = (list: Token[]) => String.fromCodePoint(...list.filter((token) => token >= 0));

const input: PromptInput = {
  prefix: "0123456789\nabcdefghij\nlet x = ",
  suffix: ";\nKLMNOPQRST\nUVWXYZ",
  path: "a.ts",
  languageId: "typescript",
  multiline: false,
  context: [{ path: "b.ts", text: "export const y = 1;" }],
  repoName: "shop",
};

/** The prompt's parts between its FIM tokens, as text. */
function parts(prompt: Token[]) {
  const at = (token: Token) => prompt.indexOf(token);
  return {
    header: text(prompt.slice(0, at(PREFIX))),
    before: text(prompt.slice(at(PREFIX) + 1, at(SUFFIX))),
    after: text(prompt.slice(at(SUFFIX) + 1, at(MIDDLE))),
    typed: text(prompt.slice(at(MIDDLE) + 1)),
  };
}

Deno.test("fimPrompt: within the budget, the whole prompt, the typed line after the middle token", () => {
  const { tokens: prompt, healed } = fimPrompt(input, tokens, tokenize, "middle", 1000);
  const { header, before, after, typed } = parts(prompt);
  assert.equal(header, "shop\nb.ts\nexport const y = 1;\na.ts\n");
  assert.equal(before, "0123456789\nabcdefghij\n");
  assert.equal(after, input.suffix);
  // The last typed token is left out, for the generator to heal.
  assert.equal(typed + text([healed!]), "let x = ");
});

Deno.test("fimPrompt: over the budget, project context goes first", () => {
  // The token left out for healing counts: the generator may put it back.
  const needed = fimPrompt(input, tokens, tokenize, "middle", 1000).tokens.length + 1;
  const { tokens: prompt } = fimPrompt(input, tokens, tokenize, "middle", needed - 1);
  const { header, before, after } = parts(prompt);
  assert.equal(header, "");
  assert.equal(before, "0123456789\nabcdefghij\n");
  assert.equal(after, input.suffix);
});

Deno.test("fimPrompt: a file over the budget keeps the text nearest the cursor", () => {
  const budget = 38;
  const { tokens: prompt, healed } = fimPrompt(input, tokens, tokenize, "middle", budget);
  const { header, before, after, typed } = parts(prompt);
  assert.ok(prompt.length + 1 <= budget);
  assert.equal(header, "");
  assert.equal(typed + text([healed!]), "let x = ");
  // 38 - 3 FIM tokens - 16 for the typed line (8, in a step of 16) = 19: the suffix keeps its
  // head within a quarter (4), the prefix its tail.
  assert.equal(after, ";\nKL");
  assert.equal(before, "789\nabcdefghij\n");
});

Deno.test("fimPrompt: a cut prompt stays cut where it was while the line is typed", () => {
  const cut = (typed: string) =>
    fimPrompt({ ...input, prefix: input.prefix + typed }, tokens, tokenize, "middle", 38).tokens;
  const head = (prompt: Token[]) => prompt.slice(0, prompt.indexOf(MIDDLE) + 1);
  const first = cut("");
  // "let x = " and up to 8 more characters fit the typed line's step: only the line grows.
  for (const typed of ["1", "1 +", "1 + y.va"]) assert.deepEqual(head(cut(typed)), head(first));
  // Past the step the cut moves, once.
  assert.notDeepEqual(head(cut("1 + y.val")), head(first));
});

Deno.test("fimPrompt: a short prefix leaves its room to the suffix", () => {
  const short = { ...input, prefix: "x = ", context: [] };
  const { tokens: prompt } = fimPrompt(short, tokens, tokenize, "middle", 24);
  const { before, after } = parts(prompt);
  assert.equal(before, "");
  // 24 - 3 FIM tokens - 16 for the typed line (4, in a step of 16) = 5, all of it the suffix's.
  assert.equal(after, input.suffix.slice(0, 5));
});

Deno.test("fimPrompt: a typed line longer than the budget keeps its end", () => {
  const long = { ...input, prefix: `${"a".repeat(50)}b = `, context: [] };
  const { tokens: prompt, healed } = fimPrompt(long, tokens, tokenize, "middle", 20);
  const { before, after, typed } = parts(prompt);
  assert.equal(before + after, "");
  assert.equal(typed + text([healed!]), `${"a".repeat(13)}b = `);
});
