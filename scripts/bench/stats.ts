/** Statistics shared by the bench suites. */

/** Median, min, max and p95 of a list of numbers, rounded to 0.1. */
export function stats(values: number[]) {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  const round = (value: number) => Math.round(value * 10) / 10;
  return {
    median: round(at(0.5)),
    p95: round(at(0.95)),
    min: round(sorted[0]),
    max: round(sorted.at(-1)!),
    n: sorted.length,
  };
}

/** Shuffles `items` in place (Fisher-Yates) with `random`, so a seeded generator gives the same order every run. */
export function shuffleInPlace<T>(items: T[], random: () => number): T[] {
  for (let index = items.length - 1; index > 0; index--) {
    const other = Math.floor(random() * (index + 1));
    [items[index], items[other]] = [items[other], items[index]];
  }
  return items;
}

/** A seeded generator, so every run picks the same samples. */
export function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

/** 1 less the edit distance over the longer length: 1 for equal texts, 0 for nothing shared. */
export function editSimilarity(a: string, b: string): number {
  if (a === b) return 1;
  const row = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return 1 - row[b.length] / Math.max(a.length, b.length);
}

/** How many answers equal what was expected, and their mean edit similarity to it (to 0.001). */
export function matchScores(answers: string[], expected: string[]) {
  const similarity = answers.reduce(
    (sum, answer, index) => sum + editSimilarity(answer, expected[index]),
    0,
  );
  return {
    exact: answers.filter((answer, index) => answer === expected[index]).length,
    meanEditSimilarity: Math.round(similarity / Math.max(1, answers.length) * 1000) / 1000,
  };
}

/**
 * Samples this process's RSS every `everyMs` from now; `stop` ends it and
 * gives the peak seen, in MB (a spike between samples can be missed).
 */
export function rssPeak(everyMs = 50): { stop: () => number } {
  let peak = Deno.memoryUsage().rss;
  const sampler = setInterval(() => peak = Math.max(peak, Deno.memoryUsage().rss), everyMs);
  return {
    stop: () => {
      clearInterval(sampler);
      return Math.round(Math.max(peak, Deno.memoryUsage().rss) / 1e6);
    },
  };
}
