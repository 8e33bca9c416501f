/** Pure logic of the brain-alignment, neuron-factor and neighbour-search views: no DOM. */

import type { NdArray } from "../lib/arrays";

/** Index of the entry of `values` nearest to `v` (-1 when empty or `v` is not finite). */
export function nearestIndex(values: ArrayLike<number>, v: number): number {
  if (!Number.isFinite(v)) return -1;
  let best = -1;
  for (let i = 0; i < values.length; i++) {
    if (best < 0 || Math.abs(values[i] - v) < Math.abs(values[best] - v)) best = i;
  }
  return best;
}

/** A [rows, cols] row-major matrix with its rows in reverse order (deepest layer on top). */
export function flipRows(values: ArrayLike<number>, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) out[(rows - 1 - i) * cols + j] = values[i * cols + j];
  }
  return out;
}

/** log10 of each value (NaN where it is not positive), for a log-scaled axis. */
export function log10All(values: ArrayLike<number>): Float32Array {
  return Float32Array.from(Array.from(values, (v) => (v > 0 ? Math.log10(v) : NaN)));
}

/** Row `i` of a [rows, cols] array as a new Float32Array. */
export function row(arr: NdArray, i: number): Float32Array {
  const cols = arr.shape[1] ?? 0;
  if (i < 0 || i >= (arr.shape[0] ?? 0)) return new Float32Array(0);
  return arr.data.slice(i * cols, (i + 1) * cols);
}
