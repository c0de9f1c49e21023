/** Never repeats the text that already follows the cursor. */
import type { CursorContext } from "./context.ts";

const LEADING_CLOSERS = /^[)\]}'"`;,:]+/;

/**
 * On the cursor's line, drops a repeat of the rest of the line (or of the
 * closing brackets it starts with); in a block, cuts at the first line that
 * equals the next line of the suffix.
 */
export function trimSuffixOverlap(text: string, context: CursorContext): string {
  const rest = context.lineSuffix.trim();
  let trimmed = text.trimEnd();
  if (rest) {
    const closers = LEADING_CLOSERS.exec(rest)?.[0];
    if (trimmed.endsWith(rest)) trimmed = trimmed.slice(0, -rest.length);
    else if (closers && trimmed.endsWith(closers)) trimmed = trimmed.slice(0, -closers.length);
  }
  const nextLine = context.suffix.split("\n").slice(1).map((line) => line.trim()).find(
    (line) => line !== "",
  );
  if (!nextLine) return trimmed;
  const lines = trimmed.split("\n");
  const repeatAt = lines.findIndex((line, index) => index > 0 && line.trim() === nextLine);
  return repeatAt === -1 ? trimmed : lines.slice(0, repeatAt).join("\n");
}
