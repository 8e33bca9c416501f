/** Pure logic of the output-analysis views (model map, compass, opinions, battery): no DOM. */

import type { NdArray } from "../lib/arrays";
import { formatNumber } from "../lib/format";

const CATEGORY_COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
  "#bcbd22", "#17becf"];

/** One colour per distinct category, in first-seen order (cycling after ten). */
export function categoryColors(categories: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const c of categories) if (!out.has(c)) out.set(c, CATEGORY_COLORS[out.size % CATEGORY_COLORS.length]);
  return out;
}

export interface Pick {
  /** A first model clicked, waiting for the second (-1: none). */
  pending: number;
  /** The completed pair to store in `selected`, when this click completed one. */
  pair?: [number, number];
}

/** Two-click pair selection: the first click marks a model, a click on another completes the
 * pair, a second click on the marked one unmarks it. */
export function pickModel(pending: number, clicked: number): Pick {
  if (pending < 0) return { pending: clicked };
  if (pending === clicked) return { pending: -1 };
  return { pending: -1, pair: [pending, clicked] };
}

export interface TextDifference {
  text: number;
  diff: number;
}

/** The texts listed for pair (a, b): `index` / `diff` are [K, K, m]. */
export function pairDifferences(index: NdArray, diff: NdArray, a: number, b: number): TextDifference[] {
  const [K, K2, m] = index.shape;
  if (!(a >= 0 && b >= 0 && a < K && b < K2)) return [];
  const base = (a * K2 + b) * m;
  return Array.from({ length: m }, (_, j) => ({ text: Math.round(index.data[base + j]), diff: diff.data[base + j] }));
}

/** A statement's answer distribution (over `answerNames`) as text: the answer when one has all
 * the mass, else each answer with mass and its probability; "unknown" for a NaN row. */
export function answerText(dist: ArrayLike<number>, answerNames: readonly string[]): string {
  const all = Array.from(dist, (v, k) => ({ v, name: answerNames[k] ?? String(k) }));
  if (all.some((a) => Number.isNaN(a.v))) return "unknown";
  const mass = all.filter((a) => a.v > 0);
  if (mass.length === 1 && Math.abs(mass[0].v - 1) < 1e-6) return mass[0].name;
  return mass.map((a) => `${a.name} ${formatNumber(a.v)}`).join(", ");
}

/** The two barbs of an arrow head at (x1, y1) pointing away from (x0, y0), ending `inset`
 * pixels before the tip: [tip, left barb, right barb] as [x, y] pairs (null for a zero-length arrow). */
export function arrowHead(x0: number, y0: number, x1: number, y1: number, size: number, inset: number): [number, number][] | null {
  const len = Math.hypot(x1 - x0, y1 - y0);
  if (len <= inset) return null;
  const ux = (x1 - x0) / len;
  const uy = (y1 - y0) / len;
  const tx = x1 - ux * inset;
  const ty = y1 - uy * inset;
  const bx = tx - ux * size;
  const by = ty - uy * size;
  return [[tx, ty], [bx - uy * size * 0.5, by + ux * size * 0.5], [bx + uy * size * 0.5, by - ux * size * 0.5]];
}

export interface Modal {
  /** The most common answer level (ties: the lowest), or -1 when no run answered. */
  level: number;
  /** The share of runs giving that level (NaN when no run answered). */
  agreement: number;
}

/** The modal answer among one item's runs (level indices; -1 = absent). */
export function modalAnswer(runs: ArrayLike<number>): Modal {
  const counts = new Map<number, number>();
  let n = 0;
  for (let r = 0; r < runs.length; r++) {
    const level = Math.round(runs[r]);
    if (level < 0) continue;
    counts.set(level, (counts.get(level) ?? 0) + 1);
    n++;
  }
  let best = -1;
  let most = 0;
  for (const [level, c] of counts) if (c > most || (c === most && level < best)) [best, most] = [level, c];
  return { level: best, agreement: n > 0 ? most / n : NaN };
}

export interface CurvePoint {
  index: number;
  x: number;
  y: number;
}

/** Points of a scaling curve: models with a positive, finite size and a finite value, by size. */
export function scalingSeries(sizes: ArrayLike<number>, values: ArrayLike<number>): CurvePoint[] {
  const out: CurvePoint[] = [];
  for (let i = 0; i < sizes.length; i++) {
    if (Number.isFinite(sizes[i]) && sizes[i] > 0 && Number.isFinite(values[i])) out.push({ index: i, x: sizes[i], y: values[i] });
  }
  return out.sort((a, b) => a.x - b.x || a.index - b.index);
}

/** Tick values for a log axis over [lo, hi] (both > 0): the powers of ten inside it, or the two
 * ends when it spans less than one. */
export function logTicks(lo: number, hi: number): number[] {
  if (!(lo > 0 && hi >= lo && Number.isFinite(hi))) return [];
  const ticks: number[] = [];
  for (let e = Math.ceil(Math.log10(lo) - 1e-9); e <= Math.floor(Math.log10(hi) + 1e-9); e++) ticks.push(10 ** e);
  return ticks.length > 0 ? ticks : lo === hi ? [lo] : [lo, hi];
}

/** Index of the largest finite value (the first on ties), or -1 when none is finite. */
export function bestIndex(values: ArrayLike<number>): number {
  let best = -1;
  for (let i = 0; i < values.length; i++) if (Number.isFinite(values[i]) && (best < 0 || values[i] > values[best])) best = i;
  return best;
}
