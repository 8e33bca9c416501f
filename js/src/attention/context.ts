/** What every attention view reads: model state, units, the slice source, the tooltip. */

import type { NdArray } from "../lib/arrays";
import type { WidgetModel } from "../lib/model";
import type { ThemeColors } from "../lib/theme";
import type { SvgItem } from "../lib/export";
import type { Tooltip } from "../lib/tooltip";
import type { SliceSource } from "./data";
import type { PairFilter, Units } from "./logic";

export interface AttentionState {
  view: string;
  layer: number;
  head: number;
  heads: number[];
  token: number;
  threshold: number;
  wordLevel: boolean;
  hideSpecial: boolean;
  pairFilter: PairFilter;
  order: "layer" | "entropy";
  nLayers: number;
  nHeads: number;
  causal: boolean;
  hasQk: boolean;
  tokens: string[];
}

export interface ViewContext {
  doc: Document;
  model: WidgetModel;
  source: SliceSource;
  state: AttentionState;
  units: Units;
  theme: ThemeColors;
  tooltip: Tooltip;
  thumbnails: NdArray;
  entropy: NdArray;
  /** View-local memory kept across redraws (scroll offsets, zoom windows). */
  memo: Record<string, unknown>;
  /** Sets traits and sends them to Python. */
  update(values: Record<string, unknown>): void;
  /** Asks for a redraw of the current view (after view-local changes). */
  redraw(): void;
}

export interface ViewOutput {
  canvas?: HTMLCanvasElement;
  svg?: () => { width: number; height: number; items: SvgItem[] };
  note?: string;
}

export const ROW_HEIGHT = 16;
export const MAX_ROWS = 36;

/** Scroll window over `n` rows: [first, count], persisted in memo[key]. */
export function rowWindow(ctx: ViewContext, key: string, n: number): [number, number] {
  const count = Math.min(n, MAX_ROWS);
  const first = Math.max(0, Math.min(n - count, Number(ctx.memo[key] ?? 0)));
  ctx.memo[key] = first;
  return [first, count];
}

/** Wheel scrolling of a row window stored in memo[key]. */
export function scrollRows(ctx: ViewContext, el: HTMLElement, key: string, n: number): void {
  el.addEventListener(
    "wheel",
    (event: WheelEvent) => {
      if (n <= MAX_ROWS) return;
      event.preventDefault();
      const step = Math.sign(event.deltaY) * Math.max(1, Math.round(Math.abs(event.deltaY) / ROW_HEIGHT));
      ctx.memo[key] = Math.max(0, Math.min(n - MAX_ROWS, Number(ctx.memo[key] ?? 0) + step));
      ctx.redraw();
    },
    { passive: false },
  );
}

export function unitToToken(ctx: ViewContext, unit: number): number {
  return ctx.units.firstToken[unit] ?? -1;
}

export function selectedUnit(ctx: ViewContext): number {
  const t = ctx.state.token;
  return t >= 0 ? (ctx.units.unitOf[t] ?? -1) : -1;
}
