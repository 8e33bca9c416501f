/**
 * PositionalExplorer: a positional scheme (and optionally a second one) as a position × position
 * matrix and curves over distance; the controls change traits and the kernel recomputes.
 *
 * Traits: schemes {key: title}, scheme, compare ("" = none), dim, base, factor, length, heads,
 * head; per side a/b: matrix_* [n, n'], x_* [K], curves_* [C, K], info_* (titles, axis names,
 * curve labels, log_y); error, revision.
 */

import { decodeArray, finiteExtent, type ArrayPayload } from "./lib/arrays";
import { sequentialScale } from "./lib/colors";
import { formatNumber } from "./lib/format";
import type { RenderProps, WidgetModel } from "./lib/model";
import { exportButtons, frame, heatmapPanel, labelled, lineChart, redrawOn, select, slider, type Frame } from "./analysis_views/ui";

interface PanelInfo {
  scheme: string;
  title: string;
  matrix_title: string;
  row_label: string;
  col_label: string;
  curve_labels: string[];
  x_label: string;
  y_label: string;
  log_y: boolean;
}

/** Which parameters each scheme reads. */
const USES: Record<string, readonly string[]> = {
  sinusoidal: ["dim", "base"],
  rope: ["dim", "base"],
  "rope-linear": ["dim", "base", "factor"],
  "rope-ntk": ["dim", "base", "factor"],
  xpos: ["dim", "base"],
  yarn: ["dim", "base", "factor"],
  alibi: ["heads", "head"],
  pose: ["factor"],
};

/** Slider ranges; ``base`` moves on a log10 scale. */
const SLIDERS: Record<string, { min: number; max: number; step: number; log?: boolean }> = {
  dim: { min: 2, max: 256, step: 2 },
  base: { min: 1, max: 7, step: 0.1, log: true },
  factor: { min: 1, max: 32, step: 0.5 },
  length: { min: 8, max: 2048, step: 8 },
  heads: { min: 1, max: 32, step: 1 },
  head: { min: 0, max: 31, step: 1 },
};

const KERNEL_WAIT_MS = 4000;

function panel(fr: Frame, model: WidgetModel, side: "a" | "b"): HTMLCanvasElement[] {
  const payload = model.get(`matrix_${side}`) as ArrayPayload | null;
  const info = model.get(`info_${side}`) as PanelInfo | undefined;
  if (!payload || !info?.scheme) return [];
  const matrix = decodeArray(payload);
  const [rows, cols] = matrix.shape;
  const x = decodeArray(model.get(`x_${side}`) as ArrayPayload).data;
  const curves = decodeArray(model.get(`curves_${side}`) as ArrayPayload);
  const K = curves.shape[1] ?? 0;
  const series = Array.from({ length: curves.shape[0] ?? 0 }, (_, c) => curves.data.subarray(c * K, (c + 1) * K));
  const [lo, hi] = finiteExtent(matrix.data);
  const heat = heatmapPanel(fr, matrix.data, rows, cols, {
    title: `${info.title}: ${info.matrix_title}`,
    cell: Math.max(1, Math.floor(256 / Math.max(rows, cols, 1))),
    scale: sequentialScale(lo, hi > lo ? hi : lo + 1),
    describe: (i, j, v) => [`${info.row_label} ${i}, ${info.col_label} ${j}`, Number.isFinite(v) ? formatNumber(v) : "masked"],
    className: `iw-pe-matrix iw-pe-${side}`,
  });
  const chart = lineChart(fr, x, series, {
    title: info.title, xLabel: info.x_label, yLabel: info.y_label, labels: info.curve_labels,
    logY: info.log_y, className: `iw-pe-curves iw-pe-${side}`,
  });
  heat.dataset.scheme = info.scheme;
  return [heat, chart];
}

function render(props: RenderProps): () => void {
  const { model } = props;
  const fr = frame(props, "positional");
  const { doc } = fr;
  const schemes = (model.get("schemes") as Record<string, string> | undefined) ?? {};
  const options = Object.entries(schemes) as [string, string][];
  let canvases: HTMLCanvasElement[] = [];
  let waiting: ReturnType<typeof setTimeout> | undefined;
  let stale = false;

  const update = (key: string, value: unknown): void => {
    const revision = Number(model.get("revision") ?? 0);
    model.set(key, value);
    model.save_changes();
    clearTimeout(waiting);
    waiting = setTimeout(() => {
      stale = Number(model.get("revision") ?? 0) === revision && !model.get("error");
      draw();
    }, KERNEL_WAIT_MS);
  };

  const control = (name: string): HTMLLabelElement => {
    const spec = SLIDERS[name];
    const value = Number(model.get(name));
    const max = name === "head" ? Math.max(0, Number(model.get("heads") ?? 1) - 1) : spec.max;
    const shown = doc.createElement("span");
    shown.textContent = formatNumber(value);
    const input = slider(doc, name, spec.log ? Math.log10(value) : value, spec.min, max, spec.step,
      (v) => update(name, spec.log ? Number((10 ** v).toPrecision(3)) : v));
    input.addEventListener("input", () => { shown.textContent = formatNumber(spec.log ? 10 ** Number(input.value) : Number(input.value)); });
    const label = labelled(doc, name, input);
    label.append(" ", shown);
    return label;
  };

  const draw = (): void => {
    const scheme = String(model.get("scheme") ?? "");
    const compare = String(model.get("compare") ?? "");
    const used = new Set(["length", ...(USES[scheme] ?? []), ...(USES[compare] ?? [])]);
    fr.toolbar.replaceChildren(
      labelled(doc, "scheme", select(doc, "scheme", options, scheme, (v) => update("scheme", v))),
      labelled(doc, "compare with", select(doc, "compare", [["", "none"], ...options], compare, (v) => update("compare", v))),
      ...Object.keys(SLIDERS).filter((name) => used.has(name)).map(control),
      ...exportButtons(doc, "positional", () => canvases),
    );
    canvases = [...panel(fr, model, "a"), ...panel(fr, model, "b")];
    fr.content.replaceChildren(...canvases);
    const error = String(model.get("error") ?? "");
    fr.note.textContent = error || (stale ? "No kernel recomputed the panels: this page shows the state it was saved with." : "");
    fr.note.classList.toggle("iw-av-error", Boolean(error));
  };

  const cleanup = redrawOn(fr, model, ["revision", "error", "scheme", "compare", "heads"], () => {
    stale = false;
    draw();
  });
  return () => {
    clearTimeout(waiting);
    cleanup();
  };
}

export default { render };
