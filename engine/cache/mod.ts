/**
 * Recent completions, to answer without the model: the same cursor asked
 * again, or a cursor the user reached by typing the start of the suggestion
 * shown there ("typing through"), which gets the rest of it at once.
 *
 * @module
 */

/**
 * Where a completion was asked: a document, its text around the cursor, the
 * line limit, and the LoRA adapter it was made with (a newly loaded adapter
 * answers afresh).
 */
export interface CacheKey {
  uri: string;
  /** Document text before the cursor. */
  before: string;
  /** Document text after the cursor. */
  after: string;
  maxLines: number;
  adapter?: string;
}

interface Entry {
  uri: string;
  maxLines: number;
  adapter?: string;
  beforeLength: number;
  /** The end of the text before the cursor: changes further back are not noticed. */
  beforeTail: string;
  /** The start of the text after the cursor. */
  afterHead: string;
  text: string;
  shortened: boolean;
}

/** A remembered suggestion, and whether it was made from a shortened prompt (see the pipeline). */
export interface CachedSuggestion {
  text: string;
  shortened: boolean;
}

/** How much of the text around the cursor must match for a cached completion to apply. */
const BEFORE_CHARS = 2000;
const AFTER_CHARS = 1000;

/** A least-recently-used cache of completions per cursor. */
export class CompletionCache {
  #capacity: number;
  /** Least recently used first. */
  #entries: Entry[] = [];

  constructor(capacity = 64) {
    this.#capacity = capacity;
  }

  /**
   * Remembers what was suggested at a cursor ("" for nothing worth showing),
   * and whether it came from a shortened prompt, which a full one is to replace.
   */
  remember(key: CacheKey, text: string, shortened = false): void {
    const entry: Entry = {
      uri: key.uri,
      maxLines: key.maxLines,
      adapter: key.adapter,
      beforeLength: key.before.length,
      beforeTail: key.before.slice(-BEFORE_CHARS),
      afterHead: key.after.slice(0, AFTER_CHARS),
      text,
      shortened,
    };
    this.#entries = this.#entries.filter((other) => !sameCursor(other, entry));
    this.#entries.push(entry);
    if (this.#entries.length > this.#capacity) this.#entries.shift();
  }

  /**
   * The suggestion for a cursor: what was suggested there before, or the
   * rest of a suggestion whose start the user has typed since. Undefined
   * when neither applies.
   */
  lookup(key: CacheKey): CachedSuggestion | undefined {
    const afterHead = key.after.slice(0, AFTER_CHARS);
    for (let index = this.#entries.length - 1; index >= 0; index--) {
      const entry = this.#entries[index];
      if (entry.uri !== key.uri || entry.maxLines !== key.maxLines) continue;
      if (entry.adapter !== key.adapter) continue;
      const typed = key.before.length - entry.beforeLength;
      if (typed < 0 || (typed > 0 && typed >= entry.text.length)) continue;
      if (entry.afterHead !== afterHead) continue;
      if (!key.before.startsWith(entry.text.slice(0, typed), entry.beforeLength)) continue;
      if (!key.before.startsWith(entry.beforeTail, entry.beforeLength - entry.beforeTail.length)) {
        continue;
      }
      this.#entries.splice(index, 1);
      this.#entries.push(entry);
      return { text: entry.text.slice(typed), shortened: entry.shortened };
    }
    return undefined;
  }

  /** Forgets a document's completions, e.g. when it is closed. */
  forget(uri: string): void {
    this.#entries = this.#entries.filter((entry) => entry.uri !== uri);
  }

  /** How many completions are kept. */
  get size(): number {
    return this.#entries.length;
  }
}

function sameCursor(a: Entry, b: Entry): boolean {
  return a.uri === b.uri && a.maxLines === b.maxLines && a.adapter === b.adapter &&
    a.beforeLength === b.beforeLength &&
    a.beforeTail === b.beforeTail && a.afterHead === b.afterHead;
}
