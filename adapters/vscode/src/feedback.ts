/**
 * What the user did with the suggestion on screen, worked out from editor
 * events: accepted (the item's command ran after VS Code inserted it), partial
 * (part of it was inserted word by word or typed through, then the user went
 * on), rejected (typed over, dismissed, or replaced by another suggestion with
 * nothing of it kept). A quick suggestion that its full one replaced in place
 * gets no outcome.
 */
import type { FeedbackRequest } from "../../../engine/protocol/mod.ts";

/** The suggestion on screen. */
interface Shown {
  id: string;
  uri: string;
  /** Offset of the cursor when it was shown. */
  offset: number;
  text: string;
  /** How much of `text` is in the document so far. */
  kept: string;
}

/** Turns editor events into `feedback` messages, each suggestion settled once. */
export class FeedbackTracker {
  #shown?: Shown;

  /**
   * A suggestion was shown; the one before it, if still open, is settled,
   * unless it is `replaces`, the quick suggestion this full one took the place
   * of with nothing of it kept: the user did not turn that one down.
   */
  shown(
    id: string,
    uri: string,
    offset: number,
    text: string,
    replaces?: string,
  ): FeedbackRequest.Params[] {
    if (this.#shown?.id === id) return [];
    const replaced = this.#shown !== undefined && this.#shown.id === replaces &&
      this.#shown.uri === uri && this.#shown.offset === offset && this.#shown.kept === "";
    const settled = replaced ? [] : this.#settle();
    this.#shown = { id, uri, offset, text, kept: "" };
    return settled;
  }

  /** The accept command of suggestion `id` ran: VS Code inserted all of it. */
  accepted(id: string): FeedbackRequest.Params[] {
    if (this.#shown?.id !== id) return [];
    this.#shown = undefined;
    return [{ id, outcome: "accepted" }];
  }

  /**
   * The document changed: `inserted` replaced `removedLength` characters at
   * `offset`. Text that continues the suggestion is kept; anything else settles it.
   */
  edited(
    uri: string,
    offset: number,
    removedLength: number,
    inserted: string,
  ): FeedbackRequest.Params[] {
    const shown = this.#shown;
    if (!shown || shown.uri !== uri) return [];
    const continues = removedLength === 0 && offset === shown.offset + shown.kept.length &&
      inserted.length > 0 && shown.text.startsWith(shown.kept + inserted);
    if (continues) {
      shown.kept += inserted;
      return [];
    }
    return this.#settle();
  }

  /** The cursor is at `offset`: anywhere but the end of what was kept settles the suggestion. */
  cursorAt(uri: string, offset: number): FeedbackRequest.Params[] {
    const shown = this.#shown;
    if (!shown || (shown.uri === uri && offset === shown.offset + shown.kept.length)) return [];
    return this.#settle();
  }

  /** The suggestion went away: Escape, another editor. */
  dismissed(): FeedbackRequest.Params[] {
    return this.#settle();
  }

  #settle(): FeedbackRequest.Params[] {
    const shown = this.#shown;
    this.#shown = undefined;
    if (!shown) return [];
    if (shown.kept === shown.text) return [{ id: shown.id, outcome: "accepted" }];
    if (shown.kept) return [{ id: shown.id, outcome: "partial", acceptedText: shown.kept }];
    return [{ id: shown.id, outcome: "rejected" }];
  }
}
