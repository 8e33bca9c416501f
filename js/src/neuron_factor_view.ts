/**
 * NeuronFactorView: one sparkline per NMF factor over the tokens (click a row to select the
 * factor), the token strip coloured by the selected factor's strength, and the selected factor's
 * top tokens and top neurons.
 *
 * Traits: tokens, title, factors [factor, pos], top_positions / top_strengths [factor, k],
 * top_neurons (labels [factor][k]), top_loadings [factor, k]; state: factor; error (why the
 * kernel refused the last change).
 */

import { setupCanvas } from "./lib/canvas";
import { rgbToCss, sequentialScale, textColorOn } from "./lib/colors";
import { formatNumber } from "./lib/format";
import type { RenderProps } from "./lib/model";
import { quotedTokenText, renderTokenStrip, tokenIndexOf } from "./lib/tokens";
import { layerColor } from "./analysis_views/logic";
import { exportButtons, frame, redrawOn, type Frame } from "./analysis_views/ui";
import { row } from "./hidden/views_logic";

const CSS = `
.iw-neuron-factors .iw-nf-rows { display: flex; flex-direction: column; gap: 1px; }
.iw-neuron-factors .iw-nf-row { display: flex; align-items: center; gap: 6px; cursor: pointer; padding: 1px 4px; border-radius: 3px; }
.iw-neuron-factors .iw-nf-row > span { font-family: var(--iw-monoFontFamily); font-size: 11px; white-space: pre; }
.iw-neuron-factors .iw-nf-selected { box-shadow: inset 0 0 0 2px var(--iw-accent); }
.iw-neuron-factors .iw-nf-strip { line-height: 1.9; max-width: 640px; }
.iw-neuron-factors .iw-nf-strip .iw-token { padding: 1px 2px; margin: 0 1px; border-radius: 2px; font-family: var(--iw-monoFontFamily); }
.iw-neuron-factors .iw-nf-lists { display: flex; gap: 16px; font-size: 11px; }
.iw-neuron-factors .iw-nf-lists ol { margin: 2px 0; padding-left: 20px; font-family: var(--iw-monoFontFamily); }
`;

const SPARK_W = 320;
const SPARK_H = 26;

/** A filled sparkline of `values` (0 at the bottom, the row maximum at the top). */
function sparkline(fr: Frame, values: Float32Array, tokens: readonly string[], color: string): HTMLCanvasElement {
  const canvas = fr.doc.createElement("canvas");
  canvas.className = "iw-nf-spark";
  const g = setupCanvas(canvas, SPARK_W, SPARK_H);
  g.fillStyle = fr.theme().background;
  g.fillRect(0, 0, SPARK_W, SPARK_H);
  let max = 0;
  for (const v of values) if (Number.isFinite(v)) max = Math.max(max, v);
  const n = values.length;
  const x = (i: number) => (n > 1 ? (i / (n - 1)) * (SPARK_W - 2) + 1 : SPARK_W / 2);
  const y = (v: number) => SPARK_H - 1 - (Number.isFinite(v) ? v / (max || 1) : 0) * (SPARK_H - 3);
  g.beginPath();
  g.moveTo(x(0), SPARK_H - 1);
  values.forEach((v, i) => g.lineTo(x(i), y(v)));
  g.lineTo(x(n - 1), SPARK_H - 1);
  g.closePath();
  g.globalAlpha = 0.35;
  g.fillStyle = color;
  g.fill();
  g.globalAlpha = 1;
  g.beginPath();
  values.forEach((v, i) => (i === 0 ? g.moveTo(x(i), y(v)) : g.lineTo(x(i), y(v))));
  g.strokeStyle = color;
  g.stroke();
  canvas.addEventListener("mousemove", (event) => {
    const box = canvas.getBoundingClientRect();
    const i = Math.round(((event.clientX - box.left - 1) / (SPARK_W - 2)) * (n - 1));
    if (i < 0 || i >= n) return fr.tooltip.hide();
    fr.tooltip.show([`#${i} ${quotedTokenText(tokens[i] ?? "")}`, `strength ${formatNumber(values[i])}`], event.clientX, event.clientY);
  });
  canvas.addEventListener("mouseleave", () => fr.tooltip.hide());
  return canvas;
}

function list(doc: Document, heading: string, items: string[], className: string): HTMLDivElement {
  const box = doc.createElement("div");
  box.className = className;
  const head = doc.createElement("div");
  head.textContent = heading;
  const ol = doc.createElement("ol");
  for (const text of items) {
    const li = doc.createElement("li");
    li.textContent = text;
    ol.appendChild(li);
  }
  box.append(head, ol);
  return box;
}

function render(props: RenderProps): () => void {
  const { model } = props;
  const fr = frame(props, "neuron-factors", CSS);
  const { doc } = fr;
  const arr = fr.array;
  const factors = arr("factors");
  const positions = arr("top_positions");
  const strengths = arr("top_strengths");
  const loadings = arr("top_loadings");
  const tokens = ((model.get("tokens") as string[] | undefined) ?? []).map(String);
  const neurons = ((model.get("top_neurons") as string[][] | undefined) ?? []).map((r) => r.map(String));
  const F = factors.shape[0] ?? 0;
  const title = doc.createElement("div");
  title.textContent = String(model.get("title") ?? "");
  const error = doc.createElement("div");
  error.className = "iw-av-error";
  const rows = doc.createElement("div");
  rows.className = "iw-nf-rows";
  const select = (f: number): void => {
    model.set("factor", f);
    model.save_changes();
  };
  const sparks: HTMLCanvasElement[] = [];
  const rowEls: HTMLDivElement[] = [];
  const draw = (): void => {
    const colors = Array.from({ length: F }, (_, f) => rgbToCss(layerColor(f, F)));
    rowEls.length = 0;
    sparks.length = 0;
    for (let f = 0; f < F; f++) {
      const el = doc.createElement("div");
      el.className = "iw-nf-row";
      el.dataset.factor = String(f);
      const label = doc.createElement("span");
      label.textContent = `F${f}`;
      const spark = sparkline(fr, row(factors, f), tokens, colors[f]);
      const peaks = doc.createElement("span");
      const K = positions.shape[1] ?? 0;
      peaks.textContent = Array.from({ length: Math.min(3, K) }, (_, j) => quotedTokenText(tokens[positions.data[f * K + j]] ?? "")).join(" ");
      el.append(label, spark, peaks);
      el.addEventListener("click", () => select(f));
      rowEls.push(el);
      sparks.push(spark);
    }
    rows.replaceChildren(...rowEls);
    fr.toolbar.replaceChildren(title, error, ...exportButtons(doc, "neuron-factors", () => sparks));
    drawSelection();
  };
  const strip = doc.createElement("div");
  strip.className = "iw-nf-strip";
  const spans = renderTokenStrip(strip, tokens);
  strip.addEventListener("mousemove", (event) => {
    const i = tokenIndexOf(event.target);
    if (i < 0) return fr.tooltip.hide();
    const f = Number(model.get("factor") ?? 0);
    fr.tooltip.show([`#${i} ${quotedTokenText(tokens[i] ?? "")}`, `F${f} strength ${formatNumber(factors.data[f * tokens.length + i])}`],
      event.clientX, event.clientY);
  });
  strip.addEventListener("mouseleave", () => fr.tooltip.hide());
  const lists = doc.createElement("div");
  lists.className = "iw-nf-lists";
  const drawSelection = (): void => {
    const f = Math.min(Math.max(Number(model.get("factor") ?? 0), 0), Math.max(F - 1, 0));
    rowEls.forEach((el, i) => el.classList.toggle("iw-nf-selected", i === f));
    rows.dataset.factor = String(f);
    const values = row(factors, f);
    let max = 0;
    for (const v of values) if (Number.isFinite(v)) max = Math.max(max, v);
    const scale = sequentialScale(0, max || 1);
    spans.forEach((span, i) => {
      const rgb = scale.rgb(values[i]) ?? [220, 220, 220];
      span.style.background = rgbToCss(rgb);
      span.style.color = textColorOn(rgb);
    });
    const K = positions.shape[1] ?? 0;
    const KN = loadings.shape[1] ?? 0;
    lists.replaceChildren(
      list(doc, `F${f}: top tokens (strength)`, Array.from({ length: K }, (_, j) => {
        const p = positions.data[f * K + j];
        return `#${p} ${quotedTokenText(tokens[p] ?? "")}  ${formatNumber(strengths.data[f * K + j])}`;
      }), "iw-nf-top-tokens"),
      list(doc, `F${f}: top neurons (loading)`, Array.from({ length: KN }, (_, j) =>
        `${neurons[f]?.[j] ?? j}  ${formatNumber(loadings.data[f * KN + j])}`), "iw-nf-top-neurons"));
    error.textContent = String(model.get("error") ?? "");
  };
  const body = doc.createElement("div");
  body.append(rows, strip, lists);
  fr.content.replaceChildren(body);
  fr.note.textContent = "each row: one NMF factor's strength over the tokens; click a row to colour the text by it "
    + "(colour: the selected factor's strength, 0 to its maximum over the text).";
  const stop = redrawOn(fr, model, [], draw);
  const onSel = (): void => drawSelection();
  model.on("change:factor", onSel);
  model.on("change:error", onSel);
  return () => {
    model.off("change:factor", onSel);
    model.off("change:error", onSel);
    stop();
  };
}

export default { render };
