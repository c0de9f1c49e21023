/**
 * Selective retrieval's choices in the completion pipeline: the file alone
 * first, the project's context only when the model was unsure without it, and
 * never an empty suggestion where the file alone had one. A scripted generator
 * stands in for the model: which answer the real model gives with a given
 * context cannot be chosen, and these are choices about its answers.
 */
import assert from "node:assert/strict";
import { loadConfig } from "../../engine/config/mod.ts";
import type { Generation, Generator, ModelHost } from "../../engine/inference/mod.ts";
import { createLogger } from "../../engine/log/mod.ts";
import { CompletionPipeline } from "../../engine/pipeline.ts";
import type { ContextSource } from "../../engine/retrieval/mod.ts";

type GenerationRequest = Parameters<Generator["generate"]>[0];

/** What the scripted model answers: with the file alone, and with project context. */
interface Script {
  alone: { text: string; min: number };
  withContext: string;
}

/**
 * A pipeline whose model answers by `script`, with the model's pinned threshold
 * when given; `calls` records each generation's request.
 */
function scripted(script: Script, retrieveBelowLogprob?: number) {
  const calls: GenerationRequest[] = [];
  const generator = {
    format: "fim" as const,
    countTokens: (text: string) => Math.ceil(text.length / 4),
    generate: (request: GenerationRequest): Promise<Generation> => {
      calls.push(request);
      const contextual = request.context.length > 0;
      let text = contextual ? script.withContext : script.alone.text;
      const min = contextual ? -0.1 : script.alone.min;
      // As the real generator does: an unsure token ends the generation, itself included.
      if (!contextual && min < (request.stopBelowLogprob ?? -Infinity)) text = text.slice(0, 4);
      return Promise.resolve({
        text,
        promptTokens: 100,
        reusedTokens: 0,
        generatedTokens: 5,
        generateMs: 1,
        shortened: false,
        ...(text ? { logprobs: { mean: min / 2, min } } : {}),
      });
    },
  };
  const models = { ready: () => Promise.resolve(generator) } as unknown as ModelHost;
  const pipeline = new CompletionPipeline(loadConfig(), models, createLogger("test", "error"), {
    retrieveBelowLogprob: () => retrieveBelowLogprob,
  });
  return { pipeline, calls };
}

const source: ContextSource = () =>
  Promise.resolve([{
    id: 7,
    path: "shop/prices.py",
    startLine: 1,
    endLine: 1,
    text: "def total_price(items, tax):",
    score: 0.5,
    kind: "imports" as const,
  }]);

const TEXT = "from shop.prices import total_price\n\nprice = \n";
const input = {
  uri: "file:///app.py",
  path: "app.py",
  languageId: "python",
  text: TEXT,
  position: { line: 2, character: "price = ".length },
  maxLines: 1,
  context: { source, repoName: "shop" },
};
const never = new AbortController().signal;

Deno.test("selective retrieval keeps a sure answer from the file alone, without the context", async () => {
  const { pipeline, calls } = scripted({
    alone: { text: "total_price(cart, 0.2)", min: -0.3 },
    withContext: "never asked",
  });
  const result = await pipeline.complete(input, never);
  assert.equal(result.text, "total_price(cart, 0.2)");
  assert.deepEqual(result.context, []);
  assert.equal(calls.length, 1);
});

Deno.test("selective retrieval asks again with the context when the file alone left the model unsure", async () => {
  const { pipeline, calls } = scripted({
    alone: { text: "compute(cart)", min: -2.5 },
    withContext: "total_price(cart, tax)",
  });
  const result = await pipeline.complete(input, never);
  assert.equal(result.text, "total_price(cart, tax)");
  assert.deepEqual(result.context!.map((chunk) => [chunk.path, chunk.kind]), [
    ["shop/prices.py", "imports"],
  ]);
  assert.equal(calls.length, 2);
});

Deno.test("an empty answer with the context falls back to the file alone's answer, made in full", async () => {
  const { pipeline, calls } = scripted({
    alone: { text: "compute(cart)", min: -2.5 },
    withContext: "",
  });
  const result = await pipeline.complete(input, never);
  // Not the unsure pass's "comp", cut at its unsure token: the file alone's answer made again.
  assert.equal(result.text, "compute(cart)");
  assert.deepEqual(result.context, [], "the context that went unused is not reported");
  assert.equal(calls.length, 3);
  assert.deepEqual(calls.map((call) => call.context.length), [0, 1, 0]);
  assert.equal(calls[2].stopBelowLogprob, undefined);
});

Deno.test("a sure answer naming something seen nowhere, in the file or the context, is asked again with the context", async () => {
  const { pipeline, calls } = scripted({
    alone: { text: "compute_total(cart)", min: -0.2 },
    withContext: "total_price(cart, tax)",
  });
  const result = await pipeline.complete(input, never);
  assert.equal(result.text, "total_price(cart, tax)");
  assert.equal(calls.length, 2);
  // The word typed before the cursor is part of the name: `new_` + `price` is seen nowhere,
  // though `price` is.
  const typed = {
    ...input,
    text: TEXT.replace("price = ", "price = new_"),
    position: { line: 2, character: "price = new_".length },
  };
  const joined = scripted({ alone: { text: "price(cart)", min: -0.2 }, withContext: "total" });
  assert.equal((await joined.pipeline.complete(typed, never)).text, "total");
  assert.equal(joined.calls.length, 2);
});

Deno.test("a model's pinned threshold decides when the context is asked for", async () => {
  const script = { alone: { text: "total_price(cart, 0.2)", min: -0.3 }, withContext: "total" };
  // Sure enough for the pipeline's own threshold, not for a model pinned to want context sooner.
  const pinned = scripted(script, -0.25);
  assert.equal(pinned.pipeline.retrieveBelowLogprob, -0.25);
  assert.equal((await pinned.pipeline.complete(input, never)).text, "total");
  assert.equal(pinned.calls[0].stopBelowLogprob, -0.25);
  assert.equal(pinned.calls.length, 2);
  const unpinned = scripted(script);
  assert.equal((await unpinned.pipeline.complete(input, never)).text, "total_price(cart, 0.2)");
  assert.equal(unpinned.calls.length, 1);
});
