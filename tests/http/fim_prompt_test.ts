/** The FIM prompts editors send, split back into the text before and after the cursor. */
import assert from "node:assert/strict";
import { parseFimPrompt } from "../../engine/http/fim_prompt.ts";

Deno.test("FIM prompts of every layout Zed builds split back into prefix and suffix", () => {
  const prefix = "def add(a, b):\n    return ";
  const suffix = "\n\nprint(add(1, 2))\n";
  const prompts = {
    qwen: `<|fim_prefix|>${prefix}<|fim_suffix|>${suffix}<|fim_middle|>`,
    star_coder: `<fim_prefix>${prefix}<fim_suffix>${suffix}<fim_middle>`,
    code_llama: `<PRE> ${prefix} <SUF>${suffix} <MID>`,
    deepseek_coder: `<｜fim▁begin｜>${prefix}<｜fim▁hole｜>${suffix}<｜fim▁end｜>`,
    glm: `<|code_prefix|>${prefix}<|code_suffix|>${suffix}<|code_middle|>`,
    codestral: `[SUFFIX]${suffix}[PREFIX]${prefix}`,
  };
  for (const [format, prompt] of Object.entries(prompts)) {
    assert.deepEqual(parseFimPrompt(prompt), { format, prefix, suffix }, format);
  }
  assert.deepEqual(
    parseFimPrompt(
      `<|repo_name|>shop\n<|file_sep|>a.py\n<|fim_prefix|>x = <|fim_suffix|><|fim_middle|>`,
    ),
    { format: "qwen", prefix: "x = ", suffix: "" },
    "a repository header before the FIM part is dropped",
  );
  assert.deepEqual(parseFimPrompt("plain text"), {
    format: "plain",
    prefix: "plain text",
    suffix: "",
  });
});
