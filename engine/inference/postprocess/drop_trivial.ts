/**
 * Suggestions not worth showing: whitespace, or nothing but punctuation (a
 * lone `[`, `)`, `;`): a keystroke the user types faster than they read it.
 */
import type { CursorContext } from "./context.ts";

/** Only whitespace, brackets, quotes and other punctuation. */
const PUNCTUATION_ONLY = /^[\s\p{P}\p{S}]*$/u;

/** Trims trailing whitespace; returns "" when nothing of substance is left. */
export function dropTrivial(text: string, _context: CursorContext): string {
  const trimmed = text.trimEnd();
  return PUNCTUATION_ONLY.test(trimmed) ? "" : trimmed;
}
