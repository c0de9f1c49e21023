/**
 * The sidecar's configuration: one typed tree, defaults in one place, merged
 * default ← environment ← command line.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { availableParallelism } from "node:os";
import { basename, join } from "node:path";

export { makePrivateDir, makePrivateFiles, restrictUmask } from "./private_fs.ts";

/** Everything the sidecar can be told. */
export interface Config {
  /** Folder for models and per-project state. */
  cacheDir: string;
  /** Path of models.lock. */
  modelsLock: string;
  generator: {
    /**
     * The generator the user named, by name in models.lock or path of a .gguf file, and
     * how: `--model` (which the VS Code setting `astComplete.model` passes) or
     * AST_COMPLETE_MODEL. Unset, the engine chooses by hardware (engine/models/choose.ts).
     */
    model?: { name: string; by: "--model" | "AST_COMPLETE_MODEL" };
    /**
     * CPU threads for generation: one per core this process may use unless set (2 on the
     * 2-core machine where `deno task bench threads` measured it), so a machine with more
     * cores, which may get the larger generator, uses them.
     */
    threads: number;
    /**
     * Context window in tokens, per evaluated prompt kept. The largest prompt the
     * completion bounds allow is ~1,500 tokens with the answer; a longer one is cut
     * to fit (see fimPrompt). 2,048 rather than 4,096 saves 75 MB of KV cache.
     */
    contextSize: number;
    /** Use a GPU when one is found ("auto") or never (false). */
    gpu: "auto" | false;
  };
  completion: {
    /** Token cap for a single-line completion. */
    maxTokensSingleLine: number;
    /** Token cap for a multi-line completion. */
    maxTokensMultiLine: number;
    /** Line cap for a multi-line completion. */
    maxLines: number;
    /**
     * Characters of text before the cursor put into the prompt. `deno task bench window`
     * (48 samples, exact matches): 1500 before/300 after 25, 1500/600 24, 1500/1500 24,
     * 3000/300 25.
     */
    maxPrefixChars: number;
    /**
     * Characters of text after the cursor put into the prompt, cut at a line end. The
     * suffix follows the cursor in the prompt, so every keystroke evaluates it again; but
     * cut at 300 characters (~80 tokens) it hid the rest of the function from the model,
     * and on HumanEval's single-line set (80 problems) the engine then lost 3 lines the
     * bare model got. 1000 holds every suffix there (the largest is 837 characters).
     */
    maxSuffixChars: number;
    /** Tokens of project context (retrieved code) in the prompt. */
    contextTokens: number;
    /** Retrieval gets this long; past it the completion goes on without context. */
    retrieveDeadlineMs: number;
    /** Larger documents are refused with a clear error. */
    maxDocumentBytes: number;
    /** How long `complete` waits for models that are still loading. */
    readyWaitMs: number;
    /**
     * The first suggestion at a place (a prefetch, or a request that cancels
     * one) whose prompt the model would take longer than this to evaluate, at
     * the rate it has measured, is first made from the part of the prompt
     * nearest the cursor that it evaluates within this, and then in full in the
     * background. Before the model has evaluated a whole batch there is no rate,
     * and nothing is shortened. 0 (AST_COMPLETE_FIRST_SUGGESTION_MS=0): always in full.
     */
    firstSuggestionMs: number;
  };
  /** Bounds on what clients may make the sidecar hold, enforced while reading. */
  limits: Limits;
  learning: {
    /**
     * Whether the learned filter may hide suggestions unlikely to be kept
     * (AST_COMPLETE_FILTER=off turns it off; it still learns from outcomes).
     */
    filter: boolean;
    /** The project's LoRA adapter (engine/learning/adapter_training.ts). */
    adapter: AdapterConfig;
  };
}

/** When and how a project's adapter is trained. */
export interface AdapterConfig {
  /** Whether adapters are trained and served (AST_COMPLETE_ADAPTER=off: neither). */
  enabled: boolean;
  /** Train after this long without a completion request (AST_COMPLETE_LEARN_IDLE_MS). */
  idleMs: number;
  /** Share of the project's files held out to evaluate a new adapter on. */
  heldoutShare: number;
  /** Most samples cut from one training file. */
  perFile: number;
  /** Most samples cut from one held-out file. */
  heldoutPerFile: number;
  /** Most training samples (a seeded choice when there are more). */
  maxTrainSamples: number;
  /** Most held-out samples a candidate is evaluated on. */
  maxHeldoutSamples: number;
  learningRate: number;
  /** Samples per optimizer step. */
  accumulate: number;
  epochs: number;
  /** Threads the trainer uses (it runs at the lowest priority and pauses for completions). */
  threads: number;
  /** LoRA rank. */
  rank: number;
  /** The prompt windows samples are cut to, as completions cut them. */
  maxPrefixChars: number;
  maxSuffixChars: number;
}

/** Bounds on client input; reported in `status` and documented with the protocol. */
export interface Limits {
  /** Largest JSON-RPC message on the socket (its Content-Length); larger closes the connection. */
  maxFrameBytes: number;
  /** Open documents held per client; past it the least recently synced is forgotten. */
  maxOpenDocuments: number;
  /** Total UTF-16 length of a client's open documents; past it the least recent go first. */
  maxOpenDocumentChars: number;
  /** Socket connections at once; more are closed at once. */
  maxConnections: number;
  /** A new connection must send a whole first message within this, or it is closed. */
  firstMessageMs: number;
  /** A message that has begun must arrive whole within this, or the connection is closed. */
  frameMs: number;
}

/**
 * The user's cache directory for ast-complete, per platform convention. Read
 * from the environment only, so no command needs more than --allow-env for it.
 */
export function defaultCacheDir(): string {
  const env = (name: string) => Deno.env.get(name) || undefined;
  const own = env("AST_COMPLETE_CACHE_DIR");
  if (own) return own;
  const xdg = env("XDG_CACHE_HOME");
  if (xdg) return join(xdg, "ast-complete");
  if (Deno.build.os === "windows") {
    return join(env("LOCALAPPDATA") ?? env("USERPROFILE") ?? ".", "ast-complete");
  }
  const home = env("HOME") ?? ".";
  if (Deno.build.os === "darwin") return join(home, "Library", "Caches", "ast-complete");
  return join(home, ".cache", "ast-complete");
}

/**
 * A project's state folder (index, vectors, lock, feedback): under the cache,
 * never inside the repository, one per real workspace path.
 */
export function projectStateDir(cacheDir: string, workspaceRoot: string): string {
  const digest = createHash("sha256").update(workspaceRoot).digest("hex").slice(0, 16);
  return join(cacheDir, "projects", `${basename(workspaceRoot) || "root"}-${digest}`);
}

/** Options that override the defaults, e.g. from the command line. */
export interface ConfigOverrides {
  model?: string;
  threads?: number;
  cacheDir?: string;
  modelsLock?: string;
}

/**
 * Builds the configuration: defaults, then AST_COMPLETE_* environment
 * variables, then explicit overrides.
 *
 * @param overrides Values that win over everything else.
 * @returns The merged configuration.
 */
export function loadConfig(overrides: ConfigOverrides = {}): Config {
  const env = (name: string) => Deno.env.get(`AST_COMPLETE_${name}`);
  const cores = availableParallelism();
  const threads = Number(overrides.threads ?? env("THREADS") ?? cores);
  const model = overrides.model || env("MODEL");
  const firstSuggestionMs = Number(env("FIRST_SUGGESTION_MS") || 1000);
  return {
    cacheDir: overrides.cacheDir ?? defaultCacheDir(),
    modelsLock: overrides.modelsLock ?? env("MODELS_LOCK") ??
      new URL("../../models.lock", import.meta.url).pathname,
    generator: {
      ...(model
        ? { model: { name: model, by: overrides.model ? "--model" : "AST_COMPLETE_MODEL" } }
        : {}),
      threads: Number.isInteger(threads) && threads > 0 ? threads : cores,
      contextSize: 2048,
      gpu: env("GPU") === "off" ? false : "auto",
    },
    completion: {
      maxTokensSingleLine: 48,
      maxTokensMultiLine: 160,
      maxLines: 12,
      maxPrefixChars: 1500,
      maxSuffixChars: 1000,
      contextTokens: 512,
      retrieveDeadlineMs: 250,
      maxDocumentBytes: 1024 * 1024,
      readyWaitMs: 60_000,
      // Past what one key waits for in steady typing (`deno task bench cold`, cobra, 24 places:
      // the quick one's first line was right 7-8 times against the full one's 11).
      firstSuggestionMs: Number.isFinite(firstSuggestionMs) && firstSuggestionMs >= 0
        ? firstSuggestionMs
        : 1000,
    },
    learning: {
      filter: env("FILTER") !== "off",
      adapter: {
        enabled: env("ADAPTER") !== "off",
        idleMs: Number(env("LEARN_IDLE_MS") ?? 5 * 60_000),
        heldoutShare: 0.2,
        perFile: 2,
        // A candidate is measured on up to 200 held-out lines. At 100 (5 per file) a verdict was
        // noise: rich's candidate gained 3 and lost 2 of 81 lines, and 11 and 5 of 96 others.
        heldoutPerFile: 10,
        maxTrainSamples: 160,
        maxHeldoutSamples: 200,
        learningRate: 1e-3,
        accumulate: 2,
        epochs: 1,
        threads: Number.isInteger(threads) && threads > 0 ? threads : cores,
        rank: 8,
        maxPrefixChars: 1500,
        maxSuffixChars: 1000,
      },
    },
    limits: {
      // A 1 MB document whose every character JSON escapes as \uXXXX, with room to spare.
      maxFrameBytes: 8 * 1024 * 1024,
      maxOpenDocuments: 256,
      maxOpenDocumentChars: 64 * 1024 * 1024,
      maxConnections: 32,
      firstMessageMs: 10_000,
      frameMs: 30_000,
    },
  } satisfies Config;
}
