/**
 * Splits a file into chunks for retrieval: whole blocks (a function, a class,
 * a group of imports) where the syntax tree shows them (or, without a
 * grammar, where the layout does), and sliding windows inside blocks that are
 * still too long.
 */

/** A piece of a file with its place in it; lines are 1-based and inclusive. */
export interface Chunk {
  path: string;
  startLine: number;
  endLine: number;
  text: string;
}

/** Blocks longer than this are cut into windows. */
const MAX_LINES = 60;
/** Window size and overlap inside long blocks. */
const WINDOW_LINES = 40;
const WINDOW_OVERLAP = 10;
/** Consecutive small blocks (imports, constants) are merged up to this size. */
const MERGE_LINES = 30;

/** A line that can start a top-level block: not indented, not a closing bracket. */
const TOP_LEVEL_START = /^[^\s)\]}]/;

/**
 * Chunks a file's text.
 *
 * @param blockStarts 0-based lines where syntax blocks start (tree-sitter);
 *   without them, blocks start at unindented lines after a blank line.
 * @returns Chunks in file order, none of them blank.
 */
export function chunkText(path: string, text: string, blockStarts?: number[]): Chunk[] {
  const lines = text.split("\n");
  const starts = blockStarts?.filter((line) => line < lines.length) ?? layoutBlockStarts(lines);
  if (starts[0] !== 0) starts.unshift(0);
  const blocks: [number, number][] = starts.map((start, index) => [
    start,
    (starts[index + 1] ?? lines.length) - 1,
  ]);
  const merged: [number, number][] = [];
  for (const block of blocks) {
    const last = merged.at(-1);
    if (last && block[1] - last[0] < MERGE_LINES && block[0] - last[0] < MERGE_LINES / 2) {
      last[1] = block[1];
    } else {
      merged.push([...block]);
    }
  }
  const chunks: Chunk[] = [];
  for (const [start, end] of merged) {
    for (const [from, to] of windows(start, end)) {
      let last = to;
      while (last > from && lines[last].trim() === "") last--;
      const body = lines.slice(from, last + 1).join("\n");
      if (body.trim() === "") continue;
      chunks.push({ path, startLine: from + 1, endLine: last + 1, text: body });
    }
  }
  return chunks;
}

/** Unindented lines after a blank line: where blocks start in most code. */
function layoutBlockStarts(lines: string[]): number[] {
  const starts: number[] = [];
  for (let index = 0; index < lines.length; index++) {
    const previousBlank = index === 0 || lines[index - 1].trim() === "";
    if (previousBlank && TOP_LEVEL_START.test(lines[index])) starts.push(index);
  }
  return starts;
}

function windows(start: number, end: number): [number, number][] {
  if (end - start + 1 <= MAX_LINES) return [[start, end]];
  const result: [number, number][] = [];
  for (let from = start; from <= end; from += WINDOW_LINES - WINDOW_OVERLAP) {
    result.push([from, Math.min(end, from + WINDOW_LINES - 1)]);
    if (from + WINDOW_LINES - 1 >= end) break;
  }
  return result;
}
