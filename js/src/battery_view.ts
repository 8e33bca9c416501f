/**
 * BatteryView: a survey battery over several models. The items × variants answer grid of the
 * selected model (colour = the answer's value on the scale; with repeated runs the modal answer
 * and the share of runs giving it), the consistency summary (one row per model; a click selects
 * it) and the scaling curve (the chosen quantity against parameter count, log x; a click on a
 * point selects that model).
 *
 * Traits: names, variants, item_ids, texts [V][I], scale, values, metric_names, title,
 * answers [K, V, I, R], probs [K, V, I, L], consistency [K, M] (metric_names), score, expected_score,
 * n_params [K]; state: model, curve; error.
 */

import { decodeArray, type ArrayPayload } from "./lib/arrays";
import { fitText, setupCanvas } from "./lib/canvas";
import { divergingScale, textColorOn } from "./lib/colors";
import { formatNumber } from "./lib/format";
import type { RenderProps } from "./lib/model";
import { linearMap, niceTicks, type Point } from "./analysis_views/logic";
import { exportButtons, labelled, redrawOn, select } from "./analysis_views/ui";
import { logTicks, modalAnswer, scalingSeries, type Modal } from "./outputs/logic";
import { outputFrame, pointLayer, stringList } from "./outputs/ui";

const CELL_W = 128;
const CELL_H = 20;
const LEFT = 72;
const TOP = 22;
const CURVE = { w: 380, h: 250, left: 48, right: 10, top: 22, bottom: 44 };
/** Room right of the last point for its name. */
const NAME_ROOM = 70;
const CURVES = ["score", "expected score"];

const CSS = `
.iw-battery .iw-bt-summary { border-collapse: collapse; font-size: 12px; }
.iw-battery .iw-bt-summary th, .iw-battery .iw-bt-summary td { padding: 2px 6px; text-align: right; border-top: 1px solid var(--iw-border); }
.iw-battery .iw-bt-summary th:first-child, .iw-battery .iw-bt-summary td:first-child { text-align: left; }
.iw-battery .iw-bt-row { cursor: pointer; }
.iw-battery .iw-bt-row.iw-selected { font-weight: 600; outline: 2px solid var(--iw-accent); }
`;

function render(props: RenderProps): () => void {
  const { model } = props;
  const fr = outputFrame(props, "battery", CSS);
  const { doc } = fr;
  const strings = (k: string) => stringList(model, k);
  const names = strings("names");
  const variants = strings("variants");
  const items = strings("item_ids");
  const scale = strings("scale");
  const metrics = strings("metric_names");
  const texts = ((model.get("texts") as string[][] | undefined) ?? []).map((row) => row.map(String));
  const values = ((model.get("values") as number[] | undefined) ?? []).map(Number);
  const answers = decodeArray(model.get("answers") as ArrayPayload);
  const probs = decodeArray(model.get("probs") as ArrayPayload);
  const consistency = decodeArray(model.get("consistency") as ArrayPayload);
  const vector = (k: string) => decodeArray(model.get(k) as ArrayPayload).data;
  const score = vector("score");
  const expected = vector("expected_score");
  const sizes = vector("n_params");
  const [K, V, I, R] = answers.shape;
  const L = scale.length;
  const M = metrics.length;
  const colors = divergingScale(Math.max(...values.map(Math.abs), 1e-9));
  const curves = [...CURVES, ...metrics];
  let canvases: HTMLCanvasElement[] = [];
  const update = (key: string, value: number | string): void => {
    model.set(key, value);
    model.save_changes();
  };
  const curveValues = (curve: string): Float32Array => {
    if (curve === "score") return score;
    if (curve === "expected score") return expected;
    const j = metrics.indexOf(curve);
    return Float32Array.from({ length: K }, (_, m) => consistency.data[m * M + j]);
  };

  const cellModal = (m: number, v: number, i: number): Modal =>
    modalAnswer(answers.data.subarray(((m * V + v) * I + i) * R, ((m * V + v) * I + i + 1) * R));

  const grid = (m: number): HTMLCanvasElement => {
    const theme = fr.theme();
    const c = doc.createElement("canvas");
    c.className = "iw-bt-grid";
    const W = LEFT + V * CELL_W + 4;
    const H = TOP + I * CELL_H + 4;
    const g = setupCanvas(c, W, H);
    g.fillStyle = theme.background;
    g.fillRect(0, 0, W, H);
    g.font = `11px ${theme.fontFamily}`;
    g.textBaseline = "middle";
    g.textAlign = "center";
    g.fillStyle = theme.foreground;
    variants.forEach((name, v) => g.fillText(fitText(g, name, CELL_W - 4), LEFT + (v + 0.5) * CELL_W, TOP / 2));
    const levels: number[][] = [];
    let answered = 0;
    for (let i = 0; i < I; i++) {
      g.font = `11px ${theme.fontFamily}`;
      g.textAlign = "right";
      g.fillStyle = theme.foreground;
      g.fillText(fitText(g, items[i], LEFT - 6), LEFT - 4, TOP + (i + 0.5) * CELL_H);
      g.textAlign = "center";
      const row: number[] = [];
      for (let v = 0; v < V; v++) {
        const { level, agreement } = cellModal(m, v, i);
        row.push(level);
        const x = LEFT + v * CELL_W;
        const y = TOP + i * CELL_H;
        const rgb = level >= 0 ? colors.rgb(values[level]) : null;
        g.fillStyle = rgb ? `rgb(${rgb.join(",")})` : theme.border;
        g.fillRect(x + 1, y + 1, CELL_W - 2, CELL_H - 2);
        if (level < 0) continue;
        answered++;
        g.font = `10px ${theme.fontFamily}`;
        g.fillStyle = rgb ? textColorOn(rgb) : theme.foreground;
        const label = R > 1 ? `${scale[level]} ${Math.round(agreement * 100)}%` : scale[level];
        g.fillText(fitText(g, label, CELL_W - 6), x + CELL_W / 2, y + CELL_H / 2);
      }
      levels.push(row);
    }
    c.dataset.cells = String(answered);
    c.dataset.levels = JSON.stringify(levels);
    c.addEventListener("mousemove", (event) => {
      const box = c.getBoundingClientRect();
      const v = Math.floor((event.clientX - box.left - LEFT) / CELL_W);
      const i = Math.floor((event.clientY - box.top - TOP) / CELL_H);
      if (v < 0 || v >= V || i < 0 || i >= I) return fr.tooltip.hide();
      const { level, agreement } = cellModal(m, v, i);
      const lines = [`${items[i]} \u00b7 ${variants[v]}`, texts[v]?.[i] || "(no such variant for this item)"];
      if (level >= 0) {
        lines.push(R > 1 ? `modal answer: ${scale[level]} (${formatNumber(agreement)} of ${R} runs)` : `answer: ${scale[level]}`);
        const base = ((m * V + v) * I + i) * L;
        lines.push(scale.map((s, l) => `${s} ${formatNumber(probs.data[base + l])}`).join(", "));
      }
      fr.tooltip.show(lines, event.clientX, event.clientY);
    });
    c.addEventListener("mouseleave", () => fr.tooltip.hide());
    return c;
  };

  const summary = (m: number): HTMLTableElement => {
    const table = doc.createElement("table");
    table.className = "iw-bt-summary";
    const head = doc.createElement("tr");
    for (const text of ["model", "parameters", "score", ...metrics]) {
      const th = doc.createElement("th");
      th.textContent = text;
      head.appendChild(th);
    }
    table.appendChild(head);
    names.forEach((name, k) => {
      const tr = doc.createElement("tr");
      tr.className = k === m ? "iw-bt-row iw-selected" : "iw-bt-row";
      const cells = [name, formatNumber(sizes[k]), formatNumber(score[k]),
        ...metrics.map((_, j) => formatNumber(consistency.data[k * M + j]))];
      for (const text of cells) {
        const td = doc.createElement("td");
        td.textContent = text === "NaN" ? "\u2014" : text;
        tr.appendChild(td);
      }
      tr.addEventListener("click", () => update("model", k));
      table.appendChild(tr);
    });
    return table;
  };

  const curvePanel = (m: number, curve: string): HTMLCanvasElement => {
    const theme = fr.theme();
    const c = doc.createElement("canvas");
    c.className = "iw-bt-curve";
    const { w: W, h: H, left, right, top, bottom } = CURVE;
    const g = setupCanvas(c, W, H);
    g.fillStyle = theme.background;
    g.fillRect(0, 0, W, H);
    const pw = W - left - right;
    const ph = H - top - bottom;
    g.strokeStyle = theme.border;
    g.strokeRect(left, top, pw, ph);
    g.fillStyle = theme.foreground;
    g.font = `11px ${theme.fontFamily}`;
    g.textAlign = "left";
    g.fillText(fitText(g, `scaling: ${curve} against parameters`, W - 4), 2, 12);
    const pts = scalingSeries(sizes, curveValues(curve));
    if (pts.length === 0) {
      g.textAlign = "center";
      g.fillText("no model has a known size and a value", left + pw / 2, top + ph / 2);
      c.dataset.points = "0";
      return c;
    }
    const logs = pts.map((p) => Math.log10(p.x));
    const mx = linearMap(logs, left + 12, left + pw - NAME_ROOM);
    const ys = pts.map((p) => p.y);
    const [ylo, yhi] = [Math.min(...ys, 0), Math.max(...ys, curve.includes("score") ? 0 : 1)];
    const my = linearMap([ylo, yhi], top + ph - 6, top + 6);
    g.font = `10px ${theme.fontFamily}`;
    g.textAlign = "center";
    for (const t of logTicks(pts[0].x, pts[pts.length - 1].x)) g.fillText(formatNumber(t), mx(Math.log10(t)), top + ph + 12);
    g.fillText("parameters (log scale)", left + pw / 2, top + ph + 28);
    g.textAlign = "right";
    for (const t of niceTicks(ylo, yhi, 4)) g.fillText(formatNumber(t), left - 4, my(t) + 3);
    if (ylo < 0 && yhi > 0) {
      g.strokeStyle = theme.border;
      g.beginPath();
      g.moveTo(left, my(0));
      g.lineTo(left + pw, my(0));
      g.stroke();
    }
    const points: Point[] = pts.map((p, j) => ({ index: p.index, layer: p.index, head: 0, x: p.x, y: p.y, px: mx(logs[j]), py: my(p.y) }));
    g.strokeStyle = theme.accent;
    g.lineWidth = 1.3;
    g.beginPath();
    points.forEach((p, j) => (j === 0 ? g.moveTo(p.px, p.py) : g.lineTo(p.px, p.py)));
    g.stroke();
    g.lineWidth = 1;
    pointLayer(fr, c, g, points, {
      names,
      color: () => theme.accent,
      ring: (i) => (i === m ? 2.5 : 0),
      describe: (p) => [names[p.index], `parameters ${formatNumber(p.x)}`, `${curve} ${formatNumber(p.y)}`],
      onClick: (p) => update("model", p.index),
    });
    return c;
  };

  const draw = (): void => {
    const m = Math.min(Math.max(Number(model.get("model") ?? 0), 0), Math.max(K - 1, 0));
    const curve = String(model.get("curve") ?? "score");
    const error = doc.createElement("div");
    error.className = "iw-av-error";
    error.textContent = String(model.get("error") ?? "");
    const title = doc.createElement("div");
    title.textContent = String(model.get("title") ?? "");
    fr.toolbar.replaceChildren(title,
      labelled(doc, "model", select(doc, "model", names.map((n, k): [string, string] => [String(k), n]), String(m), (v) => update("model", Number(v)))),
      labelled(doc, "curve", select(doc, "curve", curves.map((n): [string, string] => [n, n]), curve, (v) => update("curve", v))),
      ...exportButtons(doc, "battery", () => canvases), error);
    canvases = K > 0 ? [grid(m), curvePanel(m, curve)] : [];
    fr.content.replaceChildren(...canvases.slice(0, 1), summary(m), ...canvases.slice(1));
    fr.note.textContent = "grid: each item's answer per prompt variant (red: agree, blue: disagree"
      + (R > 1 ? "; the percentage is the share of runs giving the modal answer" : "") + "). "
      + "summary: negation = answers to a statement and its negation on opposite sides; reversed = same answer with the "
      + "options in reverse order; paraphrase = same answer to the paraphrase; languages = same answer in translation; modal agreement = share of runs giving "
      + "an item's most common answer. Click a row or a point to show that model's grid.";
  };
  return redrawOn(fr, model, ["model", "curve", "error"], draw);
}

export default { render };
