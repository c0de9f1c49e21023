/**
 * The generator's lifecycle: loads in the background, tells whether it is
 * loading, ready or failed, and lets requests wait for it within a bound.
 */
import { ErrorCode, type ServerState } from "../protocol/mod.ts";
import { EngineError } from "../protocol/errors.ts";
import type { Logger } from "../log/mod.ts";
import type { Generator } from "./generator.ts";

/** Loads the generator, stopping when `signal` aborts; throws with a message that names the fix. */
export type GeneratorLoader = (signal: AbortSignal) => Promise<Generator>;

/** Holds the generator while it loads and after. */
export class ModelHost {
  #load: GeneratorLoader;
  #log: Logger;
  #state: ServerState = "loading";
  #error?: string;
  #errorCode: number = ErrorCode.ModelMissing;
  #loading?: Promise<Generator>;
  #generator?: Generator;
  #listeners = new Set<() => void>();
  /** Aborted by dispose(): a load still running stops instead of being waited for. */
  #stopLoading = new AbortController();

  constructor(load: GeneratorLoader, log: Logger) {
    this.#load = load;
    this.#log = log;
  }

  /** "loading", "ready" or "error". */
  get state(): ServerState {
    return this.#state;
  }

  /** Why loading failed. */
  get error(): string | undefined {
    return this.#error;
  }

  /** The loaded generator, if any. */
  get generator(): Generator | undefined {
    return this.#generator;
  }

  /** Calls `listener` whenever the state changes. */
  onChange(listener: () => void): void {
    this.#listeners.add(listener);
  }

  /** Starts loading in the background; safe to call more than once. */
  start(): void {
    if (this.#loading) return;
    const started = performance.now();
    this.#loading = this.#load(this.#stopLoading.signal);
    this.#loading.then(
      (generator) => {
        this.#generator = generator;
        this.#log.info(
          `Model ready: ${generator.modelName} (${generator.format}) in ${
            Math.round(performance.now() - started)
          } ms`,
        );
        this.#setState("ready");
      },
      (error: Error) => {
        if (this.#stopLoading.signal.aborted) return; // Stopped on purpose: not a failure.
        this.#error = error.message;
        // ModelMissingError is an EngineError: a missing, truncated or foreign file is ModelMissing.
        this.#errorCode = error instanceof EngineError ? error.code : ErrorCode.InternalError;
        this.#log.error(`Model failed to load: ${error.message}`);
        this.#setState("error");
      },
    );
  }

  /**
   * Waits for the generator, at most `waitMs`.
   *
   * @throws EngineError ModelNotReady after the wait, ModelMissing on failure.
   */
  async ready(signal: AbortSignal, waitMs: number): Promise<Generator> {
    if (this.#generator) return this.#generator;
    if (this.#state === "error" || !this.#loading) {
      throw new EngineError(this.#errorCode, this.#error ?? "Model not loaded");
    }
    // One promise for both ways the wait can end early; the listener and the timer go
    // when the wait ends. A signal aborted before the wait fails at once.
    const interrupted = Promise.withResolvers<never>();
    const onAbort = () => interrupted.reject(signal.reason);
    const timer = setTimeout(() =>
      interrupted.reject(
        new EngineError(
          ErrorCode.ModelNotReady,
          `Model not ready: still loading after ${waitMs} ms; watch \`status\` and retry`,
        ),
      ), waitMs);
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      signal.throwIfAborted();
      return await Promise.race([this.#loading, interrupted.promise]);
    } catch (error) {
      if (error instanceof EngineError || signal.aborted) throw error;
      throw new EngineError(this.#errorCode, (error as Error).message);
    } finally {
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
    }
  }

  /** Stops a load still running, and frees the model. */
  async dispose(): Promise<void> {
    this.#stopLoading.abort();
    await this.#loading?.catch(() => undefined);
    await this.#generator?.dispose();
  }

  #setState(state: ServerState): void {
    this.#state = state;
    for (const listener of this.#listeners) listener();
  }
}
