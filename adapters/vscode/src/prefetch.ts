/**
 * When to send `document/prefetch`, worked out from editor events without VS
 * Code: the cursor arrived somewhere the next suggestion will be asked for (a
 * document opened or focused, the cursor on another line, a suggestion
 * accepted), so the sidecar makes the completion there ahead. Typing within a
 * line sends nothing: the editor's own inline-completion requests cover it.
 */

/** Where the cursor is: the document and a position in it. */
export interface PrefetchTarget {
  uri: string;
  line: number;
  character: number;
}

/** A timer, injectable so that tests can run the debounce by hand. */
export interface PrefetchTimer {
  set(callback: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

/** Waits this long after the last event of a burst before sending. */
export const PREFETCH_DELAY_MS = 150;

export interface PrefetcherOptions<T extends PrefetchTarget> {
  /** Sends the prefetch (syncing the document first); a throw is ignored. */
  send(target: T): void;
  /** The debounce, in milliseconds. */
  delayMs?: number;
  timer?: PrefetchTimer;
}

const realTimer: PrefetchTimer = {
  set: (callback, ms) => setTimeout(callback, ms),
  clear: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/**
 * Fed the editor's events, sends at most one prefetch per burst of them, at
 * the cursor where the burst ended. `T` may carry what the sender needs (the
 * editor's document, its version); the decisions use only the uri and position.
 */
export class Prefetcher<T extends PrefetchTarget> {
  #send: (target: T) => void;
  #delayMs: number;
  #timer: PrefetchTimer;
  /** The line of the last prefetch sent or completion asked for. */
  #last?: { uri: string; line: number };
  #pending?: { target: T; handle: unknown };

  constructor(options: PrefetcherOptions<T>) {
    this.#send = options.send;
    this.#delayMs = options.delayMs ?? PREFETCH_DELAY_MS;
    this.#timer = options.timer ?? realTimer;
  }

  /** What would be sent when the debounce ends, if anything. */
  get pending(): T | undefined {
    return this.#pending?.target;
  }

  /**
   * Another editor became active (a document opened or focused); `target` is
   * its cursor, undefined when it is not one to complete in. Prefetches there
   * after the debounce, wherever the last prefetch was.
   */
  focused(target: T | undefined): void {
    this.#cancel();
    if (target) this.#schedule(target);
  }

  /**
   * The active editor's cursor moved to `target`; undefined when it is not a
   * place to complete (text selected, a document not completed).
   * Prefetches after the debounce when the cursor is on another line than the
   * last prefetch or completion; a move within that line sends nothing. A
   * prefetch still waiting follows the cursor, and is dropped when the cursor
   * went back to the last line.
   */
  moved(target: T | undefined): void {
    if (!target) return this.#cancel();
    const pending = this.#pending?.target;
    const onPendingLine = pending?.uri === target.uri && pending.line === target.line;
    if (!onPendingLine && this.#sameLine(target)) return this.#cancel();
    this.#schedule(target);
  }

  /**
   * A suggestion was accepted and the cursor is at `target` after it: prefetches
   * there at once, for the request the editor makes next at the same place.
   */
  accepted(target: T | undefined): void {
    this.#cancel();
    if (target) this.#fire(target);
  }

  /**
   * The editor asked for a completion at this line: a prefetch still waiting
   * is dropped (it would cancel that request), and moves within the line send nothing.
   */
  completing(uri: string, line: number): void {
    this.#cancel();
    this.#last = { uri, line };
  }

  /** Drops a prefetch still waiting. */
  dispose(): void {
    this.#cancel();
  }

  #sameLine(target: PrefetchTarget): boolean {
    return this.#last?.uri === target.uri && this.#last.line === target.line;
  }

  #schedule(target: T): void {
    this.#cancel();
    const handle = this.#timer.set(() => {
      if (this.#pending?.handle !== handle) return;
      this.#pending = undefined;
      this.#fire(target);
    }, this.#delayMs);
    this.#pending = { target, handle };
  }

  #cancel(): void {
    if (!this.#pending) return;
    this.#timer.clear(this.#pending.handle);
    this.#pending = undefined;
  }

  #fire(target: T): void {
    this.#last = { uri: target.uri, line: target.line };
    try {
      this.#send(target);
    } catch {
      // A prefetch is a hint: a failure to send it costs only the head start.
    }
  }
}
