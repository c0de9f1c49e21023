/**
 * The full suggestion after a quick one. At a place the model had not
 * evaluated yet, the sidecar answers first from the part of the prompt nearest
 * the cursor (`timings.shortened`) and goes on making the full completion in
 * the background; asked again at the same cursor, it answers with that. While
 * the editor stays where the quick answer was shown, the extension asks again,
 * and when the full answer says something else, has the editor show it in
 * place of the quick one. Outside VS Code, so that tests can drive it.
 */
import type { CompleteRequest } from "../../../engine/protocol/mod.ts";

/** A cursor in a document at one version. */
export interface Place {
  uri: string;
  version: number;
  line: number;
  character: number;
}

/** What the quick answer put on screen. */
export interface QuickShown {
  id: string;
  text: string;
}

export interface FullSuggestionOptions {
  /** Asks the sidecar again at `place`; `signal` aborts when the editor moved on. */
  ask(place: Place, signal: AbortSignal): Promise<CompleteRequest.Result>;
  /** Has the editor ask for its suggestion at `place` again, which `take` then answers. */
  reshow(place: Place): void;
}

/** The full answer to show at a place, and the quick suggestion it replaces there. */
export interface FullAnswer {
  result: CompleteRequest.Result;
  replaces?: string;
}

/** Whether two places are the same cursor in the same version of a document. */
export function samePlace(a: Place, b: Place): boolean {
  return a.uri === b.uri && a.version === b.version && a.line === b.line &&
    a.character === b.character;
}

export class FullSuggestion {
  #options: FullSuggestionOptions;
  #waiting?: { place: Place; controller: AbortController };
  #ready?: { place: Place; answer: FullAnswer };

  constructor(options: FullSuggestionOptions) {
    this.#options = options;
  }

  /**
   * A shortened answer came at `place`, and `shown` is what of it is on screen
   * (undefined: nothing was worth showing). Asks for the full one; the editor
   * is asked again only when that shows something else.
   */
  quick(place: Place, shown: QuickShown | undefined): void {
    this.left();
    const controller = new AbortController();
    const waiting = { place, controller };
    this.#waiting = waiting;
    this.#options.ask(place, controller.signal).then((result) => {
      if (this.#waiting !== waiting) return;
      this.#waiting = undefined;
      const item = result.items[0];
      if (result.timings.shortened || !item || item.text === shown?.text) return;
      this.#ready = { place, answer: { result, replaces: shown?.id } };
      this.#options.reshow(place);
    }, () => {
      // Cancelled, superseded by the editor's own request, or the sidecar went away: the quick
      // suggestion stays, and the editor's next request gets whatever is current.
      if (this.#waiting === waiting) this.#waiting = undefined;
    });
  }

  /**
   * The editor asks for a suggestion at `place`: the full answer when it is
   * ready there, once. One held for another place stays until the editor leaves it.
   */
  take(place: Place): FullAnswer | undefined {
    const ready = this.#ready;
    if (!ready || !samePlace(ready.place, place)) return undefined;
    this.#ready = undefined;
    return ready.answer;
  }

  /**
   * The editor is now at `place` (undefined: it moved on, to another editor or
   * none): unless that is where the quick answer was shown, the full one is
   * dropped, and asking for it cancelled.
   */
  left(place?: Place): void {
    const waiting = this.#waiting;
    if (waiting && !(place && samePlace(waiting.place, place))) {
      this.#waiting = undefined;
      waiting.controller.abort();
    }
    if (this.#ready && !(place && samePlace(this.#ready.place, place))) this.#ready = undefined;
  }
}
