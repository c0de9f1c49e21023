/**
 * The windows of a document the model is shown: the text before and after
 * the cursor, cut at line boundaries to a size in characters. The pipeline
 * prompts with them; learning cuts its training samples with them, so the
 * adapter learns from prompts shaped like the ones it will serve.
 */

/**
 * At most the first `maxChars` of a text, ending at a line boundary when it is
 * cut, so the model never sees half a line as the end of the file.
 */
export function headWholeLines(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text;
  const newline = text.lastIndexOf("\n", maxChars);
  return newline <= 0 ? text.slice(0, maxChars) : text.slice(0, newline + 1);
}

/** How far a cut prompt window's start moves at once, in characters. */
const WINDOW_STEP = 256;

/**
 * At most the last `maxChars` of a text (at least `maxChars - WINDOW_STEP`),
 * starting at a line boundary when it is cut.
 */
export function tailWholeLines(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text;
  // The start moves only in steps of WINDOW_STEP characters, so the keystrokes in between
  // keep the prompt's beginning, and with it the model's evaluated tokens.
  const start = Math.ceil((text.length - maxChars) / WINDOW_STEP) * WINDOW_STEP;
  const newline = text.indexOf("\n", start - 1);
  return newline === -1 ? text.slice(start) : text.slice(newline + 1);
}
