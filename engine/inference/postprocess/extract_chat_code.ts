/**
 * Chat models answer in fences and prose, and echo the code around the
 * cursor: keep only the code that is new at the cursor.
 */
import { CURSOR_MARKER } from "../prompt.ts";
import type { CursorContext } from "./context.ts";

const FENCE = /```[^\n]*\n?([\s\S]*?)(?:```|$)/;
/** Shortest line worth recognising as an echo inside a longer line. */
const MIN_ECHO = 4;

/** Reduces a chat answer to the code to insert; FIM output passes through. */
export function extractChatCode(text: string, context: CursorContext): string {
  if (context.format !== "chat") return text;
  const fenced = FENCE.exec(text);
  const answer = stripPartialMarker((fenced ? fenced[1] : text).replaceAll(CURSOR_MARKER, ""));
  const typed = context.linePrefix.trim();
  const before = context.prefix.split("\n").map((line) => line.trim()).filter(Boolean);
  const isEcho = (line: string) => {
    const trimmed = line.trim();
    if (trimmed === "") return true;
    if (trimmed === typed) return false;
    return before.includes(trimmed) ||
      (trimmed.length >= MIN_ECHO && before.some((known) => known.includes(trimmed)));
  };
  const lines = answer.split("\n");
  let first = 0;
  while (first < lines.length && isEcho(lines[first])) first++;
  let code = lines.slice(first).join("\n");
  if (typed) {
    // Asked for the whole line, an answer that does not start as the line does is a rewrite.
    const line = code.trimStart();
    if (!line.startsWith(typed)) return context.mode === "line" ? "" : code;
    code = line.slice(typed.length);
  }
  return /\s$/.test(context.linePrefix) ? code.replace(/^[ \t]+/, "") : code;
}

/** Drops a cursor marker cut off by the token limit at the end of the answer. */
function stripPartialMarker(text: string): string {
  for (let length = CURSOR_MARKER.length - 1; length > 0; length--) {
    if (text.endsWith(CURSOR_MARKER.slice(0, length))) return text.slice(0, -length);
  }
  return text;
}
