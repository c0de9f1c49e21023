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

/** A seeded generator, so every run picks the same samples. */
export function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}
