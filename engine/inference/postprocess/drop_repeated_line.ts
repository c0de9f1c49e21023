/** A suggestion that makes the cursor's line a copy of the line above is not shown. */
import { type CursorContext, linesAbove } from "./context.ts";

/** Returns "" when the completed line would repeat the last non-empty line before it. */
export function dropRepeatedLine(text: string, context: CursorContext): string {
  const firstLine = text.split("\n")[0];
  const completed = (context.linePrefix + firstLine).trim();
  if (completed === "" || firstLine.trim() === "") return text;
  const above = linesAbove(context).findLast((line) => line.trim() !== "");
  return above !== undefined && above.trim() === completed ? "" : text;
}
