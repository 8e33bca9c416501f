/**
 * OpinionView: per question, grouped bars of each model's distribution over the ordinal options
 * next to the selected human group's; with human data, the model × group representativeness
 * heat map (a click on a cell selects its group and model); with steering, the selected model's
 * default and steered distributions (one bar series per context) next to the group's, and a
 * table of each context's representativeness for the group (best context marked; a click on a
 * row selects the model). Without questions (RepresentativenessView) only the heat map and the
 * steering table are drawn.
 *
 * Traits: names, groups, question_ids, options, steer_kinds, dist [K, Q, O], refusal [K, Q],
 * human [G, Q, O], R [K, G], steered [C, G, K, Q, O], steered_R [C, K, G]; state: question,
 * group, model; error.
 */

import { decodeArray, type ArrayPayload } from "./lib/arrays";
import { setupCanvas, fitText } from "./lib/canvas";
import { sequentialScale } from "./lib/colors";
import { formatNumber } from "./lib/format";
import type { RenderProps } from "./lib/model";
import { exportButtons, heatmapPanel, labelled, redrawOn, select } from "./analysis_views/ui";
import { bestIndex, categoryColors } from "./outputs/logic";
import { outputFrame, stringList } from "./outputs/ui";

const W = 460;
const H = 260;
const PAD = { left: 40, right: 10, top: 20, bottom: 60 };
const HUMAN_COLOR = "#222222";

interface Series {
  label: string;
  color: string;
  values: number[];
}

const CSS = `
.iw-opinions .iw-op-steerability { border-collapse: collapse; font-size: 12px; }
.iw-opinions .iw-op-steerability th, .iw-opinions .iw-op-steerability td { padding: 2px 6px; text-align: right; border-top: 1px solid var(--iw-border); }
.iw-opinions .iw-op-steerability th:first-child, .iw-opinions .iw-op-steerability td:first-child { text-align: left; }
.iw-opinions .iw-op-steer-row { cursor: pointer; }
.iw-opinions .iw-op-steer-row.iw-selected { font-weight: 600; outline: 2px solid var(--iw-accent); }
`;

function render(props: RenderProps): () => void {
  const { model } = props;
  const fr = outputFrame(props, "opinions", CSS);
  const { doc } = fr;
  const strings = (k: string) => stringList(model, k);
  const names = strings("names");
  const groups = strings("groups");
  const ids = strings("question_ids");
  const kinds = strings("steer_kinds");
  const options = ((model.get("options") as string[][] | undefined) ?? []).map((o) => o.map(String));
  const dist = decodeArray(model.get("dist") as ArrayPayload);
  const refusal = decodeArray(model.get("refusal") as ArrayPayload);
  const human = decodeArray(model.get("human") as ArrayPayload);
  const R = decodeArray(model.get("R") as ArrayPayload);
  const steered = decodeArray(model.get("steered") as ArrayPayload);
  const steeredR = decodeArray(model.get("steered_R") as ArrayPayload);
  const K = names.length;
  const [, Q, O] = dist.shape;
  const G = groups.length;
  const C = kinds.length;
  const colors = categoryColors(names);
  const contextColors = categoryColors(["default", ...kinds]);
  let canvases: HTMLCanvasElement[] = [];
  const update = (key: string, value: number): void => {
    model.set(key, value);
    model.save_changes();
  };
  const humanSeries = (q: number, g: number, n: number): Series => ({ label: `people: ${groups[g]}`, color: HUMAN_COLOR,
    values: Array.from({ length: n }, (_, o) => human.data[(g * Q + q) * O + o]) });

  const bars = (className: string, title: string, opts: readonly string[], series: readonly Series[]): HTMLCanvasElement => {
    const theme = fr.theme();
    const c = doc.createElement("canvas");
    c.className = className;
    const ctx = setupCanvas(c, W, H);
    ctx.fillStyle = theme.background;
    ctx.fillRect(0, 0, W, H);
    const pw = W - PAD.left - PAD.right;
    const ph = H - PAD.top - PAD.bottom;
    const slot = pw / Math.max(opts.length, 1);
    const bw = (slot * 0.8) / Math.max(series.length, 1);
    ctx.strokeStyle = theme.border;
    ctx.strokeRect(PAD.left, PAD.top, pw, ph);
    let drawn = 0;
    series.forEach((s, k) => s.values.forEach((v, o) => {
      if (!Number.isFinite(v)) return;
      ctx.fillStyle = s.color;
      ctx.fillRect(PAD.left + o * slot + slot * 0.1 + k * bw, PAD.top + ph * (1 - v), bw - 1, ph * v);
      drawn++;
    }));
    ctx.fillStyle = theme.foreground;
    ctx.font = `11px ${theme.fontFamily}`;
    ctx.textAlign = "left";
    ctx.fillText(fitText(ctx, title, W - 4), 2, 12);
    ctx.font = `10px ${theme.fontFamily}`;
    ctx.textAlign = "right";
    ["0", "0.5", "1"].forEach((t, i) => ctx.fillText(t, PAD.left - 4, PAD.top + ph * (1 - i / 2) + 3));
    ctx.textAlign = "center";
    opts.forEach((t, o) => ctx.fillText(fitText(ctx, t, slot - 2), PAD.left + (o + 0.5) * slot, PAD.top + ph + 12));
    ctx.textAlign = "left";
    series.forEach((s, k) => {
      ctx.fillStyle = s.color;
      ctx.fillText(fitText(ctx, `\u25a0 ${s.label}`, pw / 2 - 4), PAD.left + (pw / 2) * (k % 2), PAD.top + ph + 26 + 12 * Math.floor(k / 2));
    });
    c.dataset.bars = String(drawn);
    c.dataset.series = JSON.stringify(series.map((s) => s.label));
    c.addEventListener("mousemove", (event) => {
      const box = c.getBoundingClientRect();
      const o = Math.floor((event.clientX - box.left - PAD.left) / slot);
      if (o < 0 || o >= opts.length) return fr.tooltip.hide();
      fr.tooltip.show([opts[o], ...series.map((s) => `${s.label}: ${formatNumber(s.values[o])}`)], event.clientX, event.clientY);
    });
    c.addEventListener("mouseleave", () => fr.tooltip.hide());
    return c;
  };

  const modelBars = (q: number, g: number): HTMLCanvasElement => {
    const opts = options[q] ?? [];
    const series: Series[] = names.map((n, m) => ({
      label: `${n} (refusal ${formatNumber(refusal.data[m * Q + q])})`, color: colors.get(n) ?? "#777",
      values: opts.map((_, o) => dist.data[(m * Q + q) * O + o]) }));
    if (G > 0) series.push(humanSeries(q, g, opts.length));
    return bars("iw-op-bars", `${ids[q]}: answer distribution`, opts, series);
  };

  const steerBars = (q: number, g: number, m: number): HTMLCanvasElement => {
    const opts = options[q] ?? [];
    const series: Series[] = [{ label: "default", color: contextColors.get("default") ?? "#777",
      values: opts.map((_, o) => dist.data[(m * Q + q) * O + o]) }];
    kinds.forEach((kind, c) => series.push({ label: kind, color: contextColors.get(kind) ?? "#777",
      values: opts.map((_, o) => steered.data[(((c * G + g) * K + m) * Q + q) * O + o]) }));
    series.push(humanSeries(q, g, opts.length));
    return bars("iw-op-steer", `${names[m]} steered towards ${groups[g]}: ${ids[q]}`, opts, series);
  };

  const steerTable = (g: number, m: number): HTMLTableElement => {
    const table = doc.createElement("table");
    table.className = "iw-op-steerability";
    const caption = doc.createElement("caption");
    caption.textContent = `representativeness for ${groups[g]} (* best context = steerability)`;
    const head = doc.createElement("tr");
    for (const text of ["model", "default", ...kinds]) {
      const th = doc.createElement("th");
      th.textContent = text;
      head.appendChild(th);
    }
    table.append(caption, head);
    names.forEach((name, k) => {
      const tr = doc.createElement("tr");
      tr.className = k === m ? "iw-op-steer-row iw-selected" : "iw-op-steer-row";
      const per = kinds.map((_, c) => steeredR.data[(c * K + k) * G + g]);
      const best = bestIndex(per);
      for (const [i, text] of [name, formatNumber(R.data[k * G + g]), ...per.map(formatNumber)].entries()) {
        const td = doc.createElement("td");
        td.textContent = i >= 2 && i - 2 === best ? `${text} *` : text;
        tr.appendChild(td);
      }
      tr.addEventListener("click", () => update("model", k));
      table.appendChild(tr);
    });
    return table;
  };

  const draw = (): void => {
    const q = Number(model.get("question") ?? 0);
    const g = Number(model.get("group") ?? 0);
    const m = Number(model.get("model") ?? 0);
    const steering = G > 0 && C > 0 && steeredR.shape[0] === C;
    const error = doc.createElement("div");
    error.className = "iw-av-error";
    error.textContent = String(model.get("error") ?? "");
    const choose = (key: string, labels: readonly string[], value: number): HTMLSelectElement =>
      select(doc, key, labels.map((id, i): [string, string] => [String(i), id]), String(value), (v) => update(key, Number(v)));
    const controls: HTMLElement[] = [];
    if (Q > 0) controls.push(labelled(doc, "question", choose("question", ids, q)));
    if (G > 0) controls.push(labelled(doc, "people", choose("group", groups, g)));
    if (steering) controls.push(labelled(doc, "steered model", choose("model", names, m)));
    fr.toolbar.replaceChildren(...controls, ...exportButtons(doc, "opinions", () => canvases), error);
    canvases = Q > 0 ? [modelBars(q, g)] : [];
    if (G > 0 && R.shape[1] === G) {
      canvases.push(heatmapPanel(fr, R.data, K, G, {
        title: "representativeness", rowLabels: names, colLabels: groups,
        scale: sequentialScale(0, 1), className: "iw-op-heatmap",
        overlay: (ctx, cw, ch, x0, y0) => {
          ctx.strokeStyle = fr.theme().accent;
          ctx.lineWidth = 2;
          ctx.strokeRect(x0 + g * cw + 1, y0 + 1, cw - 2, K * ch - 2);
          ctx.lineWidth = 1;
        },
        describe: (i, j, v) => [`${names[i]} \u2192 ${groups[j]}`, `representativeness ${formatNumber(v)} (1 \u2212 mean normalised WD)`],
        onClick: (i, j) => {
          model.set("group", j);
          if (steering) model.set("model", i);
          model.save_changes();
        },
      }));
    }
    if (steering && Q > 0) canvases.push(steerBars(q, g, m));
    fr.content.replaceChildren(...canvases, ...(steering ? [steerTable(g, m)] : []));
    const notes = [];
    if (Q > 0) notes.push("bars: answer distributions over the ordinal options (refusals left out).");
    if (G > 0) notes.push("Click a heat-map cell to compare with that group.");
    if (steering) notes.push("steering: the selected model with each context prepended (QA, BIO, PORTRAY) towards the group; "
      + "the table gives each context's representativeness for the group, * marks the best (steerability).");
    fr.note.textContent = notes.join(" ");
  };
  return redrawOn(fr, model, ["question", "group", "model", "error"], draw);
}

export default { render };
