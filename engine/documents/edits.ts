/**
 * Where an edit left the cursor, worked out from the text before and after it,
 * for clients that send whole documents and no cursor (LSP with full sync).
 */

/**
 * The offset just after what an edit inserted, when it inserted something and
 * removed nothing, and the insertion holds a line break or is longer than two
 * characters: Enter, an accepted suggestion, a paste (for Enter between
 * brackets, two new lines, the end of the first). The cursor is there, and
 * the next suggestion will be asked for there. Undefined for anything else: a
 * key typed, an auto-closed pair (the cursor is inside it), a deletion, a
 * replacement. Where the insertion could sit at several places (a line break
 * added among blank lines), the first is taken: the text after it is matched
 * first, as Enter at the end of a line reads.
 */
export function insertionEnd(before: string, after: string): number | undefined {
  const inserted = after.length - before.length;
  if (inserted < 1) return undefined;
  let suffix = 0;
  while (
    suffix < before.length &&
    before.charCodeAt(before.length - 1 - suffix) === after.charCodeAt(after.length - 1 - suffix)
  ) suffix++;
  const start = before.length - suffix;
  // Nothing removed: what is left of `before` must be the start of `after`.
  if (!after.startsWith(before.slice(0, start))) return undefined;
  const text = after.slice(start, start + inserted);
  if (inserted <= 2 && !/[\r\n]/.test(text)) return undefined;
  // Enter between brackets: the editor adds the closing bracket's line too, and the cursor
  // stays on the first new line, after its indentation.
  const blank = /^(\r?\n[ \t]*)\r?\n[ \t]*$/.exec(text);
  return start + (blank ? blank[1].length : inserted);
}
