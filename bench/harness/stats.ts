// Small statistics helpers for latency samples and repeated runs.

/** The q-quantile (0..1) of an ascending-sorted array (nearest rank); NaN when empty. */
export function percentile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i]!;
}

export interface Spread {
  min: number;
  median: number;
  max: number;
}

/**
 * Min, median and max of repeated measurements of one figure.
 * @example spread([3, 1, 2]) // { min: 1, median: 2, max: 3 }
 */
export function spread(values: number[]): Spread {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return { min: NaN, median: NaN, max: NaN };
  const mid = v.length >> 1;
  const median = v.length % 2 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
  return { min: v[0]!, median, max: v[v.length - 1]! };
}
