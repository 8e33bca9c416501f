/** DOM pieces shared by the attention-analysis views: frame, controls, labelled heatmap panels. */

import { paintMatrix, setupCanvas, fitText } from "../lib/canvas";
import { sequentialScale, type ColorScale } from "../lib/colors";
import { buildSvg, canvasToPng, download } from "../lib/export";
import { formatNumber } from "../lib/format";
import { niceTicks, seriesExtent } from "./logic";
import type { RenderProps } from "../lib/model";
import { decodeArray, type ArrayPayload, type NdArray } from "../lib/arrays";
import { addStylesheet, injectStyles, ROOT_CLASS } from "../lib/styles";
import { themeColors, watchTheme, type ThemeColors } from "../lib/theme";
import { visibleTokenText } from "../lib/tokens";
import { Tooltip } from "../lib/tooltip";
import { button } from "../lib/controls";
export { button, checkbox, labelled, select, slider } from "../lib/controls";
import { onChanges, type WidgetModel } from "../lib/model";

const CSS = `
.iw-analysis .iw-av-toolbar { display: flex; flex-wrap: wrap; gap: 6px 12px; align-items: center; margin-bottom: 6px; }
.iw-analysis .iw-av-content { display: flex; flex-wrap: wrap; gap: 8px; align-items: flex-start; }
.iw-analysis .iw-av-note { font-size: 11px; opacity: 0.8; margin-top: 4px; white-space: pre-wrap; }
.iw-analysis .iw-av-error { color: #b00020; font-size: 12px; }
.iw-analysis canvas { display: block; }
`;

export interface Frame {
  doc: Document;
  root: HTMLDivElement;
  toolbar: HTMLDivElement;
  content: HTMLDivElement;
  note: HTMLDivElement;
  tooltip: Tooltip;
  theme(): ThemeColors;
  /** The binary array trait `key` of the view's model, decoded. */
  array(key: string): NdArray;
  /** The list-of-strings trait `key` (empty when unset). */
  strings(key: string): string[];
  destroy(): void;
}

/** The root element of a view (class `iw-analysis iw-<name>`), with toolbar, content and note;
 * `css`, when given, is the view's own stylesheet (added once per document). */
export function frame({ el, model }: RenderProps, name: string, css?: string): Frame {
  const doc = el.ownerDocument;
  injectStyles(doc);
  addStylesheet(doc, "iw-analysis-style", CSS);
  if (css) addStylesheet(doc, `iw-${name}-style`, css);
  const root = doc.createElement("div");
  root.className = `${ROOT_CLASS} iw-analysis iw-${name}`;
  const toolbar = doc.createElement("div");
  toolbar.className = "iw-av-toolbar";
  const content = doc.createElement("div");
  content.className = "iw-av-content";
  const note = doc.createElement("div");
  note.className = "iw-av-note";
  root.append(toolbar, content, note);
  el.appendChild(root);
  const tooltip = new Tooltip(root);
  return { doc, root, toolbar, content, note, tooltip, theme: () => themeColors(root),
    array: (key) => decodeArray(model.get(key) as ArrayPayload),
    strings: (key) => ((model.get(key) as string[] | undefined) ?? []).map(String),
    destroy: () => { tooltip.destroy(); root.remove(); } };
}


/** PNG and SVG (the canvas as an image) download buttons for the canvases `canvases()` returns. */
export function exportButtons(doc: Document, name: string, canvases: () => HTMLCanvasElement[]): HTMLButtonElement[] {
  const png = button(doc, "PNG", () => {
    canvases().forEach((c, i) => void canvasToPng(c).then((blob) => download(doc, blob, `${name}-${i}.png`)));
  });
  const svg = button(doc, "SVG", () => {
    canvases().forEach((c, i) => {
      const width = parseFloat(c.style.width);
      const height = parseFloat(c.style.height);
      const text = buildSvg(doc, width, height, [{ kind: "image", x: 0, y: 0, width, height, href: c.toDataURL("image/png") }]);
      download(doc, new Blob([text], { type: "image/svg+xml" }), `${name}-${i}.svg`);
    });
  });
  return [png, svg];
}

export interface HeatmapOptions {
  title: string;
  rowLabels?: readonly string[];
  colLabels?: readonly string[];
  scale?: ColorScale;
  cell?: number;
  /** Tooltip lines for cell (i, j). */
  describe?: (i: number, j: number, value: number) => string[];
  onClick?: (i: number, j: number) => void;
  /** Extra drawing on top of the matrix, given the cell size and origin. */
  overlay?: (g: CanvasRenderingContext2D, cellW: number, cellH: number, x0: number, y0: number) => void;
  className?: string;
  masked?: (i: number, j: number) => boolean;
}

const LABEL_W = 70;
const TITLE_H = 18;

/**
 * A canvas with a titled [rows, cols] heatmap, token labels on the left and below (when given,
 * drawn as canvas text, never markup), hover tooltips and clicks.
 */
export function heatmapPanel(fr: Frame, values: Float32Array, rows: number, cols: number, opts: HeatmapOptions): HTMLCanvasElement {
  const theme = fr.theme();
  const canvas = fr.doc.createElement("canvas");
  canvas.className = `iw-av-heatmap ${opts.className ?? ""}`.trim();
  const cell = opts.cell ?? Math.max(3, Math.min(18, Math.floor(260 / Math.max(rows, cols, 1))));
  const left = opts.rowLabels ? LABEL_W : 8;
  const bottom = opts.colLabels ? LABEL_W : 8;
  const width = left + cols * cell + 8;
  const height = TITLE_H + rows * cell + bottom;
  const g = setupCanvas(canvas, width, height);
  g.fillStyle = theme.background;
  g.fillRect(0, 0, width, height);
  let max = 0;
  for (const v of values) if (Number.isFinite(v) && v > max) max = v;
  const scale = opts.scale ?? sequentialScale(0, max || 1);
  paintMatrix(g, values, rows, cols, scale, [left, TITLE_H, cols * cell, rows * cell], opts.masked);
  opts.overlay?.(g, cell, cell, left, TITLE_H);
  g.fillStyle = theme.foreground;
  g.font = `11px ${theme.fontFamily}`;
  g.textBaseline = "middle";
  g.fillText(fitText(g, opts.title, width - 4), 2, TITLE_H / 2);
  g.font = `${Math.min(11, Math.max(7, cell - 1))}px ${theme.monoFontFamily}`;
  if (opts.rowLabels && cell >= 7) {
    g.textAlign = "right";
    opts.rowLabels.forEach((t, i) => g.fillText(fitText(g, visibleTokenText(t), LABEL_W - 6), left - 3, TITLE_H + (i + 0.5) * cell));
  }
  if (opts.colLabels && cell >= 7) {
    g.save();
    g.translate(left, TITLE_H + rows * cell + 3);
    g.rotate(Math.PI / 2);
    g.textAlign = "left";
    opts.colLabels.forEach((t, j) => g.fillText(fitText(g, visibleTokenText(t), LABEL_W - 6), 0, -(j + 0.5) * cell));
    g.restore();
  }
  canvas.dataset.rows = String(rows);
  canvas.dataset.cols = String(cols);
  const cellAt = (event: MouseEvent): [number, number] => {
    const box = canvas.getBoundingClientRect();
    const j = Math.floor((event.clientX - box.left - left) / cell);
    const i = Math.floor((event.clientY - box.top - TITLE_H) / cell);
    return i >= 0 && i < rows && j >= 0 && j < cols ? [i, j] : [-1, -1];
  };
  canvas.addEventListener("mousemove", (event) => {
    const [i, j] = cellAt(event);
    if (i < 0) return fr.tooltip.hide();
    const v = values[i * cols + j];
    fr.tooltip.show(opts.describe ? opts.describe(i, j, v) : [`(${i}, ${j}) ${formatNumber(v)}`], event.clientX, event.clientY);
  });
  canvas.addEventListener("mouseleave", () => fr.tooltip.hide());
  if (opts.onClick) {
    canvas.style.cursor = "pointer";
    canvas.addEventListener("click", (event) => {
      const [i, j] = cellAt(event);
      if (i >= 0) opts.onClick?.(i, j);
    });
  }
  return canvas;
}

/** Draw now and again whenever one of ``keys`` or the theme changes; returns the view's cleanup. */
export function redrawOn(fr: Frame, model: WidgetModel, keys: readonly string[], draw: () => void): () => void {
  const stop = onChanges(model, keys, draw);
  const stopTheme = watchTheme(draw, fr.doc);
  draw();
  return () => {
    stop();
    stopTheme();
    fr.destroy();
  };
}

export interface LineChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  labels: readonly string[];
  logY?: boolean;
  className?: string;
}

const SERIES_COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"];

/** A canvas with one line per series over ``x`` (axes, ticks, legend, hover read-out). */
export function lineChart(fr: Frame, x: Float32Array, series: readonly Float32Array[], opts: LineChartOptions): HTMLCanvasElement {
  const theme = fr.theme();
  const W = 320;
  const shown = opts.labels.slice(0, 8);
  const legendRows = Math.ceil(shown.length / 2);
  const pad = { left: 48, right: 10, top: 20, bottom: 38 + 13 * legendRows };
  const H = 178 + pad.top + pad.bottom;
  const canvas = fr.doc.createElement("canvas");
  canvas.className = `iw-av-lines ${opts.className ?? ""}`.trim();
  const g = setupCanvas(canvas, W, H);
  g.fillStyle = theme.background;
  g.fillRect(0, 0, W, H);
  const pw = W - pad.left - pad.right;
  const ph = H - pad.top - pad.bottom;
  const [x0, x1] = seriesExtent([x]);
  const log = Boolean(opts.logY);
  const [lo, hi] = seriesExtent(series, log);
  const t = (v: number) => (log ? Math.log10(v) : v);
  const [y0, y1] = lo === hi ? [t(lo) - 1, t(hi) + 1] : [t(lo), t(hi)];
  const px = (v: number) => pad.left + ((v - x0) / (x1 - x0 || 1)) * pw;
  const py = (v: number) => pad.top + (1 - (t(v) - y0) / (y1 - y0)) * ph;
  g.strokeStyle = theme.border;
  g.strokeRect(pad.left, pad.top, pw, ph);
  g.fillStyle = theme.foreground;
  g.font = `11px ${theme.fontFamily}`;
  g.fillText(fitText(g, opts.title, W - 4), 2, 12);
  g.font = `10px ${theme.fontFamily}`;
  g.textAlign = "right";
  for (const v of niceTicks(y0, y1, 4)) g.fillText(log ? `1e${v}` : formatNumber(v), pad.left - 4, pad.top + (1 - (v - y0) / (y1 - y0)) * ph + 3);
  g.textAlign = "center";
  for (const v of niceTicks(x0, x1, 5)) g.fillText(formatNumber(v), px(v), pad.top + ph + 12);
  g.fillText(opts.xLabel, pad.left + pw / 2, pad.top + ph + 25);
  g.save();
  g.translate(10, pad.top + ph / 2);
  g.rotate(-Math.PI / 2);
  g.fillText(fitText(g, opts.yLabel, ph), 0, 0);
  g.restore();
  series.forEach((s, k) => {
    g.strokeStyle = SERIES_COLORS[k % SERIES_COLORS.length];
    g.lineWidth = 1.3;
    g.beginPath();
    let started = false;
    s.forEach((v, i) => {
      if (!Number.isFinite(v) || (log && v <= 0)) {
        started = false;
        return;
      }
      if (started) g.lineTo(px(x[i]), py(v));
      else g.moveTo(px(x[i]), py(v));
      started = true;
    });
    g.stroke();
  });
  g.lineWidth = 1;
  g.textAlign = "left";
  const column = (W - 8) / 2;  // legend: two columns under the x label, one row per pair of series
  shown.forEach((label, k) => {
    g.fillStyle = SERIES_COLORS[k % SERIES_COLORS.length];
    g.fillText(fitText(g, `\u2014 ${label}`, column - 6), 4 + column * (k % 2), pad.top + ph + 42 + 13 * Math.floor(k / 2));
  });
  canvas.addEventListener("mousemove", (event) => {
    const box = canvas.getBoundingClientRect();
    const at = x0 + ((event.clientX - box.left - pad.left) / pw) * (x1 - x0);
    if (at < x0 || at > x1 || x.length === 0) return fr.tooltip.hide();
    let i = 0;
    x.forEach((v, j) => { if (Math.abs(v - at) < Math.abs(x[i] - at)) i = j; });
    fr.tooltip.show([`${opts.xLabel} = ${formatNumber(x[i])}`, ...series.slice(0, 8).map((s, k) => `${opts.labels[k] ?? k}: ${formatNumber(s[i])}`)], event.clientX, event.clientY);
  });
  canvas.addEventListener("mouseleave", () => fr.tooltip.hide());
  return canvas;
}
