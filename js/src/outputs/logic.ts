/** Pure logic of the output-analysis views (model map, compass): no DOM. */

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
