/** What the post-processing filters know about the cursor. */
import type { PromptFormat } from "../prompt.ts";

/** "line": finish the current line; "block": may add several lines. */
export type CompletionMode = "line" | "block";

/** The cursor's surroundings, shared by every filter. */
export interface CursorContext {
  /** Text before the cursor, as far as the prompt saw it. */
  prefix: string;
  /** Text of the cursor's line before the cursor. */
  linePrefix: string;
  /** Text of the cursor's line after the cursor. */
  lineSuffix: string;
  /** Text after the cursor, as far as the prompt saw it. */
  suffix: string;
  mode: CompletionMode;
  /**
   * In "line" mode: whether the completion may go on past the line when the
   * line it completes opens a construct it does not close (`items = [`,
   * `if ready:`), to where that construct closes.
   */
  lineMayGrow?: boolean;
  /** At most this many lines with content in a block completion. */
  maxLines: number;
  format: PromptFormat;
  /** The document's language (VS Code's language id), where a rule is the language's own. */
  languageId?: string;
  /** Whether the cursor is inside a string or a comment, as tree-sitter tells. */
  inLiteral?: boolean;
}

/** A line ending that opens a block: a bracket, a colon, an arrow. */
const OPENS_BLOCK = /(?:[{[(:]|=>)$/;
/** What may stand after the cursor and still allow a multi-line completion. */
const CLOSERS_ONLY = /^[\s)\]}'"`;,]*$/;

/** Whether the cursor line, before the cursor, ends by opening a block. */
export function opensBlock(linePrefix: string): boolean {
  return OPENS_BLOCK.test(linePrefix.trimEnd());
}

/**
 * Decides between a single-line and a multi-line completion from the syntax
 * at the cursor: inside a string or a comment (as tree-sitter tells), or with
 * text after the cursor on its line, the user is finishing a line; an empty
 * line or a line that opens a block invites more.
 */
export function completionMode(
  linePrefix: string,
  lineSuffix: string,
  maxLines: number,
  inLiteral = false,
): CompletionMode {
  if (!lineMayGrow(lineSuffix, maxLines, inLiteral)) return "line";
  if (linePrefix.trim() === "" || opensBlock(linePrefix)) return "block";
  return "line";
}

/**
 * Whether a completion may span lines at all: not with one line allowed, not
 * inside a string or a comment, not with code after the cursor on its line.
 */
export function lineMayGrow(lineSuffix: string, maxLines: number, inLiteral = false): boolean {
  return maxLines > 1 && !inLiteral && CLOSERS_ONLY.test(lineSuffix);
}

/** Width of a line's leading whitespace, a tab counting as 4. */
export function indentWidth(line: string): number {
  let width = 0;
  for (const char of line) {
    if (char === " ") width++;
    else if (char === "\t") width += 4;
    else break;
  }
  return width;
}

/** The lines before the cursor's line, as far as the prompt saw them. */
export function linesAbove(context: CursorContext): string[] {
  return context.prefix.slice(0, context.prefix.length - context.linePrefix.length).split("\n");
}

/** Brackets a line opens minus those it closes. */
export function bracketBalance(line: string): number {
  return (line.match(/[([{]/g)?.length ?? 0) - (line.match(/[)\]}]/g)?.length ?? 0);
}
