/**
 * Where a completion ends: at the end of the line for a single-line
 * completion, unless that line opens a construct (then where it closes); for a block, at a blank line, at a dedent out of the cursor's
 * block, or after the line limit. Used both to stop generation early and to
 * cut the final text.
 */
import { type CursorContext, indentWidth, opensBlock } from "./context.ts";

const CLOSING_LINE = /^\s*[)\]}]+[;,)]*\s*$/;

/** Cuts the text where the completion should end. */
export function limitLines(text: string, context: CursorContext): string {
  if (context.mode === "line") {
    const newline = text.indexOf("\n");
    if (newline === -1) return text;
    // `items = [` or `if ready:` completed this far goes on to where its construct closes.
    const line = context.linePrefix + text.slice(0, newline);
    if (!context.lineMayGrow || !opensBlock(line)) return text.slice(0, newline);
    return limitBlock(text, { ...context, linePrefix: line });
  }
  return limitBlock(text, context);
}

/** Cuts a block completion: at a blank line, at a dedent, after the line limit. */
function limitBlock(text: string, context: CursorContext): string {
  const lines = text.split("\n");
  const cursorIndent = indentWidth(context.linePrefix);
  const opener = opensBlock(context.linePrefix);
  const kept = [lines[0]];
  let contentLines = lines[0].trim() ? 1 : 0;
  for (let index = 1; index < lines.length; index++) {
    const line = lines[index];
    const last = index === lines.length - 1;
    if (line.trim() === "") {
      // A blank last line may still be growing; a blank line inside ends the block.
      if (!last && contentLines > 0) break;
      kept.push(line);
      continue;
    }
    const indent = indentWidth(line);
    if (indent < cursorIndent) break;
    if (opener && indent === cursorIndent) {
      if (CLOSING_LINE.test(line)) kept.push(line);
      break;
    }
    if (contentLines >= context.maxLines) break;
    kept.push(line);
    contentLines++;
  }
  return kept.join("\n");
}
