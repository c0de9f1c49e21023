/**
 * The generator model through node-llama-cpp: loads a GGUF file, reads its
 * prompt format from the model (FIM tokens → infill; otherwise its chat
 * template), and generates one completion at a time with cancellation.
 */
import {
  getLlama,
  type Llama,
  LlamaChatSession,
  LlamaCompletion,
  type LlamaContext,
  type LlamaContextSequence,
  LlamaLogLevel,
  type LlamaModel,
  type Token,
} from "node-llama-cpp";
import type { Logger } from "../log/mod.ts";
import { checkGgufFile } from "../models/mod.ts";
import { CancelledError, ModelMissingError } from "../protocol/errors.ts";
import {
  CHAT_SYSTEM_PROMPT,
  chatUserMessage,
  fimPrompt,
  type FimTokens,
  type PromptFormat,
  type PromptInput,
} from "./prompt.ts";

/**
 * Prompt tokens are evaluated in batches of this many, always starting at a
 * multiple of it, and a reused prefix is cut back to such a multiple. Reuse
 * then evaluates exactly the batches a fresh evaluation would, so its output
 * is the same token for token: llama.cpp's CPU kernels round differently for
 * different batch splits, and reusing from an arbitrary token changed late
 * tokens of real completions. 64 evaluates as fast as 512 here (800 tokens:
 * 121 vs 116 tokens/s; 16: 89, 32: 98).
 */
const EVAL_BATCH = 64;

/** How to load the model. */
export interface GeneratorOptions {
  threads: number;
  contextSize: number;
  gpu: "auto" | false;
  log: Logger;
  /** Aborts the load (e.g. the sidecar stops while the model is still loading). */
  signal?: AbortSignal;
  /**
   * llama.cpp's binding, when the caller has it already (the engine gets it
   * first to see whether a GPU is usable, see loadLlama): getting it again
   * would load and test the binary a second time. The generator owns it from
   * here and disposes it.
   */
  llama?: Llama;
}

/** llama.cpp's binding, with a GPU when `gpu` is "auto" and one is usable, logging to `log`. */
export function loadLlama(gpu: "auto" | false, log: Logger): Promise<Llama> {
  return getLlama({
    gpu,
    logLevel: LlamaLogLevel.warn,
    logger: (level, message) => {
      const text = message.trim();
      if (!text) return;
      if (level === LlamaLogLevel.error || level === LlamaLogLevel.fatal) log.error(text);
      else if (level === LlamaLogLevel.warn) log.warn(text);
      else log.debug(text);
    },
  });
}

/** One generation. */
export interface GenerateRequest extends PromptInput {
  maxTokens: number;
  /** Called with the text so far; returning true ends generation early. */
  shouldStop: (text: string) => boolean;
  /** Aborting it cancels the generation at the next token. */
  signal: AbortSignal;
  /** Evaluate the whole prompt again instead of reusing the evaluated prefix (the naive path). */
  fresh?: boolean;
}

/** What came out of a generation. */
export interface Generation {
  /** Raw model output, before post-processing. */
  text: string;
  /** Tokens in the prompt. */
  promptTokens: number;
  /** Prompt tokens the model did not have to evaluate again. */
  reusedTokens: number;
  /** Tokens the model generated. */
  generatedTokens: number;
  /** Time spent in the model. */
  generateMs: number;
}

/** A loaded generator model. Generations run one at a time, in order. */
export class Generator {
  /** How this model is prompted. */
  readonly format: PromptFormat;
  /** The model's own name, from its metadata. */
  readonly modelName: string;
  #llama: Llama;
  #model: LlamaModel;
  #context: LlamaContext;
  #sequence: LlamaContextSequence;
  #queue: Promise<unknown> = Promise.resolve();
  /** Aborted by dispose(): a generation in flight stops at its next batch or token. */
  #closing = new AbortController();
  /** The model's `<|repo_name|>` and `<|file_sep|>` tokens, when it has both. */
  #fimTokens?: FimTokens;

  private constructor(
    llama: Llama,
    model: LlamaModel,
    context: LlamaContext,
  ) {
    this.#llama = llama;
    this.#model = model;
    this.#context = context;
    this.#sequence = context.getSequence();
    const { prefix, suffix, middle } = model.tokens.infill;
    this.modelName = String(model.fileInfo.metadata.general?.name ?? "unknown");
    const single = (text: string) => {
      const tokens = model.tokenize(text, true);
      return tokens.length === 1 ? tokens[0] : undefined;
    };
    const name = single("<|repo_name|>"), fileSeparator = single("<|file_sep|>");
    if (prefix != null && suffix != null && middle != null) {
      this.#fimTokens = {
        prefix,
        suffix,
        middle,
        ...(name !== undefined && fileSeparator !== undefined
          ? { repo: { name, fileSeparator } }
          : {}),
      };
    }
    this.format = this.#fimTokens ? "fim" : "chat";
  }

  /**
   * Loads a GGUF model, once checkGgufFile finds it whole.
   *
   * @throws ModelMissingError naming the file when it is missing, truncated or not GGUF.
   * @throws Error naming the file, with node-llama-cpp's reason, when llama.cpp refuses it.
   */
  static async load(path: string, options: GeneratorOptions): Promise<Generator> {
    const llama = options.llama ?? await loadLlama(options.gpu, options.log);
    try {
      await checkGgufFile(path, llama);
      options.signal?.throwIfAborted();
      const model = await llama.loadModel({ modelPath: path, loadSignal: options.signal });
      const context = await model.createContext({
        contextSize: Math.min(options.contextSize, model.trainContextSize),
        threads: options.threads,
        sequences: 1,
        batchSize: EVAL_BATCH,
        createSignal: options.signal,
      });
      return new Generator(llama, model, context);
    } catch (error) {
      await llama.dispose();
      if (error instanceof ModelMissingError) throw error;
      throw new Error(`Cannot load model ${path}: ${(error as Error).message}`, { cause: error });
    }
  }

  /**
   * Generates a completion. Waits for earlier generations to finish first; a
   * request cancelled while it waits never reaches the model.
   *
   * @throws CancelledError when the signal aborts.
   */
  generate(request: GenerateRequest): Promise<Generation> {
    const signal = AbortSignal.any([request.signal, this.#closing.signal]);
    const run = this.#queue.then(() => this.#generateNow({ ...request, signal }));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #generateNow(request: GenerateRequest): Promise<Generation> {
    if (request.signal.aborted) throw new CancelledError();
    const started = performance.now();
    const stopEarly = new AbortController();
    let text = "";
    const options = {
      maxTokens: request.maxTokens,
      temperature: 0,
      signal: AbortSignal.any([request.signal, stopEarly.signal]),
      stopOnAbortSignal: true,
      onTextChunk: (chunk: string) => {
        text += chunk;
        if (request.shouldStop(text)) stopEarly.abort();
      },
    };
    if (request.fresh) await this.#sequence.clearHistory();
    const meter = this.#sequence.tokenMeter;
    const outputBefore = meter.usedOutputTokens;
    let promptTokens: number;
    let reused = 0;
    if (this.#fimTokens) {
      const prompt = fimPrompt(request, this.#fimTokens, (text) => this.#model.tokenize(text));
      promptTokens = prompt.length;
      reused = await this.#keepAlignedPrefix(prompt);
      await this.#evaluateWholeBatches(prompt, reused, request.signal);
      const completion = new LlamaCompletion({ contextSequence: this.#sequence });
      try {
        text = await completion.generateCompletion(prompt, options);
      } finally {
        completion.dispose();
      }
    } else {
      // A fresh chat per request: completions share nothing but the system prompt.
      await this.#sequence.clearHistory();
      const session = new LlamaChatSession({
        contextSequence: this.#sequence,
        systemPrompt: CHAT_SYSTEM_PROMPT,
        autoDisposeSequence: false,
      });
      try {
        text = await session.prompt(chatUserMessage(request), options);
      } finally {
        session.dispose({ disposeSequence: false });
      }
      const generated = meter.usedOutputTokens - outputBefore;
      promptTokens = Math.max(0, this.#sequence.nextTokenIndex - generated);
    }
    if (request.signal.aborted) throw new CancelledError();
    return {
      text,
      promptTokens,
      generatedTokens: meter.usedOutputTokens - outputBefore,
      reusedTokens: reused,
      generateMs: performance.now() - started,
    };
  }

  /**
   * Keeps the evaluated tokens the prompt starts with, cut back to a multiple
   * of {@link EVAL_BATCH} and short of the prompt's last token (node-llama-cpp
   * evaluates that one again for its logits), and erases the rest.
   *
   * @returns How many prompt tokens are kept evaluated.
   */
  async #keepAlignedPrefix(prompt: Token[]): Promise<number> {
    const cached = this.#sequence.contextTokens;
    let common = 0;
    while (common < cached.length && cached[common] === prompt[common]) common++;
    const keep = Math.floor(Math.min(common, prompt.length - 1) / EVAL_BATCH) * EVAL_BATCH;
    const end = this.#sequence.nextTokenIndex;
    if (keep < end) await this.#sequence.eraseContextTokenRanges([{ start: keep, end }]);
    return keep;
  }

  /**
   * Evaluates the prompt from `from` (a batch boundary) up to its last whole
   * batch, one batch at a time, checking `signal` in between: a newer keystroke
   * stops a long evaluation within a batch, and what was evaluated stays for the
   * next prompt. The batches are the ones a fresh evaluation would make, so the
   * output does not change.
   *
   * @throws CancelledError when the signal aborts between batches.
   */
  async #evaluateWholeBatches(prompt: Token[], from: number, signal: AbortSignal): Promise<void> {
    const end = Math.floor((prompt.length - 1) / EVAL_BATCH) * EVAL_BATCH;
    for (let start = from; start < end; start += EVAL_BATCH) {
      if (signal.aborted) throw new CancelledError();
      await this.#sequence.evaluateWithoutGeneratingNewTokens(
        prompt.slice(start, start + EVAL_BATCH),
      );
    }
  }

  /** Counts a text's tokens, to fit the project context into its budget. */
  countTokens(text: string): number {
    return this.#model.tokenize(text).length;
  }

  /** Stops the generation in flight, then frees the model and the native library. */
  async dispose(): Promise<void> {
    this.#closing.abort();
    // Freeing the context under a running evaluation fails inside node-llama-cpp.
    await this.#queue;
    await this.#context.dispose();
    await this.#model.dispose();
    await this.#llama.dispose();
  }
}
