/**
 * The generator model through node-llama-cpp: loads a GGUF file, reads its
 * prompt format from the model (FIM tokens → infill; otherwise its chat
 * template), and generates one completion at a time with cancellation.
 */
import {
  getLlama,
  type Llama,
  LlamaChatSession,
  type LlamaContext,
  type LlamaContextOptions,
  type LlamaContextSequence,
  LlamaLogLevel,
  type LlamaModel,
  type Token,
  TokenBias,
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
  type PromptLayout,
} from "./prompt.ts";
import { TokenTexts } from "./token_texts.ts";

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

/**
 * "batch": the evaluated prefix is reused up to a batch boundary, so the
 * output is token for token what a fresh evaluation gives (up to 63 tokens
 * evaluated again per keystroke). "token": as llama.cpp's server reuses it
 * with `--cache-reuse`: up to the first token that differs, then runs of at
 * least {@link REUSE_MIN_RUN} evaluated tokens found further on, shifted
 * into place (a project chunk that left the prompt costs only its removal);
 * the output may differ from a fresh evaluation's in late tokens.
 */
export type PrefixReuse = "batch" | "token";

/**
 * The reuse completions get unless they ask otherwise. `deno task bench
 * latency` (109 keystrokes of 3 lines, both arms in one run): "token"
 * answered a key in 683 ms median against "batch"'s 864 ms (p95 1,788 vs
 * 2,125), reused 80% of prompt tokens against 71%, and wrote the exact rest
 * of the line as often (22 and 21 of 109); its suggestion differed from a
 * fresh evaluation's on 7 of 109 keys.
 */
const REUSE_DEFAULT: PrefixReuse = "token";

/**
 * Where FIM prompts put the typed part of the cursor's line unless a request
 * says otherwise. `deno task bench suffix --layouts prefix,middle` (trpc-server,
 * 6 lines, 201 keys, both arms in one run): "middle" answered a key in 304 ms
 * median against 1,312 (p95 1,655 vs 3,261), reused 96.7% of prompt tokens
 * against 67.2%, got the first identifier right 115 times of 195 against 102
 * and the exact rest of the line 31 times of 201 against 30. Without token
 * healing it had got the first identifier right only 15% of the time.
 */
const LAYOUT_DEFAULT: PromptLayout = "middle";

/**
 * Added to the logits of the tokens a healed prompt allows first: far above
 * any logit's range, and the same for all, so greedy decoding picks the
 * likeliest of them.
 */
const HEALING_LOGIT = 1e4;

/**
 * What a healed first token may not go on with: the end of the line. The
 * user is typing on it; a token such as " \n" would end it where they are,
 * which a line whose earlier siblings were left unfinished invites.
 */
const ENDS_LINE = /^[ \t]*\r?\n/;

/** The shortest run of evaluated tokens "token" reuse shifts into a new place. */
const REUSE_MIN_RUN = 64;

/** The fewest tokens a shortened prompt keeps: less leaves the model nothing to go on. */
const SHORTENED_MIN_TOKENS = 64;

/** A shortened prompt's size moves in steps of this many tokens (see #affordableTokens). */
const AFFORDABLE_STEP = 32;

/** How much each whole batch's evaluation moves the measured rate (an exponential average). */
const RATE_WEIGHT = 0.25;

/**
 * Evaluated prompts kept at once, one per sequence of the context: the
 * in-file prompt and the one with project context (the pipeline tries the
 * first before paying for the second), and a recently left document.
 */
const SLOTS = 3;

/** How to load the model. */
export interface GeneratorOptions {
  threads: number;
  /** Tokens each evaluated prompt may hold (each slot has its own). */
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
  /**
   * Ends generation at the first token less likely than this (a natural-log
   * probability): the caller only wanted a completion the model is sure of.
   * Not applied to a shortened prompt, which the caller has no better prompt for.
   */
  stopBelowLogprob?: number;
  /** Aborting it cancels the generation at the next token. */
  signal: AbortSignal;
  /** Evaluate the whole prompt again instead of reusing the evaluated prefix (the naive path). */
  fresh?: boolean;
  /** How much of the evaluated prefix to reuse (default REUSE_DEFAULT); see PrefixReuse. */
  reuse?: PrefixReuse;
  /** A LoRA adapter (GGUF) to generate with; none means the base model alone. */
  adapter?: string;
  /** Where the typed part of the cursor's line goes (default LAYOUT_DEFAULT); see PromptLayout. */
  layout?: PromptLayout;
  /**
   * The longest the prompt's evaluation may take, at the rate the model has
   * evaluated prompts so far: when the part no slot holds would take longer,
   * the prompt keeps only the tokens nearest the cursor that fit (the project
   * context goes first), and the generation says it was `shortened`.
   */
  maxPromptMs?: number;
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
  /** Made from the part of the prompt nearest the cursor, to keep within `maxPromptMs`. */
  shortened: boolean;
  /**
   * The mean and lowest natural-log probability of the generated tokens, as the
   * model gave them: how sure it was. Absent for chat models and empty output.
   */
  logprobs?: { mean: number; min: number };
}

/** A sequence of the context and when a generation last used it. */
interface Slot {
  sequence: LlamaContextSequence;
  usedAt: number;
}

/** A loaded generator model. Generations run one at a time, in order. */
export class Generator {
  /** How this model is prompted. */
  readonly format: PromptFormat;
  /** The model's own name, from its metadata. */
  readonly modelName: string;
  /** Its architecture, from its metadata (e.g. "qwen2"). */
  readonly architecture: string;
  #llama: Llama;
  #model: LlamaModel;
  #context: LlamaContext;
  #contextOptions: LlamaContextOptions;
  /** The LoRA adapter the context applies, if any. */
  #adapter?: string;
  /** Adapters llama.cpp would not load: requests for them get the base model. */
  #refusedAdapters = new Set<string>();
  #log: Logger;
  #slots: Slot[];
  #queue: Promise<unknown> = Promise.resolve();
  /** Aborted by dispose(): a generation in flight stops at its next batch or token. */
  #closing = new AbortController();
  /** The model's `<|repo_name|>` and `<|file_sep|>` tokens, when it has both. */
  #fimTokens?: FimTokens;
  /** Each ordinary token's text, read once the first prompt needs healing. */
  #tokenTexts?: TokenTexts;
  /** Milliseconds per prompt token, as whole batches were evaluated; unknown before the first. */
  #msPerPromptToken?: number;

  private constructor(
    llama: Llama,
    model: LlamaModel,
    context: LlamaContext,
    contextOptions: LlamaContextOptions,
    log: Logger,
  ) {
    this.#log = log;
    this.#llama = llama;
    this.#model = model;
    this.#context = context;
    this.#contextOptions = contextOptions;
    this.#slots = slotsOf(context);
    const { prefix, suffix, middle } = model.tokens.infill;
    this.modelName = String(model.fileInfo.metadata.general?.name ?? "unknown");
    this.architecture = String(model.fileInfo.metadata.general?.architecture ?? "unknown");
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
      // Read, not mapped: llama.cpp repacks most weights for the CPU into memory of its own, and
      // the mapped file's pages it read them from stayed resident beside them. An engine serving
      // 20 completions in trpc-server peaked at 1,187 MB of RSS against 1,365 MB mapped.
      const model = await llama.loadModel({
        modelPath: path,
        useMmap: false,
        loadSignal: options.signal,
      });
      const contextOptions: LlamaContextOptions = {
        contextSize: Math.min(options.contextSize, model.trainContextSize),
        threads: options.threads,
        sequences: SLOTS,
        batchSize: EVAL_BATCH,
      };
      const context = await model.createContext({
        ...contextOptions,
        createSignal: options.signal,
      });
      return new Generator(llama, model, context, contextOptions, options.log);
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
    const adapter = request.adapter && !this.#refusedAdapters.has(request.adapter)
      ? request.adapter
      : undefined;
    if (adapter !== this.#adapter) await this.#applyAdapter(adapter);
    const generated = this.#fimTokens
      ? await this.#infill(request, this.#fimTokens)
      : await this.#chat(request);
    if (request.signal.aborted) throw new CancelledError();
    return { ...generated, generateMs: performance.now() - started };
  }

  /**
   * Infill: reuses the slot whose evaluated tokens share the most with the
   * prompt, then generates greedily token by token, reading each token's
   * probability. Stops at an end-of-generation token, at `maxTokens`, when
   * `shouldStop` says so or when cancelled.
   */
  async #infill(
    request: GenerateRequest,
    fimTokens: FimTokens,
  ): Promise<Omit<Generation, "generateMs">> {
    const reuse = request.reuse ?? REUSE_DEFAULT;
    const promptOf = (maxTokens: number, except?: Slot) => {
      const { tokens, healed } = fimPrompt(
        request,
        fimTokens,
        (text) => this.#model.tokenize(text),
        request.layout ?? LAYOUT_DEFAULT,
        maxTokens,
      );
      const healing = healed === undefined ? undefined : this.#healing(healed);
      // Part of a character cannot be re-typed by a token of its own: it stays in the prompt.
      if (healed !== undefined && !healing) tokens.push(healed);
      return { prompt: tokens, healing, slot: this.#slotFor(tokens, except) };
    };
    let { prompt, healing, slot } = promptOf(this.#context.contextSize - request.maxTokens);
    const affordable = this.#affordableTokens(request.maxPromptMs);
    // Without a budget (every keystroke's request) the estimate is not worked out at all.
    const reusable = prompt.length <= affordable || request.fresh
      ? 0
      : reusablePrefix(slot.sequence.contextTokens, prompt, reuse).kept;
    const shortened = prompt.length - reusable > affordable;
    // The shortened prompt goes elsewhere than what the full one, made next, would reuse.
    if (shortened) {
      ({ prompt, healing, slot } = promptOf(affordable, reusable > 0 ? slot : undefined));
    }
    slot.usedAt = performance.now();
    const sequence = slot.sequence;
    if (request.fresh) await sequence.clearHistory();
    const reusedTokens = await keepPrefix(sequence, prompt, reuse);
    await evaluateWholeBatches(sequence, prompt, reusedTokens, request.signal, (msPerToken) => {
      this.#msPerPromptToken = this.#msPerPromptToken === undefined
        ? msPerToken
        : this.#msPerPromptToken + RATE_WEIGHT * (msPerToken - this.#msPerPromptToken);
    });
    const tokens: Token[] = [];
    const logprobs: number[] = [];
    let text = "";
    const unbiased = TokenBias.for(this.#model);
    const generation = sequence.evaluateWithMetadata(
      prompt.slice(sequence.nextTokenIndex),
      { confidence: true },
      {
        temperature: 0,
        yieldEogToken: true,
        tokenBias: () => tokens.length === 0 && healing ? healing.bias : unbiased,
      },
    );
    for await (const { token, confidence } of generation) {
      if (this.#model.isEogToken(token)) break;
      tokens.push(token);
      // A healed first token's probability is among the tokens that re-type the cut one:
      // how sure the model is of what follows the typed text, which selective retrieval reads.
      logprobs.push(Math.log(confidence));
      text = this.#model.detokenize(tokens).slice(healing?.text.length ?? 0);
      if (
        tokens.length >= request.maxTokens || request.signal.aborted ||
        (!shortened && logprobs.at(-1)! < (request.stopBelowLogprob ?? -Infinity)) ||
        request.shouldStop(text)
      ) break;
    }
    return {
      text,
      promptTokens: prompt.length,
      reusedTokens,
      generatedTokens: tokens.length,
      shortened,
      ...(logprobs.length > 0
        ? {
          logprobs: {
            mean: logprobs.reduce((sum, value) => sum + value, 0) / logprobs.length,
            min: Math.min(...logprobs),
          },
        }
        : {}),
    };
  }

  /**
   * Token healing for a prompt that left out `healed`, the last typed token:
   * the tokens whose text starts with its text (it among them), each pushed
   * far above the rest, so the first generated token re-types what it held
   * and may go on past it (`con` → `const`). None for a token that is part
   * of a character: no token of its own re-types it.
   */
  #healing(healed: Token): { text: string; bias: TokenBias } | undefined {
    const text = this.#model.detokenize([healed]);
    if (text.includes("\uFFFD")) return undefined;
    this.#tokenTexts ??= new TokenTexts(this.#ordinaryTokenTexts());
    const bias = TokenBias.for(this.#model);
    for (const [tokenText, token] of this.#tokenTexts.startingWith(text)) {
      if (!ENDS_LINE.test(tokenText.slice(text.length))) {
        bias.set([token], { logit: HEALING_LOGIT });
      }
    }
    bias.set([healed], { logit: HEALING_LOGIT });
    return { text, bias };
  }

  /** Each ordinary (not special) token with its text. */
  *#ordinaryTokenTexts(): Iterable<[string, Token]> {
    for (const token of this.#model.iterateAllTokens()) {
      if (!this.#model.isSpecialToken(token)) yield [this.#model.detokenize([token]), token];
    }
  }

  /** Chat: a fresh conversation per request, which shares nothing but the system prompt. */
  async #chat(request: GenerateRequest): Promise<Omit<Generation, "generateMs">> {
    const sequence = this.#leastRecentlyUsed().sequence;
    await sequence.clearHistory();
    const meter = sequence.tokenMeter;
    const outputBefore = meter.usedOutputTokens;
    const stopEarly = new AbortController();
    let text = "";
    const session = new LlamaChatSession({
      contextSequence: sequence,
      systemPrompt: CHAT_SYSTEM_PROMPT,
      autoDisposeSequence: false,
    });
    try {
      text = await session.prompt(chatUserMessage(request), {
        maxTokens: request.maxTokens,
        temperature: 0,
        signal: AbortSignal.any([request.signal, stopEarly.signal]),
        stopOnAbortSignal: true,
        onTextChunk: (chunk: string) => {
          text += chunk;
          if (request.shouldStop(text)) stopEarly.abort();
        },
      });
    } finally {
      session.dispose({ disposeSequence: false });
    }
    const generatedTokens = meter.usedOutputTokens - outputBefore;
    return {
      text,
      promptTokens: Math.max(0, sequence.nextTokenIndex - generatedTokens),
      reusedTokens: 0,
      generatedTokens,
      shortened: false,
    };
  }

  /**
   * The slot to evaluate `prompt` in: the one that has the longest part of it
   * evaluated already, as llama.cpp's server picks a slot by prompt
   * similarity; when none has a whole batch of it (half of a prompt shorter
   * than two, as a shortened one may be), the least recently used, so a warm
   * prompt of another document or of the other prompt kind stays.
   * Never `except` (what a prompt made next is to reuse) when there is another.
   */
  #slotFor(prompt: Token[], except?: Slot): Slot {
    const enough = Math.min(EVAL_BATCH, Math.ceil(prompt.length / 2));
    let best = this.#leastRecentlyUsed(except);
    let bestShared = 0;
    for (const slot of this.#slots) {
      if (slot === except) continue;
      const shared = sharedPrefixLength(slot.sequence.contextTokens, prompt);
      if (shared >= enough && shared > bestShared) [best, bestShared] = [slot, shared];
    }
    return best;
  }

  /**
   * How many prompt tokens the model evaluates within `maxMs` at its measured
   * rate, in whole steps of AFFORDABLE_STEP and at least SHORTENED_MIN_TOKENS;
   * unbounded without a limit or before any rate was measured.
   */
  #affordableTokens(maxMs: number | undefined): number {
    if (maxMs === undefined || this.#msPerPromptToken === undefined) return Infinity;
    // In steps: the measured rate moves a little at every batch, and a shortened prompt cut
    // the same way at the next key reuses what this one evaluated.
    const affordable = Math.floor(maxMs / this.#msPerPromptToken / AFFORDABLE_STEP) *
      AFFORDABLE_STEP;
    return Math.max(SHORTENED_MIN_TOKENS, affordable);
  }

  #leastRecentlyUsed(except?: Slot): Slot {
    const others = this.#slots.filter((slot) => slot !== except);
    return (others.length > 0 ? others : this.#slots).reduce((oldest, slot) =>
      slot.usedAt < oldest.usedAt ? slot : oldest
    );
  }

  /**
   * Makes the context apply `adapter` (or none). llama.cpp sets adapters on
   * a context, so a new one replaces it (its evaluated prompts go with it);
   * this runs in the queue, between generations. An adapter llama.cpp
   * refuses (another architecture, other shapes, a damaged file) is logged
   * and never tried again; the context in use goes on serving.
   */
  async #applyAdapter(adapter: string | undefined): Promise<void> {
    const lora = adapter ? { lora: { adapters: [{ filePath: adapter }] } } : {};
    let context: LlamaContext;
    try {
      context = await this.#model.createContext({ ...this.#contextOptions, ...lora });
    } catch (error) {
      if (!adapter) throw error;
      this.#refusedAdapters.add(adapter);
      this.#log.warn(`Adapter ${adapter} not loaded: ${(error as Error).message}`);
      // This request gets the base model too, as the later ones will, not another adapter.
      if (this.#adapter !== undefined) await this.#applyAdapter(undefined);
      return;
    }
    await this.#context.dispose();
    this.#context = context;
    this.#slots = slotsOf(context);
    this.#adapter = adapter;
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

/** A slot for each sequence of the context, none used yet. */
function slotsOf(context: LlamaContext): Slot[] {
  return Array.from({ length: context.totalSequences }, () => ({
    sequence: context.getSequence(),
    usedAt: 0,
  }));
}

/** How many tokens two token lists share from their start. */
function sharedPrefixLength(a: readonly Token[], b: readonly Token[]): number {
  let shared = 0;
  while (shared < a.length && shared < b.length && a[shared] === b[shared]) shared++;
  return shared;
}

/**
 * What of the evaluated tokens a prompt can keep: those it starts with, short
 * of its last token (it is evaluated again for its logits) and, with "batch"
 * reuse, cut back to a multiple of {@link EVAL_BATCH}; with "token" reuse,
 * also the runs shiftedReuse finds further on.
 *
 * @returns The ranges of evaluated tokens to erase, and how many prompt tokens stay evaluated.
 */
function reusablePrefix(
  evaluated: readonly Token[],
  prompt: readonly Token[],
  reuse: PrefixReuse,
): { erase: { start: number; end: number }[]; kept: number } {
  const common = Math.min(sharedPrefixLength(evaluated, prompt), prompt.length - 1);
  // Erasing from the sequence's first token makes node-llama-cpp evaluate what stays again
  // itself, uncancellable: a prompt that shares no start is evaluated afresh.
  if (reuse === "token" && common > 0) return shiftedReuse(evaluated, prompt, common);
  const kept = Math.floor(common / EVAL_BATCH) * EVAL_BATCH;
  return { erase: kept < evaluated.length ? [{ start: kept, end: evaluated.length }] : [], kept };
}

/**
 * Keeps what reusablePrefix finds of the sequence's evaluated tokens and erases the rest.
 *
 * @returns How many prompt tokens are kept evaluated.
 */
async function keepPrefix(
  sequence: LlamaContextSequence,
  prompt: Token[],
  reuse: PrefixReuse,
): Promise<number> {
  const { erase, kept } = reusablePrefix(sequence.contextTokens, prompt, reuse);
  if (erase.length > 0) await sequence.eraseContextTokenRanges(erase);
  return kept;
}

/**
 * llama.cpp's `--cache-reuse`: after the `common` tokens the evaluated and
 * the new prompt share, finds runs of at least REUSE_MIN_RUN evaluated
 * tokens that the prompt goes on with further on, in order; erasing what
 * lies between them shifts them into place. Stops short of the prompt's
 * last token, which is evaluated again for its logits.
 *
 * @returns The ranges of evaluated tokens to erase, and how many prompt tokens stay evaluated.
 */
export function shiftedReuse(
  evaluated: readonly Token[],
  prompt: readonly Token[],
  common: number,
): { erase: { start: number; end: number }[]; kept: number } {
  const limit = prompt.length - 1;
  const erase: { start: number; end: number }[] = [];
  let from = common, kept = common, keptEnd = common;
  while (from < evaluated.length && kept < limit) {
    let run = 0;
    while (
      from + run < evaluated.length && kept + run < limit &&
      evaluated[from + run] === prompt[kept + run]
    ) run++;
    if (run < REUSE_MIN_RUN) {
      from++;
      continue;
    }
    if (from > keptEnd) erase.push({ start: keptEnd, end: from });
    from += run;
    kept += run;
    keptEnd = from;
  }
  if (keptEnd < evaluated.length) erase.push({ start: keptEnd, end: evaluated.length });
  return { erase, kept };
}

/**
 * Evaluates the prompt from `from` up to its last whole batch, one batch at a
 * time, checking `signal` in between: a newer keystroke stops a long
 * evaluation within a batch, and what was evaluated stays for the next
 * prompt. From a batch boundary, the batches are the ones a fresh evaluation
 * would make, so the output does not change. Each whole batch's rate, in
 * milliseconds per token, goes to `measured`.
 *
 * @throws CancelledError when the signal aborts between batches.
 */
async function evaluateWholeBatches(
  sequence: LlamaContextSequence,
  prompt: Token[],
  from: number,
  signal: AbortSignal,
  measured: (msPerToken: number) => void,
): Promise<void> {
  const end = Math.floor((prompt.length - 1) / EVAL_BATCH) * EVAL_BATCH;
  for (let start = from; start < end; start += EVAL_BATCH) {
    if (signal.aborted) throw new CancelledError();
    const batch = prompt.slice(start, Math.min(start + EVAL_BATCH, end));
    const started = performance.now();
    await sequence.evaluateWithoutGeneratingNewTokens(batch);
    if (batch.length === EVAL_BATCH) measured((performance.now() - started) / EVAL_BATCH);
  }
}
