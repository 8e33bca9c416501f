/**
 * Brain-alignment views. kind "alignment": the layer × time heatmap of held-out Pearson r
 * (deepest layer on top, diverging colours) with each layer's peak latency joined by a line;
 * hover a cell for (layer, lag, r). kind "comparison": alignment and temporal score of each
 * model against its size (log x), names on hover.
 *
 * Traits (alignment): title, layers, times [time], scores [layer, time], peak_latency / peak_r
 * [layer]. Traits (comparison): title, names, temporal_method, sizes / alignment_scores /
 * temporal_scores [model].
 */

import { decodeArray, type ArrayPayload, type NdArray } from "./lib/arrays";
import { setupCanvas, fitText } from "./lib/canvas";
import { divergingScale } from "./lib/colors";
import { formatNumber } from "./lib/format";
import type { RenderProps } from "./lib/model";
import { niceTicks, nearestPoint, scatterPoints, type Point } from "./analysis_views/logic";
import { exportButtons, frame, heatmapPanel, redrawOn, type Frame } from "./analysis_views/ui";
import { maxAbs } from "./hidden/logic";
import { flipRows, log10All, nearestIndex } from "./hidden/views_logic";

function alignmentPanel(fr: Frame, get: (k: string) => unknown): HTMLCanvasElement {
  const arr = (k: string): NdArray => decodeArray(get(k) as ArrayPayload);
  const scores = arr("scores");
  const times = arr("times").data;
  const peaks = arr("peak_latency").data;
  const peakR = arr("peak_r").data;
  const layers = ((get("layers") as number[] | undefined) ?? []).map(Number);
  const [L, T] = scores.shape;
  const layerOf = (i: number) => L - 1 - i;
  const canvas = heatmapPanel(fr, flipRows(scores.data, L, T), L, T, {
    title: "held-out r (line: peak latency)",
    rowLabels: layers.map((l) => `L${l}`).reverse(),
    colLabels: Array.from(times, (t) => formatNumber(t)),
    scale: divergingScale(maxAbs(scores.data)),
    className: "iw-brain-heatmap",
    describe: (i, j, v) => {
      const l = layerOf(i);
      return [`layer L${layers[l] ?? l}, lag ${formatNumber(times[j])} s`, `r = ${formatNumber(v)}`,
        `peak: ${formatNumber(peakR[l])} at ${formatNumber(peaks[l])} s`];
    },
    overlay: (g, cw, ch, x0, y0) => {
      g.strokeStyle = "#000";
      g.fillStyle = "#000";
      g.lineWidth = 1.5;
      g.beginPath();
      for (let l = 0; l < L; l++) {
        const x = x0 + (nearestIndex(times, peaks[l]) + 0.5) * cw;
        const y = y0 + (L - 1 - l + 0.5) * ch;
        if (l === 0) g.moveTo(x, y);
        else g.lineTo(x, y);
      }
      g.stroke();
      for (let l = 0; l < L; l++) {
        g.beginPath();
        g.arc(x0 + (nearestIndex(times, peaks[l]) + 0.5) * cw, y0 + (L - 1 - l + 0.5) * ch, 2.5, 0, 2 * Math.PI);
        g.fill();
      }
      g.lineWidth = 1;
    },
  });
  canvas.dataset.peaks = JSON.stringify(Array.from(peaks, (t) => nearestIndex(times, t)));
  return canvas;
}

const W = 300;
const H = 230;
const PAD = { left: 50, right: 12, top: 22, bottom: 40 };

/** Scatter of ys against sizes on a log x axis, model names on hover; points in data-positions. */
function scatterPanel(fr: Frame, sizes: Float32Array, ys: Float32Array, names: readonly string[], yLabel: string,
  className: string): HTMLCanvasElement {
  const theme = fr.theme();
  const canvas = fr.doc.createElement("canvas");
  canvas.className = `iw-brain-scatter ${className}`;
  const g = setupCanvas(canvas, W, H);
  g.fillStyle = theme.background;
  g.fillRect(0, 0, W, H);
  const pw = W - PAD.left - PAD.right;
  const ph = H - PAD.top - PAD.bottom;
  const inset = 8;
  const logs = log10All(sizes);
  const points: Point[] = scatterPoints(logs, ys, 1, [PAD.left + inset, PAD.top + inset, pw - 2 * inset, ph - 2 * inset]);
  g.strokeStyle = theme.border;
  g.strokeRect(PAD.left, PAD.top, pw, ph);
  g.fillStyle = theme.foreground;
  g.font = `11px ${theme.fontFamily}`;
  g.fillText(fitText(g, `${yLabel} vs model size`, W - 4), 2, 12);
  g.font = `10px ${theme.fontFamily}`;
  g.textAlign = "center";
  const xs = points.map((p) => p.x);
  const xLo = Math.min(...xs);
  const xHi = Math.max(...xs);
  const pxOf = (v: number) => (xHi > xLo ? PAD.left + inset + ((v - xLo) / (xHi - xLo)) * (pw - 2 * inset) : PAD.left + pw / 2);
  if (points.length) {
    const decades = niceTicks(Math.floor(xLo), Math.ceil(xHi), 4).filter((v) => Number.isInteger(v) && v >= xLo - 1e-9 && v <= xHi + 1e-9);
    for (const v of decades) g.fillText(`1e${v}`, pxOf(v), PAD.top + ph + 12);
    const ends = [points.reduce((a, b) => (b.x < a.x ? b : a)), points.reduce((a, b) => (b.x > a.x ? b : a))];
    if (decades.length === 0) {
      for (const p of ends) {
        const text = formatNumber(sizes[p.index]);
        const half = g.measureText(text).width / 2;
        g.fillText(text, Math.min(Math.max(p.px, half + 2), W - half - 2), PAD.top + ph + 12);
      }
    }
    g.textAlign = "right";  // the extreme scores on the y axis
    for (const p of [points.reduce((a, b) => (b.y < a.y ? b : a)), points.reduce((a, b) => (b.y > a.y ? b : a))]) {
      g.fillText(formatNumber(ys[p.index]), PAD.left - 3, p.py + 3);
    }
    g.textAlign = "center";
  }
  g.fillText("parameters (log scale)", PAD.left + pw / 2, PAD.top + ph + 26);
  g.save();
  g.translate(12, PAD.top + ph / 2);
  g.rotate(-Math.PI / 2);
  g.fillText(fitText(g, yLabel, ph), 0, 0);
  g.restore();
  g.textAlign = "left";
  g.fillStyle = "#1f77b4";
  for (const p of points) {
    g.beginPath();
    g.arc(p.px, p.py, 4, 0, 2 * Math.PI);
    g.fill();
  }
  canvas.dataset.points = String(points.length);
  canvas.dataset.positions = JSON.stringify(points.map((p) => [p.index, p.px, p.py]));
  canvas.addEventListener("mousemove", (event) => {
    const box = canvas.getBoundingClientRect();
    const p = nearestPoint(points, event.clientX - box.left, event.clientY - box.top, 8);
    if (!p) return fr.tooltip.hide();
    fr.tooltip.show([names[p.index] ?? String(p.index), `parameters ${formatNumber(sizes[p.index])}`,
      `${yLabel} ${formatNumber(ys[p.index])}`], event.clientX, event.clientY);
  });
  canvas.addEventListener("mouseleave", () => fr.tooltip.hide());
  return canvas;
}

function render(props: RenderProps): () => void {
  const { model } = props;
  const fr = frame(props, "brain");
  const get = (k: string): unknown => model.get(k);
  const draw = (): void => {
    const title = fr.doc.createElement("div");
    title.textContent = String(get("title") ?? "");
    fr.toolbar.replaceChildren(title, ...exportButtons(fr.doc, "brain", () => Array.from(fr.content.querySelectorAll("canvas"))));
    if (get("kind") === "comparison") {
      const names = ((get("names") as string[] | undefined) ?? []).map(String);
      const sizes = decodeArray(get("sizes") as ArrayPayload).data;
      fr.content.replaceChildren(
        scatterPanel(fr, sizes, decodeArray(get("alignment_scores") as ArrayPayload).data, names, "alignment score (peak r)", "iw-brain-alignment"),
        scatterPanel(fr, sizes, decodeArray(get("temporal_scores") as ArrayPayload).data, names,
          `temporal score (${String(get("temporal_method") ?? "")})`, "iw-brain-temporal"));
      fr.note.textContent = "one point per model; hover a point for its name.";
    } else {
      fr.content.replaceChildren(alignmentPanel(fr, get));
      fr.note.textContent = "rows: layers (deepest on top); columns: lag after word onset (s). "
        + "cell: held-out Pearson r of the encoding model of that layer at that lag "
        + "(mean over folds and channels; red positive, blue negative); dots: each layer's peak latency.";
    }
  };
  return redrawOn(fr, model, [], draw);
}

export default { render };
