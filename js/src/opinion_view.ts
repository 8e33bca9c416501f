/**
 * OpinionView: per question, grouped bars of each model's distribution over the ordinal options
 * next to the selected human group's; with human data, the model × group representativeness
 * heat map (a click on a cell selects its group).
 *
 * Traits: names, groups, question_ids, options, dist [K, Q, O], refusal [K, Q], human [G, Q, O],
 * R [K, G]; state: question, group; error.
 */

import { decodeArray, type ArrayPayload } from "./lib/arrays";
import { setupCanvas, fitText } from "./lib/canvas";
import { sequentialScale } from "./lib/colors";
import { formatNumber } from "./lib/format";
import type { RenderProps } from "./lib/model";
import { exportButtons, frame, heatmapPanel, labelled, redrawOn, select } from "./analysis_views/ui";
import { categoryColors } from "./outputs/logic";

const W = 460;
const H = 260;
const PAD = { left: 40, right: 10, top: 20, bottom: 60 };
const HUMAN_COLOR = "#222222";

function render(props: RenderProps): () => void {
  const { model } = props;
  const fr = frame(props, "opinions");
  const { doc } = fr;
  const strings = (k: string) => ((model.get(k) as string[] | undefined) ?? []).map(String);
  const names = strings("names");
  const groups = strings("groups");
  const ids = strings("question_ids");
  const options = ((model.get("options") as string[][] | undefined) ?? []).map((o) => o.map(String));
  const dist = decodeArray(model.get("dist") as ArrayPayload);
  const refusal = decodeArray(model.get("refusal") as ArrayPayload);
  const human = decodeArray(model.get("human") as ArrayPayload);
  const R = decodeArray(model.get("R") as ArrayPayload);
  const [K, Q, O] = dist.shape;
  const G = groups.length;
  const colors = categoryColors(names);
  let canvases: HTMLCanvasElement[] = [];
  const update = (key: string, value: number): void => {
    model.set(key, value);
    model.save_changes();
  };

  const bars = (q: number, g: number): HTMLCanvasElement => {
    const theme = fr.theme();
    const c = doc.createElement("canvas");
    c.className = "iw-op-bars";
    const ctx = setupCanvas(c, W, H);
    ctx.fillStyle = theme.background;
    ctx.fillRect(0, 0, W, H);
    const opts = options[q] ?? [];
    const series: { label: string; color: string; values: number[] }[] = names.map((n, m) => ({
      label: `${n} (refusal ${formatNumber(refusal.data[m * Q + q])})`, color: colors.get(n) ?? "#777",
      values: opts.map((_, o) => dist.data[(m * Q + q) * O + o]) }));
    if (G > 0) series.push({ label: `people: ${groups[g]}`, color: HUMAN_COLOR,
      values: opts.map((_, o) => human.data[(g * Q + q) * O + o]) });
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
    ctx.fillText(fitText(ctx, `${ids[q]}: answer distribution`, W - 4), 2, 12);
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
    c.addEventListener("mousemove", (event) => {
      const box = c.getBoundingClientRect();
      const o = Math.floor((event.clientX - box.left - PAD.left) / slot);
      if (o < 0 || o >= opts.length) return fr.tooltip.hide();
      fr.tooltip.show([opts[o], ...series.map((s) => `${s.label}: ${formatNumber(s.values[o])}`)], event.clientX, event.clientY);
    });
    c.addEventListener("mouseleave", () => fr.tooltip.hide());
    return c;
  };

  const draw = (): void => {
    const q = Number(model.get("question") ?? 0);
    const g = Number(model.get("group") ?? 0);
    const error = doc.createElement("div");
    error.className = "iw-av-error";
    error.textContent = String(model.get("error") ?? "");
    const controls: HTMLElement[] = [labelled(doc, "question",
      select(doc, "question", ids.map((id, i): [string, string] => [String(i), id]), String(q), (v) => update("question", Number(v))))];
    if (G > 0) controls.push(labelled(doc, "people",
      select(doc, "group", groups.map((id, i): [string, string] => [String(i), id]), String(g), (v) => update("group", Number(v)))));
    fr.toolbar.replaceChildren(...controls, ...exportButtons(doc, "opinions", () => canvases), error);
    canvases = [bars(q, g)];
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
        onClick: (_, j) => update("group", j),
      }));
    }
    fr.content.replaceChildren(...canvases);
    fr.note.textContent = G > 0
      ? "bars: answer distributions over the ordinal options (refusals left out). Click a heat-map cell to compare with that group."
      : "bars: answer distributions over the ordinal options (refusals left out).";
  };
  return redrawOn(fr, model, ["question", "group", "error"], draw);
}

export default { render };
