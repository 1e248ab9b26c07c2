/** Median and spread of a sample. */
export interface Summary {
  median: number;
  min: number;
  max: number;
  /** First and third quartiles (linear interpolation). */
  q1: number;
  q3: number;
  n: number;
}

/**
 * The value at quantile `q` (0–1) of sorted `values`, interpolated linearly.
 *
 * @example
 * ```ts
 * quantile([1, 2, 3, 4], 0.5); // 2.5
 * ```
 */
export function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const at = (sorted.length - 1) * q;
  const low = Math.floor(at);
  const high = Math.ceil(at);
  return sorted[low] + (sorted[high] - sorted[low]) * (at - low);
}

/**
 * Median, min, max and quartiles of `values`.
 *
 * @example
 * ```ts
 * summarize([3, 1, 2]).median; // 2
 * ```
 */
export function summarize(values: number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    median: quantile(sorted, 0.5),
    min: sorted[0] ?? Number.NaN,
    max: sorted.at(-1) ?? Number.NaN,
    q1: quantile(sorted, 0.25),
    q3: quantile(sorted, 0.75),
    n: sorted.length,
  };
}

/**
 * The ratios of paired runs: `a[i] / b[i]` (run i of side A against run i of side B, which ran
 * right after it).
 *
 * @example
 * ```ts
 * pairedRatios([1, 2], [2, 2]); // [0.5, 1]
 * ```
 */
export function pairedRatios(a: number[], b: number[]): number[] {
  return a.slice(0, b.length).map((value, i) => value / b[i]);
}
