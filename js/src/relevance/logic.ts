/** Pure logic of the relevance view (no DOM): colour normalisation of relevance rows, curves. */

import { divergingScale, rgbToCss, textColorOn, type RGB } from "../lib/colors";
import type { NdArray } from "../lib/arrays";

export type Normalize = "shared" | "row";

/** Largest finite |value| of `values`, or 1 when there is none (or it is 0). */
export function maxAbs(values: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (Number.isFinite(v) && Math.abs(v) > m) m = Math.abs(v);
  }
  return m > 0 ? m : 1;
}

/**
 * Colour limits of the rows of a [rows, cols] matrix: one limit per row, either each row's own
 * max |value| ("row") or the max over all rows ("shared"), so that ±limit map to the ends of the
 * diverging scale and 0 to its neutral middle.
 */
export function rowLimits(data: ArrayLike<number>, rows: number, cols: number, mode: Normalize): number[] {
  const own = Array.from({ length: rows }, (_, r) => maxAbs(Array.prototype.slice.call(data, r * cols, (r + 1) * cols)));
  if (mode === "row") return own;
  const shared = maxAbs(data);
  return own.map(() => shared);
}

export interface TokenStyle {
  background: string;
  color: string;
  rgb: RGB;
}

/** Background and text colour of a token with relevance `value` under limit `limit`; null for NaN. */
export function tokenStyle(value: number, limit: number): TokenStyle | null {
  const rgb = divergingScale(limit).rgb(value);
  if (!rgb) return null;
  return { background: rgbToCss(rgb), color: textColorOn(rgb), rgb };
}

/** Row `row` of step `step` of scores [S, M, T]. */
export function stepRow(scores: NdArray, step: number, row: number): Float32Array {
  const [, M, T] = scores.shape;
  const start = (step * M + row) * T;
  return scores.data.subarray(start, start + T);
}

/** Rows [M, T] of step `step` of scores [S, M, T]. */
export function stepMatrix(scores: NdArray, step: number): Float32Array {
  const [, M, T] = scores.shape;
  return scores.data.subarray(step * M * T, (step + 1) * M * T);
}

/** The tokens a generation step reads: `nPrompt + step` (all tokens when not a generation). */
export function prefixLength(nPrompt: number, step: number, nTokens: number, nSteps: number): number {
  return nSteps > 1 || nPrompt < nTokens ? Math.min(nTokens, nPrompt + step) : nTokens;
}

/** Faithfulness series for a line chart: MoRF then LeRF of each method, with their labels. */
export function faithSeries(morf: NdArray, lerf: NdArray, methods: readonly string[]): { series: Float32Array[]; labels: string[] } {
  const [M, F] = morf.shape;
  const series: Float32Array[] = [];
  const labels: string[] = [];
  for (let m = 0; m < (M ?? 0); m++) {
    series.push(morf.data.subarray(m * F, (m + 1) * F), lerf.data.subarray(m * F, (m + 1) * F));
    labels.push(`${methods[m] ?? m} MoRF`, `${methods[m] ?? m} LeRF`);
  }
  return { series, labels };
}

/** Indices of the `k` largest finite values of `values` (largest first). */
export function topIndices(values: ArrayLike<number>, k: number): number[] {
  return Array.from({ length: values.length }, (_, i) => i)
    .filter((i) => Number.isFinite(values[i]))
    .sort((a, b) => values[b] - values[a] || a - b)
    .slice(0, k);
}
