/**
 * Head view (bertviz): one layer, query tokens on the left, key tokens on the
 * right, one line per kept edge, opacity = weight, one colour per head.
 * Drawn on a canvas; only edges passing the cumulative threshold (at most
 * MAX_PER_ROW per row) with an end inside the visible window are drawn.
 */

import { fitText, setupCanvas } from "../lib/canvas";
import { formatNumber } from "../lib/format";
import { quotedTokenText, visibleTokenText } from "../lib/tokens";
import type { SvgItem } from "../lib/export";
import { MAX_ROWS, ROW_HEIGHT, rowWindow, scrollRows, selectedUnit, unitToToken, type ViewContext, type ViewOutput } from "./context";
import {
  aggregateUnits, edgeShown, edgesFromTopK, filterEdges, headColor, passesPairFilter, selectCumulative, type EdgeList,
} from "./logic";

const WIDTH = 560;
const LABEL = 160;
const MAX_PER_ROW = 12;

/** The edges the head view draws for the current state, in unit indices. */
export function headViewEdges(ctx: ViewContext, key: import("../lib/arrays").NdArray, weight: import("../lib/arrays").NdArray): EdgeList {
  const { state, units } = ctx;
  let edges = edgesFromTopK(key, weight, state.heads);
  if (state.wordLevel) edges = aggregateUnits(edges, units.unitOf);
  edges = selectCumulative(edges, state.threshold, MAX_PER_ROW);
  return filterEdges(edges, (q, k) => {
    if (state.hideSpecial && (units.special[q] || units.special[k])) return false;
    return passesPairFilter(state.pairFilter, units.segment[q], units.segment[k]);
  });
}

export async function drawHeadView(ctx: ViewContext, host: HTMLElement): Promise<ViewOutput> {
  const { state, units, theme, doc } = ctx;
  const slice = await ctx.source.get(`edges:${state.layer}`);
  if (!slice) return { note: `Layer ${state.layer} is not embedded in this static page.` };
  const cacheKey = JSON.stringify([state.layer, state.heads, state.threshold, state.wordLevel, state.hideSpecial, state.pairFilter]);
  const cached = ctx.memo.edgeCache as { key: string; edges: EdgeList } | undefined;
  const all = cached?.key === cacheKey ? cached.edges : headViewEdges(ctx, slice.key, slice.weight);
  ctx.memo.edgeCache = { key: cacheKey, edges: all };
  const visible = units.labels.map((_, u) => !(state.hideSpecial && units.special[u]));
  const order = units.labels.map((_, u) => u).filter((u) => visible[u]);
  const rowOf = new Map(order.map((u, r) => [u, r]));
  const [first, count] = rowWindow(ctx, "headScroll", order.length);
  const height = Math.max(count, 1) * ROW_HEIGHT + 8;
  const canvas = doc.createElement("canvas");
  canvas.className = "iw-attn-canvas iw-head-canvas";
  host.appendChild(canvas);
  const g = setupCanvas(canvas, WIDTH, height);
  const chosen = selectedUnit(ctx);
  const yOf = (u: number) => {
    const r = (rowOf.get(u) ?? 0) - first;
    return 4 + Math.max(-0.5, Math.min(count - 0.5, r)) * ROW_HEIGHT + ROW_HEIGHT / 2;
  };
  const inWindow = (u: number) => {
    const r = rowOf.get(u);
    return r !== undefined && r >= first && r < first + count;
  };
  let lines: SvgItem[] = [];
  let texts: SvgItem[] = [];
  // Hover repaints this canvas in place: the element (and its listeners) outlives hover changes,
  // so a click right after a hover lands on the live canvas.
  const paint = (): void => {
    const hover = Number(ctx.memo.hover ?? -1);
    const hoverSide = String(ctx.memo.hoverSide ?? "");
    g.clearRect(0, 0, WIDTH, height);
    lines = [];
    texts = [];
    g.lineWidth = 2;
    for (let i = 0; i < all.w.length; i++) {
      const q = all.q[i];
      const k = all.k[i];
      if (!inWindow(q) && !inWindow(k)) continue;
      if (!edgeShown(q, k, hover, hoverSide)) continue;
      const color = headColor(all.head[i]);
      const opacity = Math.min(1, all.w[i]);
      const [x1, y1, x2, y2] = [LABEL + 6, yOf(q), WIDTH - LABEL - 6, yOf(k)];
      g.globalAlpha = opacity;
      g.strokeStyle = color;
      g.beginPath();
      g.moveTo(x1, y1);
      g.lineTo(x2, y2);
      g.stroke();
      lines.push({ kind: "line", x1, y1, x2, y2, stroke: color, opacity, width: 2 });
    }
    g.globalAlpha = 1;
    g.font = `12px ${theme.monoFontFamily}`;
    g.textBaseline = "middle";
    for (let r = first; r < first + count; r++) {
      const u = order[r];
      const y = 4 + (r - first) * ROW_HEIGHT + ROW_HEIGHT / 2;
      const label = fitText(g, visibleTokenText(units.labels[u]), LABEL - 10);
      const strong = u === chosen || u === hover;
      g.fillStyle = strong ? theme.accent : theme.foreground;
      g.globalAlpha = units.special[u] ? 0.6 : 1;
      g.textAlign = "right";
      g.fillText(label, LABEL, y);
      g.textAlign = "left";
      g.fillText(label, WIDTH - LABEL, y);
      texts.push({ kind: "text", x: LABEL, y: y + 4, text: label, anchor: "end", fill: "#111", size: 11 });
      texts.push({ kind: "text", x: WIDTH - LABEL, y: y + 4, text: label, anchor: "start", fill: "#111", size: 11 });
    }
    g.globalAlpha = 1;
    canvas.dataset.hover = String(hover);
  };
  paint();
  canvas.dataset.edges = String(all.w.length);
  canvas.dataset.rows = String(count);
  canvas.dataset.units = String(order.length);

  const unitAt = (event: MouseEvent): [number, string] => {
    const box = canvas.getBoundingClientRect();
    const x = event.clientX - box.left;
    const r = Math.floor((event.clientY - box.top - 4) / ROW_HEIGHT) + first;
    if (r < first || r >= first + count) return [-1, ""];
    const side = x < LABEL + 4 ? "q" : x > WIDTH - LABEL - 4 ? "k" : "";
    return side ? [order[r], side] : [-1, ""];
  };
  canvas.addEventListener("mousemove", (event) => {
    const [u, side] = unitAt(event);
    if (u >= 0) {
      const t = unitToToken(ctx, u);
      ctx.tooltip.show([`#${t} ${quotedTokenText(units.labels[u])}`, side === "q" ? "attends from here" : "attended to"], event.clientX, event.clientY);
    } else ctx.tooltip.hide();
    if (u !== ctx.memo.hover || side !== ctx.memo.hoverSide) {
      ctx.memo.hover = u;
      ctx.memo.hoverSide = side;
      paint();
    }
  });
  canvas.addEventListener("mouseleave", () => {
    ctx.tooltip.hide();
    if (Number(ctx.memo.hover ?? -1) >= 0) {
      ctx.memo.hover = -1;
      paint();
    }
  });
  canvas.addEventListener("mousedown", (event) => {
    const [u] = unitAt(event);
    if (u >= 0) {
      const t = unitToToken(ctx, u);
      ctx.update({ token: ctx.state.token === t ? -1 : t });
    }
  });
  scrollRows(ctx, canvas, "headScroll", order.length);
  const shown = order.length > MAX_ROWS ? ` rows ${first + 1}\u2013${first + count} of ${order.length} (scroll)` : "";
  return {
    canvas,
    note: `Layer ${state.layer}: ${all.w.length} edges (${formatNumber(state.threshold * 100)}% of each row's attention).${shown}`,
    svg: () => ({ width: WIDTH, height, items: [...lines, ...texts] }),
  };
}
