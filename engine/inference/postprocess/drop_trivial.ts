/** Whitespace-only suggestions are not worth showing. */
import type { CursorContext } from "./context.ts";

/** Trims trailing whitespace; returns "" when nothing but whitespace is left. */
export function dropTrivial(text: string, _context: CursorContext): string {
  const trimmed = text.trimEnd();
  return trimmed.trim() === "" ? "" : trimmed;
}
