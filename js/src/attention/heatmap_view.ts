/**
 * Heatmap: one head's query × key matrix on a canvas. The kernel sends the
 * current window block-max pooled to at most 512 per side; the wheel zooms
 * around the cursor, double-click resets. Causal-masked cells are grey.
 */

import { sequentialScale } from "../lib/colors";
import { paintMatrix, setupCanvas } from "../lib/canvas";
import { formatNumber } from "../lib/format";
import { quotedTokenText } from "../lib/tokens";
import type { NdArray } from "../lib/arrays";
import type { ViewContext, ViewOutput } from "./context";
import { denseFromTopK, pooledMax } from "./logic";

const SIDE = 480;
const MARGIN = 36;

type Window = [number, number, number, number];

async function windowValues(ctx: ViewContext, w: Window): Promise<[NdArray | null, boolean]> {
  const { layer, head } = ctx.state;
  const exact = await ctx.source.get(`matrix:${layer}:${head}:${w[0]}:${w[1]}:${w[2]}:${w[3]}`);
  if (exact) return [exact.values, false];
  const edges = await ctx.source.get(`edges:${layer}`);
  if (!edges) return [null, false];
  const dense = denseFromTopK(edges.key, edges.weight, head);
  const T = dense.shape[0];
  const rows = w[1] - w[0];
  const cols = w[3] - w[2];
  const sub = new Float32Array(rows * cols);
  for (let i = 0; i < rows; i++) sub.set(dense.data.subarray((w[0] + i) * T + w[2], (w[0] + i) * T + w[3]), i * cols);
  return [pooledMax({ shape: [rows, cols], data: sub }, 512), true];
}

export async function drawHeatmapView(ctx: ViewContext, host: HTMLElement): Promise<ViewOutput> {
  const { state, doc, theme } = ctx;
  const T = state.tokens.length;
  const memoKey = `window:${state.layer}:${state.head}`;
  const w = (ctx.memo[memoKey] as Window | undefined) ?? [0, T, 0, T];
  const [values, approximate] = await windowValues(ctx, w);
  if (!values) return { note: `Head ${state.layer}.${state.head} is not embedded in this static page.` };
  const [rows, cols] = values.shape;
  const canvas = doc.createElement("canvas");
  canvas.className = "iw-attn-canvas iw-heatmap-canvas";
  host.appendChild(canvas);
  const g = setupCanvas(canvas, SIDE + MARGIN, SIDE + MARGIN);
  let max = 0;
  for (const v of values.data) if (v > max) max = v;
  const qOf = (i: number) => w[0] + Math.floor((i * (w[1] - w[0])) / rows);
  const kOf = (j: number) => w[2] + Math.floor((j * (w[3] - w[2])) / cols);
  const masked = state.causal ? (i: number, j: number) => kOf(j) > qOf(i + 1) - 1 : undefined;
  paintMatrix(g, values.data, rows, cols, sequentialScale(0, max || 1), [MARGIN, MARGIN, SIDE, SIDE], masked);
  g.fillStyle = theme.foreground;
  g.font = `10px ${theme.fontFamily}`;
  g.textAlign = "left";
  g.fillText(`keys ${w[2]}\u2013${w[3] - 1} \u2192`, MARGIN, 14);
  g.save();
  g.translate(12, MARGIN);
  g.rotate(Math.PI / 2);
  g.fillText(`queries ${w[0]}\u2013${w[1] - 1} \u2192`, 0, 0);
  g.restore();
  const cellAt = (event: MouseEvent): [number, number] => {
    const box = canvas.getBoundingClientRect();
    const x = (event.clientX - box.left - MARGIN) / SIDE;
    const y = (event.clientY - box.top - MARGIN) / SIDE;
    if (x < 0 || x >= 1 || y < 0 || y >= 1) return [-1, -1];
    return [Math.floor(y * rows), Math.floor(x * cols)];
  };
  canvas.addEventListener("mousemove", (event) => {
    const [i, j] = cellAt(event);
    if (i < 0) return ctx.tooltip.hide();
    const q = qOf(i);
    const k = kOf(j);
    const pooled = rows < w[1] - w[0] || cols < w[3] - w[2];
    ctx.tooltip.show([
      `query #${q} ${quotedTokenText(state.tokens[q] ?? "")}`,
      `key #${k} ${quotedTokenText(state.tokens[k] ?? "")}`,
      `${pooled ? "block max" : "weight"}: ${formatNumber(values.data[i * cols + j])}`,
    ], event.clientX, event.clientY);
  });
  canvas.addEventListener("mouseleave", () => ctx.tooltip.hide());
  canvas.addEventListener("wheel", (event) => {
    const [i, j] = cellAt(event);
    if (i < 0) return;
    event.preventDefault();
    const zoom = event.deltaY < 0 ? 0.5 : 2;
    const around = (lo: number, hi: number, at: number): [number, number] => {
      const span = Math.max(8, Math.min(T, Math.round((hi - lo) * zoom)));
      const start = Math.max(0, Math.min(T - span, Math.round(at - span / 2)));
      return [start, start + span];
    };
    ctx.memo[memoKey] = [...around(w[0], w[1], qOf(i)), ...around(w[2], w[3], kOf(j))];
    ctx.redraw();
  }, { passive: false });
  canvas.addEventListener("dblclick", () => {
    delete ctx.memo[memoKey];
    ctx.redraw();
  });
  const note = `Layer ${state.layer}, head ${state.head}: ${rows}\u00d7${cols} cells` +
    (rows < w[1] - w[0] ? " (block max; scroll to zoom, double-click to reset)" : " (scroll to zoom)") +
    (approximate ? "; rebuilt from the embedded top edges of each row" : "");
  return { canvas, note };
}
