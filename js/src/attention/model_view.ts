/**
 * Model view: every layer × head as a thumbnail (block-max pooled pattern,
 * sent eagerly as uint8), heads optionally ordered by entropy. Clicking a
 * thumbnail opens that head in the heatmap.
 */

import { sequentialScale } from "../lib/colors";
import { paintMatrix, setupCanvas } from "../lib/canvas";
import { formatNumber } from "../lib/format";
import type { ViewContext, ViewOutput } from "./context";
import { headOrder } from "./logic";

const GAP = 4;
const LABEL = 28;

export function drawModelView(ctx: ViewContext, host: HTMLElement): ViewOutput {
  const { thumbnails, entropy, state, theme, doc } = ctx;
  const [L, H, S] = thumbnails.shape;
  const cell = Math.max(16, Math.min(64, Math.floor((860 - LABEL) / Math.max(H, 1)) - GAP));
  const width = LABEL + H * (cell + GAP);
  const height = LABEL + L * (cell + GAP);
  const canvas = doc.createElement("canvas");
  canvas.className = "iw-attn-canvas iw-model-canvas";
  host.appendChild(canvas);
  const g = setupCanvas(canvas, width, height);
  g.font = `10px ${theme.fontFamily}`;
  g.fillStyle = theme.foreground;
  g.textBaseline = "middle";
  const byEntropy = state.order === "entropy";
  const orders: number[][] = [];
  for (let l = 0; l < L; l++) {
    const order = headOrder(entropy, l, byEntropy);
    orders.push(order);
    g.fillStyle = theme.foreground;
    g.textAlign = "right";
    g.fillText(`L${l}`, LABEL - 4, LABEL + l * (cell + GAP) + cell / 2);
    order.forEach((h, col) => {
      const base = (l * H + h) * S * S;
      const values = thumbnails.data.subarray(base, base + S * S);
      let max = 0;
      for (const v of values) if (v > max) max = v;
      const x = LABEL + col * (cell + GAP);
      const y = LABEL + l * (cell + GAP);
      paintMatrix(g, values, S, S, sequentialScale(0, max || 1), [x, y, cell, cell]);
      if (l === state.layer && h === state.head) {
        g.strokeStyle = theme.accent;
        g.lineWidth = 2;
        g.strokeRect(x - 1, y - 1, cell + 2, cell + 2);
      }
      if (byEntropy) {
        g.fillStyle = theme.foreground;
        g.textAlign = "left";
        g.fillText(String(h), x + 2, y + 7);
      }
    });
  }
  if (!byEntropy) {
    g.textAlign = "center";
    g.fillStyle = theme.foreground;
    for (let h = 0; h < H; h++) g.fillText(`H${h}`, LABEL + h * (cell + GAP) + cell / 2, LABEL / 2);
  }
  const at = (event: MouseEvent): [number, number] => {
    const box = canvas.getBoundingClientRect();
    const col = Math.floor((event.clientX - box.left - LABEL) / (cell + GAP));
    const l = Math.floor((event.clientY - box.top - LABEL) / (cell + GAP));
    if (l < 0 || l >= L || col < 0 || col >= H) return [-1, -1];
    return [l, orders[l][col]];
  };
  canvas.addEventListener("mousemove", (event) => {
    const [l, h] = at(event);
    if (l < 0) ctx.tooltip.hide();
    else ctx.tooltip.show([`layer ${l}, head ${h}`, `entropy ${formatNumber(entropy.data[l * H + h])} nats`, "click to enlarge"], event.clientX, event.clientY);
  });
  canvas.addEventListener("mouseleave", () => ctx.tooltip.hide());
  canvas.addEventListener("click", (event) => {
    const [l, h] = at(event);
    if (l >= 0) ctx.update({ layer: l, head: h, view: "heatmap" });
  });
  return { canvas, note: `${L} layers \u00d7 ${H} heads${byEntropy ? ", heads ordered by entropy (low = focused)" : ""}.` };
}
