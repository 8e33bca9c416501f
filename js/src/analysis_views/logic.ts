/** Pure logic of the attention-analysis views (no DOM): scatter layout, flow graph edges, curves. */

import { interpolateStops, type RGB } from "../lib/colors";
import type { NdArray } from "../lib/arrays";

const VIRIDIS: RGB[] = [
  [68, 1, 84],
  [59, 82, 139],
  [33, 145, 140],
  [94, 201, 98],
  [253, 231, 37],
];

/** Colour of layer `layer` of `n` (viridis, first layer dark purple, last yellow). */
export function layerColor(layer: number, n: number): RGB {
  return interpolateStops(VIRIDIS, n > 1 ? layer / (n - 1) : 0);
}

/** Row `index` of the leading axis of `arr` as a new NdArray (e.g. one layer of [L, T, T]). */
export function slab(arr: NdArray, index: number): NdArray {
  const shape = arr.shape.slice(1);
  const size = shape.reduce((n, d) => n * d, 1);
  return { shape, data: arr.data.subarray(index * size, (index + 1) * size) };
}

/** Mean over the leading axis of `arr` ([H, ...] -> [...]), NaN entries skipped. */
export function meanLeading(arr: NdArray): NdArray {
  const shape = arr.shape.slice(1);
  const size = shape.reduce((n, d) => n * d, 1);
  const sum = new Float32Array(size);
  const count = new Uint32Array(size);
  for (let h = 0; h < (arr.shape[0] ?? 0); h++) {
    for (let i = 0; i < size; i++) {
      const v = arr.data[h * size + i];
      if (Number.isFinite(v)) {
        sum[i] += v;
        count[i] += 1;
      }
    }
  }
  return { shape, data: sum.map((s, i) => (count[i] ? s / count[i] : NaN)) };
}

export interface Point {
  index: number;
  layer: number;
  head: number;
  x: number;
  y: number;
  px: number;
  py: number;
}

/** Linear map of the finite [min, max] of `values` to [lo, hi] (middle of the range when flat). */
export function linearMap(values: ArrayLike<number>, lo: number, hi: number): (v: number) => number {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (Number.isFinite(v)) {
      min = Math.min(min, v);
      max = Math.max(max, v);
    }
  }
  if (!(min <= max)) return () => (lo + hi) / 2;
  if (max === min) return () => (lo + hi) / 2;
  return (v) => lo + ((v - min) / (max - min)) * (hi - lo);
}

/**
 * One point per head (index = layer * nHeads + head) at (xs[i], ys[i]), placed in the pixel
 * rectangle [left, top, width, height] with y growing upwards. Heads with a non-finite
 * coordinate are left out (and do not stretch the axes).
 */
export function scatterPoints(xs: ArrayLike<number>, ys: ArrayLike<number>, nHeads: number,
  rect: [number, number, number, number]): Point[] {
  const [left, top, width, height] = rect;
  const keep = Array.from({ length: xs.length }, (_, i) => i).filter((i) => Number.isFinite(xs[i]) && Number.isFinite(ys[i]));
  const mx = linearMap(keep.map((i) => xs[i]), left, left + width);
  const my = linearMap(keep.map((i) => ys[i]), top + height, top);
  const out: Point[] = [];
  for (const i of keep) {
    out.push({ index: i, layer: Math.floor(i / nHeads), head: i % nHeads, x: xs[i], y: ys[i], px: mx(xs[i]), py: my(ys[i]) });
  }
  return out;
}

/** The point nearest to (x, y) within `radius` pixels, or null. */
export function nearestPoint(points: readonly Point[], x: number, y: number, radius: number): Point | null {
  let best: Point | null = null;
  let bestD = radius * radius;
  for (const p of points) {
    const d = (p.px - x) ** 2 + (p.py - y) ** 2;
    if (d <= bestD) {
      best = p;
      bestD = d;
    }
  }
  return best;
}

export interface Edge {
  layer: number;
  from: number;
  to: number;
  weight: number;
}

/**
 * Edges of a layered attention graph `att` [L, T, T] (query i at the output of layer l attends
 * key j at its input) with weight ≥ `threshold`. With `token` ≥ 0, only edges on paths from that
 * token at the top: layer L-1 keeps rows of `token`, each lower layer rows of the keys reached.
 */
export function graphEdges(att: NdArray, threshold: number, token = -1): Edge[] {
  const [L, T] = att.shape;
  if (!L || !T) return [];
  const edges: Edge[] = [];
  let active: boolean[] | null = null;
  if (token >= 0) {
    active = new Array(T).fill(false);
    active[token] = true;
  }
  for (let l = L - 1; l >= 0; l--) {
    const next: boolean[] = new Array(T).fill(false);
    for (let i = 0; i < T; i++) {
      if (active && !active[i]) continue;
      for (let j = 0; j < T; j++) {
        const w = att.data[(l * T + i) * T + j];
        if (w >= threshold && w > 0) {
          edges.push({ layer: l, from: i, to: j, weight: w });
          next[j] = true;
        }
      }
    }
    if (active) active = next;
  }
  return edges;
}

/** Non-zero entries of a class matrix [L, T, T] (0 none, 1 shared, 2 only a, 3 only b) as edges. */
export function classEdges(classes: NdArray): Edge[] {
  const [L, T] = classes.shape;
  const edges: Edge[] = [];
  for (let l = 0; l < (L ?? 0); l++) {
    for (let i = 0; i < T; i++) {
      for (let j = 0; j < T; j++) {
        const c = Math.round(classes.data[(l * T + i) * T + j]);
        if (c > 0) edges.push({ layer: l, from: i, to: j, weight: c });
      }
    }
  }
  return edges;
}

/** Number of edges of each class 1..3 per layer: [L][3]. */
export function classCounts(edges: readonly Edge[], nLayers: number): number[][] {
  const out = Array.from({ length: nLayers }, () => [0, 0, 0]);
  for (const e of edges) out[e.layer][e.weight - 1] += 1;
  return out;
}

/** Mixing curves: mixing [L, K, T] -> K curves of L means over tokens (NaN when no finite value). */
export function mixingCurves(mixing: NdArray): number[][] {
  const [L, K, T] = mixing.shape;
  return Array.from({ length: K ?? 0 }, (_, k) =>
    Array.from({ length: L ?? 0 }, (_, l) => {
      let sum = 0;
      let n = 0;
      for (let t = 0; t < T; t++) {
        const v = mixing.data[(l * K + k) * T + t];
        if (Number.isFinite(v)) {
          sum += v;
          n += 1;
        }
      }
      return n ? sum / n : NaN;
    }),
  );
}

/** Dimensions marked massive in any head of one layer's mask [H, D]. */
export function massiveColumns(mask: NdArray): number[] {
  const [H, D] = mask.shape;
  const out: number[] = [];
  for (let d = 0; d < D; d++) {
    for (let h = 0; h < H; h++) {
      if (mask.data[h * D + d] > 0.5) {
        out.push(d);
        break;
      }
    }
  }
  return out;
}

/** About ``count`` round tick values covering [lo, hi] (steps of 1, 2 or 5 times a power of ten). */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [];
  if (hi === lo) return [lo];
  const raw = (hi - lo) / Math.max(1, count);
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? 10 * power;
  const ticks: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) ticks.push(Math.abs(t) < step * 1e-9 ? 0 : t);
  return ticks;
}

/** Finite [min, max] over several series; log scales keep positive values only. */
export function seriesExtent(series: readonly ArrayLike<number>[], log = false): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const s of series) {
    for (let i = 0; i < s.length; i++) {
      const v = s[i];
      if (!Number.isFinite(v) || (log && v <= 0)) continue;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  return lo <= hi ? [lo, hi] : [0, 1];
}
