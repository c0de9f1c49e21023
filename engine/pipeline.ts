/**
 * The completion pipeline, top to bottom: supersede the previous request for
 * the document → check the input → answer from the cache when the cursor was
 * seen or typed through → cut the prompt window at the cursor → read the
 * syntax at the cursor (tree-sitter, incremental) → decide single- or
 * multi-line → wait for the model → retrieve project context under
 * a deadline (a failure is logged and skipped) → pack it into its token
 * budget → generate → post-process → remember.
 *
 * @module
 */
import type { CursorSyntax, SyntaxService } from "./ast/mod.ts";
import type { ContextSource, RetrievalQuery, ScoredChunk } from "./retrieval/mod.ts";
import { type CachedSuggestion, type CacheKey, CompletionCache } from "./cache/mod.ts";
import type { Config } from "./config/mod.ts";
import type { Logger } from "./log/mod.ts";
import {
  checkDocumentSize,
  headWholeLines,
  languageOf,
  offsetAt,
  positionAt,
  tailWholeLines,
} from "./documents/mod.ts";
import {
  completionMode,
  type CursorContext,
  isFinished,
  lineMayGrow,
  postprocess,
} from "./inference/mod.ts";
import type { Generation, ModelHost, PrefixReuse, PromptLayout } from "./inference/mod.ts";
import { type CompleteRequest, ErrorCode, type Position } from "./protocol/mod.ts";
import { CancelledError, EngineError } from "./protocol/errors.ts";

/**
 * A completion as the pipeline makes it, before any transport: sessions give
 * it an id and the wire's shape.
 */
export interface Completion {
  /** The suggestion, inserted at the cursor; empty when nothing is worth showing. */
  text: string;
  /** Time per stage and prompt sizes. */
  timings: CompleteRequest.Timings;
  /** The project context that went into the prompt; absent when answered from the cache. */
  context?: CompleteRequest.ContextChunk[];
  /**
   * The mean and lowest log-probability of the generated tokens (of the
   * generation shown), which learning records with each shown suggestion.
   */
  logprobs?: { mean: number; min: number };
}

/** One completion request, with the document's text resolved. */
export interface CompletionInput {
  uri: string;
  /** Path shown to the model, relative to the workspace when possible. */
  path: string;
  languageId: string;
  text: string;
  position: Position;
  maxLines?: number;
  /** At most this many generated tokens, below the engine's own bound. */
  maxTokens?: number;
  /**
   * The project's context, when the document belongs to an indexed project.
   * `version` changes when the project's indexed files do: a line's context
   * is then looked up again.
   */
  context?: { source: ContextSource; repoName: string; version?: number };
  /**
   * Evaluate the whole prompt afresh, without the cache or the model's
   * evaluated prefix: the naive path benchmarks compare against.
   */
  fresh?: boolean;
  /** How much of the model's evaluated prefix to reuse (the generator's default when absent). */
  reuse?: PrefixReuse;
  /** Where the prompt puts the typed part of the cursor's line (the generator's default when absent). */
  layout?: PromptLayout;
  /** Whether recent results may answer (default true); false measures the model path alone. */
  useCache?: boolean;
  /**
   * "selective" (the default): project context only when the model is unsure
   * of its completion from the file alone; "always": whenever retrieval finds
   * some, which benchmarks compare against.
   */
  retrieval?: "selective" | "always";
  /** The project's LoRA adapter (its GGUF), when it has one for the model in use. */
  adapter?: string;
  /**
   * The longest the prompt's evaluation may take: past it the completion is
   * made from the part of the prompt nearest the cursor (see prefetch).
   */
  promptBudgetMs?: number;
}

/**
 * The input that completes the rest of the line at `offset` of a file from
 * the file alone, never from recent results: how held-out lines are measured
 * (the adapter's keep rule and its bench).
 */
export function heldOutLineInput(
  line: { uri: string; path: string; text: string; offset: number },
  adapter?: string,
): CompletionInput {
  return {
    uri: line.uri,
    path: line.path,
    languageId: languageOf(line.path),
    text: line.text,
    position: positionAt(line.text, line.offset),
    maxLines: 1,
    useCache: false,
    adapter,
  };
}

/**
 * The model is sure enough of its completion from the file alone when its
 * least likely token had at least this log-probability, unless models.lock
 * pins another for the model (see LockedModel.retrieveBelowLogprob). `deno
 * task bench repo` (0.5B, 100 samples each) scored thresholds from -0.25 to
 * -4: -1 was best on both projects it was chosen on, 22 and 27 exact matches
 * on trpc-server and rich, against 22 and 23 with retrieval always and 20 and
 * 26 without.
 */
const RETRIEVE_BELOW_LOGPROB = -1;

/** Documents whose line context is kept (see LineContext). */
const LINE_CONTEXTS = 32;

/** Names the line reaches into (`name.`): a new one may need another module's members. */
const RECEIVERS = /[A-Za-z_$][\w$]*(?=\s*\.)/g;

/**
 * The project context a document's cursor line was given. While the user
 * types on that line it stays as it is, so the evaluated prompt does too: it
 * is looked up again only on another line, when the line reaches into a new
 * name, or when the index changed. Chunks that stay keep their place (see
 * ringOrder).
 */
interface LineContext {
  /** The document's text before the cursor's line. */
  head: string;
  /** The names the line reached into, joined. */
  receivers: string;
  /** Where the chunks came from, at which version of the index, and how they were to be used. */
  source?: ContextSource;
  version?: number;
  retrieval: CompletionInput["retrieval"];
  packed: ScoredChunk[];
}

/** Whether a completion made without project context can stand without it. */
function isConfident(generation: Generation, shown: string, retrieveBelow: number): boolean {
  return shown.trim() !== "" && generation.logprobs !== undefined &&
    generation.logprobs.min >= retrieveBelow;
}

/**
 * The name a suggestion completes or starts with, when it has one: the word
 * typed before the cursor runs on into it.
 */
function suggestedName(linePrefix: string, shown: string): string | undefined {
  const head = /^[\w$]*/.exec(shown)![0];
  const typed = /[A-Za-z_$][\w$]*$/.exec(linePrefix)?.[0] ?? "";
  const name = /^[A-Za-z_$][\w$]*/.exec(typed + head)?.[0];
  return name && head !== "" ? name : undefined;
}

/**
 * Whether the file alone's suggestion names something seen nowhere: not in
 * the document, not in the project context found for it. Such a name is most
 * often made up, however sure the model was of it; the repo suite's lines
 * that selective retrieval lost to retrieval always were such names.
 */
function isMadeUp(
  linePrefix: string,
  shown: string,
  documentText: string,
  packed: ScoredChunk[],
): boolean {
  const name = suggestedName(linePrefix, shown);
  if (name === undefined) return false;
  const word = new RegExp(`(?<![\\w$])${name.replaceAll("$", "\\$")}(?![\\w$])`);
  return !word.test(documentText) && !packed.some((chunk) => word.test(chunk.text));
}

/** Runs completions against the generator. */
export class CompletionPipeline {
  #config: Config;
  #models: ModelHost;
  #log: Logger;
  #syntax?: Promise<SyntaxService>;
  #retrieveBelowLogprob: () => number | undefined;
  /** Per document, the request being answered: a newer request for the document cancels it. */
  #inFlight = new Map<string, AbortController>();
  #cache = new CompletionCache();
  /** Per document, the context of the line last completed (oldest first, at most LINE_CONTEXTS). */
  #lineContexts = new Map<string, LineContext>();
  /** Requests being answered (not prefetches): a prefetch never cancels one. */
  #requests = 0;
  /**
   * The completion being made ahead (see prefetch), or made and not yet asked
   * for: `quick` first when the whole prompt would take too long, then `done`.
   */
  #prefetch?: {
    key: CacheKey;
    controller: AbortController;
    quick?: Promise<Completion | undefined>;
    done: Promise<Completion | undefined>;
  };

  /**
   * @param options.syntax Tree-sitter, when available: its failure only costs the syntax context.
   * @param options.retrieveBelowLogprob The loaded model's own selective-retrieval threshold,
   *   when it has one (see RETRIEVE_BELOW_LOGPROB).
   */
  constructor(
    config: Config,
    models: ModelHost,
    log: Logger,
    options: {
      syntax?: Promise<SyntaxService>;
      retrieveBelowLogprob?: () => number | undefined;
    } = {},
  ) {
    this.#config = config;
    this.#models = models;
    this.#log = log;
    this.#syntax = options.syntax;
    this.#retrieveBelowLogprob = options.retrieveBelowLogprob ?? (() => undefined);
  }

  /** The log-probability below which selective retrieval adds project context, for the loaded model. */
  get retrieveBelowLogprob(): number {
    return this.#retrieveBelowLogprob() ?? RETRIEVE_BELOW_LOGPROB;
  }

  /**
   * Completes at a position. A newer request for the same document cancels
   * this one.
   *
   * @throws EngineError for bad input or a model that is not ready;
   *   CancelledError when cancelled or superseded.
   */
  async complete(input: CompletionInput, requestSignal: AbortSignal): Promise<Completion> {
    const started = performance.now();
    this.#requests++;
    // Superseded wherever it is: waiting for a prefetch or making its own completion.
    this.#inFlight.get(input.uri)?.abort();
    const superseded = new AbortController();
    this.#inFlight.set(input.uri, superseded);
    const signal = AbortSignal.any([requestSignal, superseded.signal]);
    try {
      const cacheKey = this.#cacheKey(input);
      const { prefetched, interrupted } = await this.#takePrefetched(cacheKey, signal);
      if (prefetched) {
        return {
          ...prefetched,
          timings: {
            ...prefetched.timings,
            totalMs: performance.now() - started,
            prefetched: true,
          },
        };
      }
      // After a prefetch elsewhere (a key typed before it was ready, another document): this is
      // a place's first suggestion too, made quick when the whole prompt would take too long,
      // and the full completion goes on in the background, so the keys that follow find it
      // evaluated. A fresh request is the naive path benchmarks compare against: never quick.
      const budget = this.#config.completion.firstSuggestionMs;
      if (!interrupted || budget <= 0 || input.fresh) {
        return await this.#complete(input, cacheKey, signal, started);
      }
      const first = await this.#complete(
        { ...input, promptBudgetMs: budget },
        cacheKey,
        signal,
        started,
      );
      if (first.timings.shortened) this.#makeAhead({ ...input, useCache: false }, cacheKey, 0);
      return first;
    } finally {
      this.#requests--;
      if (this.#inFlight.get(input.uri) === superseded) this.#inFlight.delete(input.uri);
    }
  }

  async #complete(
    input: CompletionInput,
    cacheKey: CacheKey,
    signal: AbortSignal,
    started: number,
  ): Promise<Completion> {
    try {
      checkDocument(input.text, this.#config.completion.maxDocumentBytes);
      const limits = this.#config.completion;
      const maxLines = cacheKey.maxLines;
      const cached = input.fresh || input.useCache === false
        ? undefined
        : this.#cache.lookup(cacheKey);
      if (cached !== undefined) return cachedCompletion(cached, started);
      const prefix = tailWholeLines(cacheKey.before, limits.maxPrefixChars);
      const suffix = headWholeLines(cacheKey.after, limits.maxSuffixChars);
      const linePrefix = prefix.slice(prefix.lastIndexOf("\n") + 1);
      const lineEnd = suffix.indexOf("\n");
      const lineSuffix = lineEnd === -1 ? suffix : suffix.slice(0, lineEnd);
      // Tree-sitter reads the cursor's surroundings: the mode, and what retrieval looks for.
      const astStarted = performance.now();
      const syntax = await this.#cursorSyntax(input, cacheKey.before.length);
      const astMs = performance.now() - astStarted;
      const mode = completionMode(linePrefix, lineSuffix, maxLines, syntax?.inLiteral);
      const promptMs = performance.now() - started - astMs;

      const generator = await this.#models.ready(signal, limits.readyWaitMs);
      const cursor: CursorContext = {
        prefix,
        linePrefix,
        lineSuffix,
        suffix,
        mode,
        lineMayGrow: lineMayGrow(lineSuffix, maxLines, syntax?.inLiteral),
        maxLines,
        format: generator.format,
        languageId: input.languageId,
        inLiteral: syntax?.inLiteral,
      };
      const generate = (
        context: ScoredChunk[],
        options: { stopBelowLogprob?: number; maxPromptMs?: number },
      ) =>
        generator.generate({
          context: context.map(({ path, text }) => ({ path, text })),
          repoName: input.context?.repoName ?? "",
          prefix,
          suffix: modelSuffix(linePrefix, lineSuffix, suffix),
          path: input.path,
          languageId: input.languageId,
          multiline: mode === "block",
          maxTokens: Math.min(
            mode === "line" && !cursor.lineMayGrow
              ? limits.maxTokensSingleLine
              : limits.maxTokensMultiLine,
            input.maxTokens ?? Infinity,
          ),
          shouldStop: (text) => isFinished(text, cursor),
          ...options,
          signal,
          fresh: input.fresh,
          reuse: input.reuse,
          layout: input.layout,
          adapter: input.adapter,
        });
      const retrieveStarted = performance.now();
      const line = {
        head: cacheKey.before.slice(0, cacheKey.before.lastIndexOf("\n") + 1),
        receivers: (linePrefix.match(RECEIVERS) ?? []).join(" "),
        source: input.context?.source,
        version: input.context?.version,
        retrieval: input.retrieval,
      };
      const kept = this.#lineContexts.get(input.uri);
      const sameLine = kept !== undefined && kept.head === line.head &&
        kept.receivers === line.receivers && kept.source === line.source &&
        kept.version === line.version && kept.retrieval === line.retrieval;
      let packed: ScoredChunk[] = [];
      if (sameLine) packed = kept.packed;
      else if (input.context) {
        const retrieved = await this.#retrieve(input.context.source, {
          // The enclosing signatures say what the code is about; the imports say where to look.
          code: [...syntax?.scopes ?? [], retrievalQuery(prefix, lineSuffix)].join("\n"),
          linePrefix,
          imports: syntax ? syntax.imports.join("\n") : importLines(input.text),
          modules: syntax?.modules,
        }, input.path);
        packed = ringOrder(
          kept?.packed ?? [],
          packContext(retrieved, limits.contextTokens, (text) => generator.countTokens(text)),
        );
      }
      const retrieveMs = performance.now() - retrieveStarted;
      // Selective retrieval: the file alone first; the project's context when the model is
      // unsure without it (see RETRIEVE_BELOW_LOGPROB), or at once when the cursor reaches into
      // a project module, whose members the file does not show: there a sure answer is most
      // often a made-up name.
      const retrieveBelow = this.retrieveBelowLogprob;
      const selective = packed.length > 0 && input.retrieval !== "always" &&
        !packed.some((chunk) => chunk.kind === "members");
      // The budget is for the first pass: a shortened one has no room for the context, and
      // stands; once the file alone fit, a context pass must not be cut back to less than it.
      const alone = packed.length === 0 || selective
        ? await generate([], {
          stopBelowLogprob: selective ? retrieveBelow : undefined,
          maxPromptMs: input.promptBudgetMs,
        })
        : undefined;
      const aloneText = alone ? postprocess(alone.text, cursor) : "";
      let context: ScoredChunk[] = [];
      let generation: Generation;
      let text: string;
      // The made-up check scans the document: only a sure answer that selective retrieval
      // would keep needs it.
      if (
        alone && (!selective || alone.shortened ||
          (isConfident(alone, aloneText, retrieveBelow) &&
            !isMadeUp(linePrefix, aloneText, input.text, packed)))
      ) {
        generation = alone;
        text = aloneText;
      } else {
        const withContext = await generate(packed, {
          maxPromptMs: alone ? undefined : input.promptBudgetMs,
        });
        // A shortened prompt leaves the project context out first: none went in.
        context = withContext.shortened ? [] : packed;
        generation = alone
          ? { ...withContext, generateMs: withContext.generateMs + alone.generateMs }
          : withContext;
        text = postprocess(generation.text, cursor);
        // The context left the model with nothing to say where the file alone had an answer:
        // an unsure suggestion is worth more than none (3 of 100 lines of the repo suite's
        // trpc-server). The unsure one stopped at its unsure token, so it is made again in full.
        if (text === "" && alone && aloneText !== "") {
          const full = await generate([], {});
          context = [];
          generation = { ...full, generateMs: generation.generateMs + full.generateMs };
          text = postprocess(full.text, cursor);
        }
      }
      this.#cache.remember(cacheKey, text, generation.shortened);
      this.#keepLineContext(input.uri, { ...line, packed });
      return {
        text,
        timings: {
          astMs,
          retrieveMs,
          promptMs,
          generateMs: generation.generateMs,
          totalMs: performance.now() - started,
          promptTokens: generation.promptTokens,
          reusedTokens: generation.reusedTokens,
          generatedTokens: generation.generatedTokens,
          cached: false,
          ...(generation.shortened ? { shortened: true } : {}),
        },
        ...(generation.logprobs ? { logprobs: generation.logprobs } : {}),
        context: context.map(({ path, startLine, endLine, score, kind }) => ({
          path,
          startLine,
          endLine,
          score,
          kind,
        })),
      };
    } catch (error) {
      if (signal.aborted && !(error instanceof EngineError)) throw new CancelledError();
      throw error;
    }
  }

  /**
   * Makes the completion at `input` ahead of the request that usually
   * follows (the cursor arrived there), in the background. A request for the
   * same text and cursor gets it, or waits for it when it is not done; any
   * other request cancels it the moment it arrives, keeping what the model
   * evaluated so far. One at a time: a newer prefetch replaces an older one;
   * none starts while a request is being answered.
   *
   * When the model would take longer than `firstSuggestionMs` to evaluate the
   * prompt (a place it has not been, on a slow host), a quick completion is
   * made first from the part of the prompt nearest the cursor that it
   * evaluates within that time, then the full one: a request that comes
   * before the full one is ready gets the quick one, and the full one goes on
   * in the background for a later request at the same cursor. A request at
   * another cursor (a key typed) that cancels a prefetch is made the same way.
   */
  prefetch(
    input: CompletionInput,
    firstSuggestionMs = this.#config.completion.firstSuggestionMs,
  ): void {
    this.#prefetch?.controller.abort();
    this.#prefetch = undefined;
    // A request being answered is what the user waits for; the hint came too late.
    if (this.#requests > 0) return;
    this.#makeAhead(input, this.#cacheKey(input), firstSuggestionMs);
  }

  /**
   * Makes the completion at `key` in the background, as the prefetch: quick
   * first when `firstSuggestionMs` is above 0 and the whole prompt would take
   * longer (see prefetch).
   */
  #makeAhead(input: CompletionInput, key: CacheKey, firstSuggestionMs: number): void {
    this.#prefetch?.controller.abort();
    const controller = new AbortController();
    const made = (request: CompletionInput) =>
      this.#complete(request, key, controller.signal, performance.now()).catch((error) => {
        if (!(error instanceof CancelledError)) {
          this.#log.debug(`Prefetch failed: ${(error as Error).message}`);
        }
        return undefined;
      });
    if (firstSuggestionMs <= 0) {
      this.#prefetch = { key, controller, done: made(input) };
      return;
    }
    const quick = made({ ...input, promptBudgetMs: firstSuggestionMs });
    // The full completion replaces the quick one in the cache, which must not answer it.
    const done = quick.then((first) =>
      first?.timings.shortened ? made({ ...input, useCache: false }) : first
    );
    this.#prefetch = { key, controller, quick, done };
  }

  /**
   * The prefetched completion when it is for `key`: the full one when it is
   * ready, else the quick one, waited for if still in the making; otherwise
   * the prefetch is cancelled (`interrupted`) and nothing is returned. A full
   * completion still in the making after the quick one was taken goes on, as
   * the prefetch: the next request at the same cursor waits for it.
   */
  async #takePrefetched(
    key: CacheKey,
    signal: AbortSignal,
  ): Promise<{ prefetched?: Completion; interrupted: boolean }> {
    const pending = this.#prefetch;
    if (!pending) return { interrupted: false };
    const same = pending.key.uri === key.uri && pending.key.before === key.before &&
      pending.key.after === key.after && pending.key.maxLines === key.maxLines &&
      pending.key.adapter === key.adapter;
    if (!same) {
      this.#prefetch = undefined;
      pending.controller.abort();
      return { interrupted: true };
    }
    // Waited for where it stands: a newer request (a key typed) still finds it, cancels it and is
    // made quick; this one, cancelled, leaves it to whoever asks next.
    const cancelled = new Promise<undefined>((resolve) => {
      if (signal.aborted) resolve(undefined);
      signal.addEventListener("abort", () => resolve(undefined), { once: true });
    });
    // Settled promises race in order: the full completion first when both are ready; the
    // quick one when the full one failed.
    let completion = await Promise.race([pending.done, pending.quick ?? pending.done, cancelled]);
    if (completion === undefined && pending.quick && !signal.aborted) {
      completion = await Promise.race([pending.quick, cancelled]);
    }
    if (signal.aborted) throw new CancelledError();
    if (this.#prefetch === pending) this.#prefetch = undefined;
    if (completion?.timings.shortened) {
      // The full one goes on, unless another prefetch began meanwhile.
      if (this.#prefetch === undefined) {
        this.#prefetch = { key: pending.key, controller: pending.controller, done: pending.done };
      } else pending.controller.abort();
    }
    return { prefetched: completion, interrupted: false };
  }

  /**
   * What identifies a completion: the document, the text on both sides of the
   * cursor, the lines asked for, the adapter.
   */
  #cacheKey(input: CompletionInput): CacheKey {
    const offset = offsetAt(input.text, input.position);
    return {
      uri: input.uri,
      before: input.text.slice(0, offset),
      after: input.text.slice(offset),
      maxLines: input.maxLines ?? this.#config.completion.maxLines,
      ...(input.adapter ? { adapter: input.adapter } : {}),
    };
  }

  /** Remembers a document's line context, as its newest, forgetting the oldest past LINE_CONTEXTS. */
  #keepLineContext(uri: string, context: LineContext): void {
    this.#lineContexts.delete(uri);
    this.#lineContexts.set(uri, context);
    if (this.#lineContexts.size > LINE_CONTEXTS) {
      this.#lineContexts.delete(this.#lineContexts.keys().next().value!);
    }
  }

  /**
   * Forgets what is kept for a document (its cached completions, its line
   * context, its syntax tree) when it closes.
   */
  async forget(uri: string): Promise<void> {
    this.#cache.forget(uri);
    this.#lineContexts.delete(uri);
    (await this.#syntax?.catch(() => undefined))?.forget(uri);
  }

  /** The scopes and imports at the cursor; nothing for a language without a grammar or on failure. */
  async #cursorSyntax(input: CompletionInput, offset: number): Promise<CursorSyntax | undefined> {
    try {
      return await (await this.#syntax)?.cursorSyntax(input.languageId, input.text, offset, {
        key: input.uri,
        path: input.path,
      });
    } catch (error) {
      this.#log.warn(`Syntax unavailable, completing without it: ${(error as Error).message}`);
      return undefined;
    }
  }

  /** Runs retrieval under its deadline; a slow or failing source means no context, not an error. */
  async #retrieve(
    source: ContextSource,
    query: RetrievalQuery,
    path: string,
  ): Promise<ScoredChunk[]> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<ScoredChunk[]>((resolve) => {
      timer = setTimeout(() => {
        this.#log.debug(
          `Retrieval passed its ${this.#config.completion.retrieveDeadlineMs} ms deadline`,
        );
        resolve([]);
      }, this.#config.completion.retrieveDeadlineMs);
    });
    try {
      return await Promise.race([source(query, path), deadline]);
    } catch (error) {
      this.#log.warn(`Retrieval failed, completing without context: ${(error as Error).message}`);
      return [];
    } finally {
      clearTimeout(timer);
    }
  }
}

/** A completion answered from the cache: no model, no context. */
function cachedCompletion({ text, shortened }: CachedSuggestion, started: number): Completion {
  return {
    text,
    timings: {
      astMs: 0,
      retrieveMs: 0,
      promptMs: 0,
      generateMs: 0,
      totalMs: performance.now() - started,
      promptTokens: 0,
      reusedTokens: 0,
      generatedTokens: 0,
      cached: true,
      ...(shortened ? { shortened } : {}),
    },
  };
}

/** The code around the cursor that retrieval looks for: the last lines before it and the rest of its line. */
function retrievalQuery(prefix: string, lineSuffix: string): string {
  return prefix.split("\n").slice(-12).join("\n") + lineSuffix;
}

/**
 * Lines that import (`import`, `from`, `require(`, `use`, `using`, `#include`): the
 * plain-text stand-in for languages without a grammar.
 */
const IMPORT_LINE =
  /^\s*(?:import\b|from\s+\S+\s+import\b|export\s.*\bfrom\b|use\s|using\s|#include\b)|\brequire\(/;

/** The import lines of a document, where they usually are: its first 200 lines. */
function importLines(text: string): string {
  return text.split("\n", 200).filter((line) => IMPORT_LINE.test(line)).join("\n");
}

/**
 * Takes the best chunks that fit the token budget, then orders them by path
 * and line, so the same chunks always make the same prompt prefix.
 */
export function packContext(
  chunks: ScoredChunk[],
  budgetTokens: number,
  countTokens: (text: string) => number,
): ScoredChunk[] {
  const chosen: ScoredChunk[] = [];
  let used = 0;
  for (const chunk of [...chunks].sort((a, b) => b.score - a.score)) {
    const cost = countTokens(`${chunk.path}\n${chunk.text}\n`) + 1;
    if (used + cost > budgetTokens) continue;
    chosen.push(chunk);
    used += cost;
  }
  return chosen.sort((a, b) => a.path.localeCompare(b.path) || a.startLine - b.startLine);
}

/**
 * Orders a new pick of chunks as a ring: those also in the previous prompt
 * first, in the order they had there, then the new ones. The prompt's
 * beginning then changes only where a chunk left or came, and what stays
 * before that is still evaluated.
 */
export function ringOrder(previous: ScoredChunk[], chosen: ScoredChunk[]): ScoredChunk[] {
  const identity = (chunk: ScoredChunk) => `${chunk.path}\0${chunk.text}`;
  const byIdentity = new Map(chosen.map((chunk) => [identity(chunk), chunk]));
  const staying = previous.map(identity).filter((id) => byIdentity.has(id));
  const stayingIds = new Set(staying);
  return [
    ...staying.map((id) => byIdentity.get(id)!),
    ...chosen.filter((chunk) => !stayingIds.has(identity(chunk))),
  ];
}

/**
 * Refuses documents the model cannot use.
 *
 * @throws EngineError DocumentTooLarge or InvalidParams for binary content.
 */
function checkDocument(text: string, maxBytes: number): void {
  checkDocumentSize(text, maxBytes);
  if (text.includes("\0")) {
    throw new EngineError(ErrorCode.InvalidParams, "Binary document: it contains NUL bytes");
  }
}

/**
 * The text after the cursor as the model is shown it. On a blank line the
 * model is asked for the whole line and its newline, as FIM models were
 * trained (whole lines cut out): the line's own newline would otherwise tell
 * it the line is already ended, and on HumanEval's single-line set it then
 * wrote the function's last line or a new function instead of the missing one.
 */
export function modelSuffix(linePrefix: string, lineSuffix: string, suffix: string): string {
  if (linePrefix.trim() !== "" || lineSuffix.trim() !== "") return suffix;
  const newline = suffix.indexOf("\n");
  return newline === -1 ? suffix : suffix.slice(newline + 1);
}
