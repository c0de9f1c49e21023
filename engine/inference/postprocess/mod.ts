/**
 * Post-processing: a chain of small filters, one per file, applied in order to
 * the model's raw output.
 *
 * @module
 */
import { balanceBrackets } from "./balance_brackets.ts";
import type { CursorContext } from "./context.ts";
import { cutAtSpecialTokens } from "./cut_at_special_tokens.ts";
import { extractChatCode } from "./extract_chat_code.ts";
import { indentBlockBody } from "./indent_block_body.ts";
import { limitLines } from "./limit_lines.ts";
import { trimSuffixOverlap } from "./trim_suffix_overlap.ts";
import { dropTrivial } from "./drop_trivial.ts";
import { dropRepeatedLine } from "./drop_repeated_line.ts";
import { trimRestatedPrefix } from "./trim_restated_prefix.ts";

export { completionMode, lineMayGrow } from "./context.ts";
export type { CompletionMode, CursorContext } from "./context.ts";

/** One step of post-processing. */
export type Filter = (text: string, context: CursorContext) => string;

const FILTERS: Filter[] = [
  cutAtSpecialTokens,
  extractChatCode,
  indentBlockBody,
  limitLines,
  trimSuffixOverlap,
  balanceBrackets,
  trimRestatedPrefix,
  dropRepeatedLine,
  dropTrivial,
];

/** Turns raw model output into the text to show; "" means show nothing. */
export function postprocess(text: string, context: CursorContext): string {
  return FILTERS.reduce((current, filter) => filter(current, context), text);
}

/**
 * Whether generation can stop: the output already runs past the end of the
 * completion. Chat output is left to finish, since its code may sit in a fence.
 */
export function isFinished(text: string, context: CursorContext): boolean {
  if (context.format === "chat") return false;
  const cut = cutAtSpecialTokens(text, context);
  return cut.length < text.length || limitLines(cut, context).length < cut.length;
}
