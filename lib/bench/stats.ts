/**
 * Small numeric helpers for the benchmark: a seeded PRNG (so a run can be repeated with `--seed N`) and
 * order statistics.
 */

/**
 * mulberry32: a 32-bit seeded PRNG, uniform in [0, 1). Not cryptographic; enough to place simulated
 * outages reproducibly.
 *
 *   const rand = seededRandom(42);
 *   rand(); // 0.6011037519201636, the same on every machine
 */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The median (the mean of the middle two for an even count). Throws on an empty list: a figure needs samples. */
export function median(values: number[]): number {
  if (values.length === 0) throw new Error('median of no samples');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export const min = (values: number[]): number => Math.min(...values);
export const max = (values: number[]): number => Math.max(...values);

/** Round to `digits` decimals (for printing and JSON; the arithmetic keeps full precision). */
export function round(value: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
