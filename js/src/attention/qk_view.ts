/**
 * Query/key view (bertviz's neuron view): for the selected query token and
 * head, its query vector q, and per key token k, q ⊙ k, the score q·k/√d and
 * the softmax weight. Vectors are post-rotary for RoPE models.
 */

import { divergingScale } from "../lib/colors";
import { fitText, paintMatrix, setupCanvas } from "../lib/canvas";
import { formatNumber } from "../lib/format";
import { quotedTokenText, visibleTokenText } from "../lib/tokens";
import { ROW_HEIGHT, rowWindow, scrollRows, type ViewContext, type ViewOutput } from "./context";

const LABEL = 120;
const BAR = 120;

/** Scores q_t·k_j/√d for every key j (causal: -Infinity after t) and their softmax. */
export function queryScores(q: Float32Array, k: Float32Array, d: number, t: number, causal: boolean): [Float32Array, Float32Array] {
  const T = k.length / d;
  const scores = new Float32Array(T);
  let max = -Infinity;
  for (let j = 0; j < T; j++) {
    let s = 0;
    for (let i = 0; i < d; i++) s += q[t * d + i] * k[j * d + i];
    scores[j] = causal && j > t ? -Infinity : s / Math.sqrt(d);
    if (scores[j] > max) max = scores[j];
  }
  const probs = new Float32Array(T);
  let total = 0;
  for (let j = 0; j < T; j++) total += probs[j] = Math.exp(scores[j] - max);
  for (let j = 0; j < T; j++) probs[j] /= total;
  return [scores, probs];
}

export async function drawQkView(ctx: ViewContext, host: HTMLElement): Promise<ViewOutput> {
  const { state, doc, theme } = ctx;
  if (!state.hasQk) return { note: "This result holds no queries/keys (patterns(..., qk=True))." };
  const t = state.token;
  if (t < 0) return { note: "Select a query token (click one in the head view, or type its index above)." };
  const slice = await ctx.source.get(`qk:${state.layer}:${state.head}`);
  if (!slice) return { note: `Queries/keys of head ${state.layer}.${state.head} are not embedded in this static page.` };
  const [T, d] = slice.k.shape;
  const [scores, probs] = queryScores(slice.q.data, slice.k.data, d, t, state.causal);
  const qt = slice.q.data.subarray(t * d, (t + 1) * d);
  let vmax = 0;
  for (const v of slice.k.data) vmax = Math.max(vmax, Math.abs(v));
  for (const v of qt) vmax = Math.max(vmax, Math.abs(v));
  const cellW = Math.max(2, Math.min(6, Math.floor(240 / d)));
  const vecW = cellW * d;
  const width = LABEL + 2 * (vecW + 12) + BAR + 60;
  const [first, count] = rowWindow(ctx, "qkScroll", T);
  const top = 2 * ROW_HEIGHT + 4;
  const canvas = doc.createElement("canvas");
  canvas.className = "iw-attn-canvas iw-qk-canvas";
  host.appendChild(canvas);
  const g = setupCanvas(canvas, width, top + count * ROW_HEIGHT + 4);
  g.font = `11px ${theme.monoFontFamily}`;
  g.textBaseline = "middle";
  g.fillStyle = theme.foreground;
  g.textAlign = "right";
  g.fillText(fitText(g, `q ${visibleTokenText(state.tokens[t])}`, LABEL - 6), LABEL - 6, ROW_HEIGHT / 2);
  const scale = divergingScale(vmax || 1);
  paintMatrix(g, qt, 1, d, scale, [LABEL, 2, vecW, ROW_HEIGHT - 4]);
  g.textAlign = "left";
  const x2 = LABEL + vecW + 12;
  const xBar = x2 + vecW + 12;
  g.fillText("k", LABEL, ROW_HEIGHT * 1.5);
  g.fillText("q \u2299 k", x2, ROW_HEIGHT * 1.5);
  g.fillText("q\u00b7k/\u221ad  softmax", xBar, ROW_HEIGHT * 1.5);
  let smax = 0;
  for (const s of scores) if (Number.isFinite(s)) smax = Math.max(smax, Math.abs(s));
  const prod = new Float32Array(d);
  for (let r = 0; r < count; r++) {
    const j = first + r;
    const y = top + r * ROW_HEIGHT;
    const kj = slice.k.data.subarray(j * d, (j + 1) * d);
    for (let i = 0; i < d; i++) prod[i] = qt[i] * kj[i];
    g.fillStyle = theme.foreground;
    g.textAlign = "right";
    g.fillText(fitText(g, visibleTokenText(state.tokens[j]), LABEL - 6), LABEL - 6, y + ROW_HEIGHT / 2);
    paintMatrix(g, kj, 1, d, scale, [LABEL, y + 2, vecW, ROW_HEIGHT - 4]);
    paintMatrix(g, prod, 1, d, divergingScale(vmax * vmax || 1), [x2, y + 2, vecW, ROW_HEIGHT - 4]);
    const s = scores[j];
    if (Number.isFinite(s)) {
      g.fillStyle = s >= 0 ? "#b5302c" : "#2a5caa";
      g.fillRect(xBar + BAR / 2, y + 3, ((s / (smax || 1)) * BAR) / 2, ROW_HEIGHT - 6);
    }
    g.fillStyle = theme.accent;
    g.fillRect(xBar + BAR + 4, y + 3, probs[j] * 50, ROW_HEIGHT - 6);
  }
  canvas.addEventListener("mousemove", (event) => {
    const box = canvas.getBoundingClientRect();
    const r = Math.floor((event.clientY - box.top - top) / ROW_HEIGHT);
    if (r < 0 || r >= count) return ctx.tooltip.hide();
    const j = first + r;
    ctx.tooltip.show([`key #${j} ${quotedTokenText(state.tokens[j])}`, `q\u00b7k/\u221ad = ${formatNumber(scores[j])}`,
      `softmax = ${formatNumber(probs[j])}`], event.clientX, event.clientY);
  });
  canvas.addEventListener("mouseleave", () => ctx.tooltip.hide());
  scrollRows(ctx, canvas, "qkScroll", T);
  return { canvas, note: `Layer ${state.layer}, head ${state.head}, query #${t}; d_head = ${d}. Scroll for more keys.` };
}
