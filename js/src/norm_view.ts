/**
 * NormView: α next to ‖αf(x)‖ for one layer and head (or all heads: mean α vs ‖Σ_h αf‖, or the
 * residual / LayerNorm variants), and the mixing-ratio curves across layers.
 *
 * Traits: tokens, layers, kinds, n_heads, note, alpha / weighted [L, H, T, T], summed /
 * with_residual / with_ln [L, T, T], mixing [L, 3, T]; state: layer, head, norm, token.
 */

import type { NdArray } from "./lib/arrays";
import { setupCanvas } from "./lib/canvas";
import { formatNumber } from "./lib/format";
import type { RenderProps } from "./lib/model";
import { quotedTokenText } from "./lib/tokens";
import { meanLeading, mixingCurves, slab } from "./analysis_views/logic";
import { exportButtons, frame, redrawOn, heatmapPanel, labelled, select, type Frame } from "./analysis_views/ui";

const CURVE_COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c"];

function drawCurves(fr: Frame, curves: number[][], kinds: string[], layers: number[], current: number,
  onLayer: (index: number) => void): HTMLCanvasElement {
  const theme = fr.theme();
  const W = 300;
  const H = 220;
  const pad = { left: 40, right: 10, top: 20, bottom: 56 };
  const canvas = fr.doc.createElement("canvas");
  canvas.className = "iw-norm-curves";
  const g = setupCanvas(canvas, W, H);
  g.fillStyle = theme.background;
  g.fillRect(0, 0, W, H);
  const pw = W - pad.left - pad.right;
  const ph = H - pad.top - pad.bottom;
  const n = layers.length;
  const x = (i: number) => pad.left + (n > 1 ? (i / (n - 1)) * pw : pw / 2);
  const y = (v: number) => pad.top + (1 - v) * ph;
  g.strokeStyle = theme.border;
  g.strokeRect(pad.left, pad.top, pw, ph);
  g.fillStyle = theme.foreground;
  g.font = `11px ${theme.fontFamily}`;
  g.fillText("mixing ratio (mean over tokens)", pad.left, 12);
  g.font = `10px ${theme.fontFamily}`;
  g.textAlign = "right";
  for (const v of [0, 0.5, 1]) g.fillText(`${v * 100}%`, pad.left - 4, y(v) + 3);
  g.textAlign = "center";
  layers.forEach((l, i) => g.fillText(String(l), x(i), pad.top + ph + 12));
  g.fillText("layer", pad.left + pw / 2, pad.top + ph + 24);
  g.strokeStyle = theme.accent;
  g.setLineDash([3, 3]);
  g.beginPath();
  g.moveTo(x(current), pad.top);
  g.lineTo(x(current), pad.top + ph);
  g.stroke();
  g.setLineDash([]);
  let legendX = 4;
  curves.forEach((curve, k) => {
    if (curve.every((v) => !Number.isFinite(v))) return;
    g.strokeStyle = g.fillStyle = CURVE_COLORS[k % CURVE_COLORS.length];
    g.lineWidth = 1.5;
    g.beginPath();
    let started = false;
    curve.forEach((v, i) => {
      if (!Number.isFinite(v)) {
        started = false;
        return;
      }
      if (started) g.lineTo(x(i), y(v));
      else g.moveTo(x(i), y(v));
      started = true;
    });
    g.stroke();
    curve.forEach((v, i) => {
      if (!Number.isFinite(v)) return;
      g.beginPath();
      g.arc(x(i), y(v), 3, 0, 2 * Math.PI);
      g.fill();
    });
    g.textAlign = "left";
    const label = `\u2014 ${kinds[k]}`;
    g.fillText(label, legendX, H - 10);
    legendX += g.measureText(label).width + 12;
  });
  g.lineWidth = 1;
  const indexAt = (event: MouseEvent): number => {
    const box = canvas.getBoundingClientRect();
    const px = event.clientX - box.left;
    let best = -1;
    let bestD = 12;
    layers.forEach((_, i) => {
      const d = Math.abs(x(i) - px);
      if (d < bestD) {
        best = i;
        bestD = d;
      }
    });
    return best;
  };
  canvas.addEventListener("mousemove", (event) => {
    const i = indexAt(event);
    if (i < 0) return fr.tooltip.hide();
    fr.tooltip.show([`layer ${layers[i]}`, ...curves.map((c, k) => `${kinds[k]}: ${Number.isFinite(c[i]) ? `${formatNumber(100 * c[i])}%` : "undefined"}`)], event.clientX, event.clientY);
  });
  canvas.addEventListener("mouseleave", () => fr.tooltip.hide());
  canvas.addEventListener("click", (event) => {
    const i = indexAt(event);
    if (i >= 0) onLayer(i);
  });
  return canvas;
}

function render(props: RenderProps): () => void {
  const { model } = props;
  const fr = frame(props, "norms");
  const { doc } = fr;
  const arr = fr.array;
  const alpha = arr("alpha");
  const weighted = arr("weighted");
  const matrices: Record<string, NdArray> = { "Attn-N": arr("summed"), "AttnRes-N": arr("with_residual"), "AttnResLn-N": arr("with_ln") };
  const curves = mixingCurves(arr("mixing"));
  const tokens = ((model.get("tokens") as string[] | undefined) ?? []).map(String);
  const layers = ((model.get("layers") as number[] | undefined) ?? []).map(Number);
  const kinds = ((model.get("kinds") as string[] | undefined) ?? []).map(String);
  const nHeads = Number(model.get("n_heads") ?? 0);
  const T = tokens.length;
  let canvases: HTMLCanvasElement[] = [];

  const update = (patch: Record<string, unknown>): void => {
    for (const [k, v] of Object.entries(patch)) model.set(k, v);
    model.save_changes();
  };

  const draw = (): void => {
    const li = Number(model.get("layer") ?? 0);
    const head = Number(model.get("head") ?? -1);
    const norm = String(model.get("norm") ?? "weighted");
    const token = Number(model.get("token") ?? -1);
    const layerOptions = layers.map((l, i): [string, string] => [String(i), `L${l}`]);
    const headOptions: [string, string][] = [["-1", "all heads"], ...Array.from({ length: nHeads }, (_, h): [string, string] => [String(h), `H${h}`])];
    const normOptions: [string, string][] = [["weighted", "\u2016\u03b1f\u2016"], ...kinds.map((k): [string, string] => [k, k])];
    fr.toolbar.replaceChildren(
      labelled(doc, "layer", select(doc, "layer", layerOptions, String(li), (v) => update({ layer: Number(v) }))),
      labelled(doc, "head", select(doc, "head", headOptions, String(head), (v) => update({ head: Number(v) }))),
      labelled(doc, "norm", select(doc, "norm", normOptions, norm, (v) => update({ norm: v }))),
      ...exportButtons(doc, "norms", () => canvases),
    );
    const a = slab(alpha, li);
    const left = head >= 0 ? slab(a, head) : meanLeading(a);
    let right: NdArray;
    let rightTitle: string;
    if (norm === "weighted") {
      right = head >= 0 ? slab(slab(weighted, li), head) : slab(matrices["Attn-N"], li);
      rightTitle = head >= 0 ? `\u2016\u03b1f(x)\u2016, head ${head}` : "\u2016\u03a3_h \u03b1f(x)\u2016 (Attn-N)";
    } else {
      right = slab(matrices[norm] ?? matrices["Attn-N"], li);
      rightTitle = `${norm} (all heads)`;
    }
    const layerName = layers[li] ?? li;
    const describe = (what: string) => (i: number, j: number, v: number) =>
      [what, `query #${i} ${quotedTokenText(tokens[i] ?? "")}`, `key #${j} ${quotedTokenText(tokens[j] ?? "")}`, Number.isFinite(v) ? formatNumber(v) : "undefined"];
    const onClick = (i: number) => update({ token: i === token ? -1 : i });
    const leftTitle = head >= 0 ? `\u03b1, head ${head}` : "\u03b1 (mean over heads)";
    canvases = [
      heatmapPanel(fr, left.data, T, T, { title: `${leftTitle}, layer ${layerName}`, rowLabels: tokens, colLabels: tokens, describe: describe(leftTitle), onClick, className: "iw-norm-alpha" }),
      heatmapPanel(fr, right.data, T, T, { title: `${rightTitle}, layer ${layerName}`, rowLabels: tokens, colLabels: tokens, describe: describe(rightTitle), onClick, className: "iw-norm-norm" }),
      drawCurves(fr, curves, kinds, layers, li, (i) => update({ layer: i })),
    ];
    fr.content.replaceChildren(...canvases);
    let text = String(model.get("note") ?? "");
    if (token >= 0 && token < T) {
      const row = (m: NdArray) => m.data.subarray(token * T, (token + 1) * T);
      let argA = 0;
      let argN = 0;
      row(left).forEach((v, j, r) => { if (v > r[argA]) argA = j; });
      row(right).forEach((v, j, r) => { if (v > r[argN]) argN = j; });
      text = `query #${token} ${quotedTokenText(tokens[token])}: largest \u03b1 on #${argA} ${quotedTokenText(tokens[argA])}, largest norm on #${argN} ${quotedTokenText(tokens[argN])}` + (text ? `\n${text}` : "");
    }
    fr.note.textContent = text;
  };

  return redrawOn(fr, model, ["layer", "head", "norm", "token"], draw);
}

export default { render };
