/**
 * The text of every ordinary token of a model, sorted, for token healing:
 * the tokens whose text starts with a given text form one run of the
 * sorted list, found by binary search. Kept as one array of strings and
 * one of token ids: a third of the memory a Map of 150,000 entries takes.
 */
import type { Token } from "node-llama-cpp";

/** Token texts in UTF-16 code-unit order, with their tokens. */
export class TokenTexts {
  #texts: string[];
  #tokens: Uint32Array;

  /** @param entries Each token's text; texts holding part of a character are left out. */
  constructor(entries: Iterable<[text: string, token: Token]>) {
    const sorted = [...entries]
      .filter(([text]) => !text.includes("\uFFFD"))
      .sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0);
    this.#texts = sorted.map(([text]) => text);
    this.#tokens = Uint32Array.from(sorted, ([, token]) => token);
  }

  /** The tokens whose text starts with `prefix` (`prefix` itself among them), with their texts. */
  *startingWith(prefix: string): Generator<[text: string, token: Token]> {
    let low = 0, high = this.#texts.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.#texts[middle] < prefix) low = middle + 1;
      else high = middle;
    }
    for (let index = low; index < this.#texts.length; index++) {
      const text = this.#texts[index];
      if (!text.startsWith(prefix)) return;
      yield [text, this.#tokens[index] as Token];
    }
  }
}
