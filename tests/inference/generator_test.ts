/**
 * The generator on tiny generated GGUF models: the prompt format is read from
 * the model, generations are cancellable and run one at a time. Tiny models
 * test the plumbing only; their text is noise.
 */
import assert from "node:assert/strict";
import { Generator } from "../../engine/inference/mod.ts";
import { createLogger } from "../../engine/log/mod.ts";
import { CancelledError, ModelMissingError } from "../../engine/protocol/errors.ts";
import { CHATML_TEMPLATE, tinyLlamaGguf, writeTinyModel } from "../_helpers/gguf_writer.ts";

const log = createLogger("test", "error");
const options = { threads: 1, contextSize: 512, gpu: false as const, log };
const request = {
  prefix: "def x(",
  suffix: ")\n",
  path: "a.py",
  languageId: "python",
  multiline: false,
  context: [],
  repoName: "",
  maxTokens: 8,
  shouldStop: () => false,
};

Deno.test("Generator.load() picks FIM for a model with FIM tokens", async () => {
  const generator = await Generator.load(await writeTinyModel({ fim: true }), options);
  try {
    assert.equal(generator.format, "fim");
    assert.equal(generator.modelName, "tiny-fim");
    const generation = await generator.generate({
      ...request,
      signal: new AbortController().signal,
    });
    // <|fim_prefix|> + prefix + <|fim_suffix|> + suffix + <|fim_middle|>
    assert.ok(generation.promptTokens >= 3 + 2, `prompt tokens: ${generation.promptTokens}`);
    // Noise, but greedy noise: tokens were generated, within the bound, and no FIM token
    // leaked into the text; the same prompt evaluated afresh gives the same text.
    assert.ok(
      generation.generatedTokens > 0 && generation.generatedTokens <= request.maxTokens,
      `generated tokens: ${generation.generatedTokens}`,
    );
    assert.ok(generation.text.length > 0, "the generated tokens decode to text");
    assert.doesNotMatch(generation.text, /<\|fim_/);
    const again = await generator.generate({
      ...request,
      fresh: true,
      signal: new AbortController().signal,
    });
    assert.equal(again.text, generation.text);
    assert.equal(again.reusedTokens, 0);
    // Each token's probability is read: the mean and lowest log-probability are below 0.
    const { mean, min } = generation.logprobs!;
    assert.ok(min <= mean && mean <= 0, `logprobs: ${mean}, ${min}`);
    // Generation ends at the first token less likely than asked for: below 0 is every token.
    assert.ok(generation.generatedTokens > 1, "room to stop early");
    const unsure = await generator.generate({
      ...request,
      stopBelowLogprob: 0,
      signal: new AbortController().signal,
    });
    assert.equal(unsure.generatedTokens, 1);
    assert.equal(unsure.logprobs!.min, unsure.logprobs!.mean);
  } finally {
    await generator.dispose();
  }
});

Deno.test("Generator.generate() cuts a prompt longer than its context to fit it", async () => {
  const generator = await Generator.load(await writeTinyModel({ fim: true }), options);
  try {
    // Within the character bounds, but far more tokens than a 512-token context holds.
    const generation = await generator.generate({
      ...request,
      prefix: "x = [1, 2]\n".repeat(200) + "def x(",
      suffix: ")\n" + "y = 3\n".repeat(200),
      signal: new AbortController().signal,
    });
    assert.ok(
      generation.promptTokens + request.maxTokens <= options.contextSize,
      `prompt tokens: ${generation.promptTokens}`,
    );
    assert.ok(generation.generatedTokens > 0, "it generated");
  } finally {
    await generator.dispose();
  }
});

Deno.test("Generator.load() picks the chat template for a model without FIM tokens", async () => {
  const path = await writeTinyModel({ fim: false, chatTemplate: CHATML_TEMPLATE });
  const generator = await Generator.load(path, options);
  try {
    assert.equal(generator.format, "chat");
    const generation = await generator.generate({
      ...request,
      signal: new AbortController().signal,
    });
    assert.ok(generation.promptTokens > 10, "the chat prompt holds the system and user messages");
  } finally {
    await generator.dispose();
  }
});

Deno.test("Generator.generate() throws CancelledError when aborted before or during generation", async () => {
  const generator = await Generator.load(await writeTinyModel({ fim: true }), options);
  try {
    const before = new AbortController();
    before.abort();
    await assert.rejects(generator.generate({ ...request, signal: before.signal }), CancelledError);
    const during = new AbortController();
    await assert.rejects(
      generator.generate({
        ...request,
        maxTokens: 64,
        signal: during.signal,
        shouldStop: () => {
          during.abort();
          return false;
        },
      }),
      CancelledError,
    );
    // The generator still works after a cancellation.
    const after = await generator.generate({ ...request, signal: new AbortController().signal });
    assert.ok(after.promptTokens > 0);
  } finally {
    await generator.dispose();
  }
});

Deno.test("Generator.generate() runs concurrent requests one after another", async () => {
  const generator = await Generator.load(await writeTinyModel({ fim: true }), options);
  try {
    const finished: number[] = [];
    await Promise.all(
      [1, 2, 3].map((index) =>
        generator.generate({ ...request, signal: new AbortController().signal }).then(() => {
          finished.push(index);
        })
      ),
    );
    assert.deepEqual(finished, [1, 2, 3]);
  } finally {
    await generator.dispose();
  }
});

Deno.test("Generator.load() rejects a file that is not a GGUF model, naming it", async () => {
  const path = await Deno.makeTempFile({ suffix: ".gguf" });
  await Deno.writeTextFile(path, "this is not a model, only a line of text");
  await assert.rejects(
    Generator.load(path, options),
    new ModelMissingError(
      `Model file ${path} is not a GGUF model: it starts with bytes 74 68 69 73, not "GGUF"`,
    ),
  );
});

Deno.test("Generator.load() rejects a truncated model before llama.cpp maps it", async () => {
  const whole = tinyLlamaGguf({ fim: true });
  const path = await Deno.makeTempFile({ suffix: ".gguf" });
  await Deno.writeFile(path, whole.subarray(0, whole.length / 2));
  await assert.rejects(
    Generator.load(path, options),
    new ModelMissingError(
      `Model file ${path} is truncated: ${whole.length / 2} of ${whole.length} bytes`,
    ),
  );
});
