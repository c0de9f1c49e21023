/**
 * Chat models answer in prose and fences, and often echo the code around the
 * cursor, even when told not to: keep only the new code.
 */
import { CURSOR_MARKER } from "../prompt.ts";
import type { CursorContext } from "./context.ts";

const FENCE = /```[^\n]*\n?([\s\S]*?)(?:```|$)/;

/** Reduces a chat answer to the code to insert; FIM output passes through. */
export function extractChatCode(text: string, context: CursorContext): string {
  if (context.format !== "chat") return text;
  const fenced = FENCE.exec(text);
  const answer = (fenced ? fenced[1] : text).replaceAll(CURSOR_MARKER, "");
  const lines = answer.split("\n");
  // Drop lines that only repeat code already before the cursor.
  const before = new Set(context.prefix.split("\n").map((line) => line.trim()).filter(Boolean));
  const typed = context.linePrefix.trim();
  let first = 0;
  while (
    first < lines.length &&
    (lines[first].trim() === "" ||
      (before.has(lines[first].trim()) && lines[first].trim() !== typed))
  ) first++;
  let code = lines.slice(first).join("\n");
  if (typed && code.trimStart().startsWith(typed)) {
    code = code.trimStart().slice(typed.length);
  }
  if (/\s$/.test(context.linePrefix)) {
    // The cursor already stands after whitespace; the answer's own indent is noise.
    code = code.replace(/^[ \t]+/, "");
  }
  return code;
}
