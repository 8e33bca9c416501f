/**
 * Token view: for the selected token, the attention it pays (from) and
 * receives (to) in every head of the layer, as two head × token heat strips.
 */

import { sequentialScale } from "../lib/colors";
import { paintMatrix, setupCanvas } from "../lib/canvas";
import { formatNumber } from "../lib/format";
import { quotedTokenText } from "../lib/tokens";
import type { NdArray } from "../lib/arrays";
import type { ViewContext, ViewOutput } from "./context";
import { denseFromTopK } from "./logic";

const WIDTH = 820;
const LABEL = 40;
const ROW = 14;

async function tokenSlice(ctx: ViewContext, t: number): Promise<[NdArray, NdArray] | null> {
  const { layer, nHeads } = ctx.state;
  const exact = await ctx.source.get(`token:${layer}:${t}`);
  if (exact) return [exact.from, exact.to];
  const edges = await ctx.source.get(`edges:${layer}`);
  if (!edges) return null;
  const T = edges.key.shape[1];
  const from = new Float32Array(nHeads * T);
  const to = new Float32Array(nHeads * T);
  for (let h = 0; h < nHeads; h++) {
    const dense = denseFromTopK(edges.key, edges.weight, h);
    for (let j = 0; j < T; j++) {
      from[h * T + j] = dense.data[t * T + j];
      to[h * T + j] = dense.data[j * T + t];
    }
  }
  return [{ shape: [nHeads, T], data: from }, { shape: [nHeads, T], data: to }];
}

export async function drawTokenView(ctx: ViewContext, host: HTMLElement): Promise<ViewOutput> {
  const { state, doc, theme } = ctx;
  const t = state.token;
  if (t < 0) return { note: "Select a token (click one in the head view, or type its index above)." };
  const data = await tokenSlice(ctx, t);
  if (!data) return { note: `Token ${t} of layer ${state.layer} is not embedded in this static page.` };
  const [from, to] = data;
  const [H, T] = from.shape;
  const block = H * ROW + 20;
  const canvas = doc.createElement("canvas");
  canvas.className = "iw-attn-canvas iw-token-canvas";
  host.appendChild(canvas);
  const g = setupCanvas(canvas, WIDTH, 2 * block + 8);
  const plotW = WIDTH - LABEL - 8;
  g.font = `10px ${theme.fontFamily}`;
  g.textBaseline = "middle";
  [from, to].forEach((m, b) => {
    const top = b * (block + 8);
    g.fillStyle = theme.foreground;
    g.textAlign = "left";
    g.fillText(b === 0 ? `from #${t} ${quotedTokenText(state.tokens[t])} to each key` : `to #${t} from each query`, LABEL, top + 8);
    g.textAlign = "right";
    for (let h = 0; h < H; h++) g.fillText(`H${h}`, LABEL - 4, top + 20 + h * ROW + ROW / 2);
    paintMatrix(g, m.data, H, T, sequentialScale(0, 1), [LABEL, top + 20, plotW, H * ROW]);
  });
  canvas.addEventListener("mousemove", (event) => {
    const box = canvas.getBoundingClientRect();
    const x = event.clientX - box.left - LABEL;
    const y = event.clientY - box.top;
    const b = y < block + 4 ? 0 : 1;
    const h = Math.floor((y - b * (block + 8) - 20) / ROW);
    const j = Math.floor((x / plotW) * T);
    if (h < 0 || h >= H || j < 0 || j >= T) return ctx.tooltip.hide();
    const m = b === 0 ? from : to;
    ctx.tooltip.show([`head ${h}, ${b === 0 ? "key" : "query"} #${j} ${quotedTokenText(state.tokens[j] ?? "")}`,
      `weight ${formatNumber(m.data[h * T + j])}`], event.clientX, event.clientY);
  });
  canvas.addEventListener("mouseleave", () => ctx.tooltip.hide());
  canvas.addEventListener("click", (event) => {
    const box = canvas.getBoundingClientRect();
    const j = Math.floor(((event.clientX - box.left - LABEL) / plotW) * T);
    if (j >= 0 && j < T) ctx.update({ token: j });
  });
  return { canvas, note: `Layer ${state.layer}, token #${t}: click a cell to select that token.` };
}
