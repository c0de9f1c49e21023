/**
 * In Python the first line of a block is indented deeper than the `if ready:`
 * that opens it, or the file does not parse (IndentationError). A small model
 * on the empty line below an opener often writes the opener's own depth (a run
 * of spaces is one token, and it picks the shorter run): such a suggestion is
 * shifted, every line alike, to one indent step deeper than the opener.
 */
import { bracketBalance, type CursorContext, indentWidth, linesAbove } from "./context.ts";

/** A Python line's code that opens a block: it ends with a colon. */
const PYTHON_OPENER = /:\s*$/;
/** How far back the file's indent step is read. */
const INDENT_SAMPLE_LINES = 200;

/** Shifts a suggestion that would not be indented under the block opener above it. */
export function indentBlockBody(text: string, context: CursorContext): string {
  if (context.languageId !== "python" || context.inLiteral) return text;
  if (context.linePrefix.trim() !== "") return text;
  const above = linesAbove(context);
  const openerAt = above.findLastIndex((line) => line.trim() !== "");
  const opener = above[openerAt];
  if (opener === undefined || !PYTHON_OPENER.test(withoutComment(opener))) return text;
  const lines = text.split("\n");
  const first = lines.findIndex((line) => line.trim() !== "");
  if (first === -1) return text;
  // Only the cursor's own line starts after what is typed on it.
  const depth = indentWidth((first === 0 ? context.linePrefix : "") + lines[first]);
  const statement = indentWidth(above[statementStart(above, openerAt)]);
  if (depth > statement) return text;
  const step = indentStep(above);
  const shift = statement + step.width - depth;
  const pad = step.unit === "\t" ? "\t".repeat(Math.ceil(shift / step.width)) : " ".repeat(shift);
  return lines.map((line) => line.trim() === "" ? line : pad + line).join("\n");
}

/** A Python line without its comment: up to the first `#` outside a string. */
function withoutComment(line: string): string {
  let quote = "";
  for (let index = 0; index < line.length; index++) {
    const char = line[index];
    if (quote) {
      if (char === "\\") index++;
      else if (char === quote) quote = "";
    } else if (char === "'" || char === '"') quote = char;
    else if (char === "#") return line.slice(0, index);
  }
  return line;
}

/**
 * Where the statement ending at line `last` starts: an opener that closes
 * brackets opened above (`if (a and\n        b):`) is indented by its first line.
 */
function statementStart(lines: string[], last: number): number {
  let index = last;
  let balance = bracketBalance(lines[index]);
  while (balance < 0 && index > 0) balance += bracketBalance(lines[--index]);
  return index;
}

/**
 * The file's indent step: a tab where the lines are indented with tabs,
 * otherwise the most common increase of indentation from one line to the
 * next in the last lines before the cursor (4 when none is seen).
 */
function indentStep(lines: string[]): { unit: " " | "\t"; width: number } {
  const code = lines.slice(-INDENT_SAMPLE_LINES).filter((line) => line.trim() !== "");
  if (code.some((line) => line.startsWith("\t"))) return { unit: "\t", width: indentWidth("\t") };
  const counts = new Map<number, number>();
  for (let index = 1; index < code.length; index++) {
    const increase = indentWidth(code[index]) - indentWidth(code[index - 1]);
    if (increase > 0) counts.set(increase, (counts.get(increase) ?? 0) + 1);
  }
  let width = 4;
  let seen = 0;
  for (const [increase, count] of counts) {
    if (count > seen || (count === seen && increase < width)) [width, seen] = [increase, count];
  }
  return { unit: " ", width };
}
