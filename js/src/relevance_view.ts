/**
 * RelevanceView: tokens coloured by signed relevance (diverging scale), one row per method, a
 * step selector for generations, the layers x tokens map, the token-to-token redistribution of
 * the selected token and the faithfulness curves.
 *
 * Traits: tokens, methods, targets, n_prompt, scores [S, M, T], layer_names, layer_method,
 * layer_scores [S, L, T], redistribution [T, T], faith_methods, faith_measure, faith_fractions
 * [F], faith_morf / faith_lerf [M', F]; state: step, normalize ("shared" | "row"), token.
 */

import { divergingScale } from "./lib/colors";
import { formatNumber } from "./lib/format";
import type { RenderProps } from "./lib/model";
import { quotedTokenText, renderTokenStrip, tokenIndexOf } from "./lib/tokens";
import { button, exportButtons, frame, heatmapPanel, labelled, lineChart, redrawOn, select, type Frame } from "./analysis_views/ui";
import { faithSeries, prefixLength, rowLimits, stepMatrix, tokenStyle, topIndices, type Normalize } from "./relevance/logic";

const CSS = `
.iw-relevance .iw-rel-rows { display: grid; grid-template-columns: max-content 1fr; gap: 2px 10px; align-items: baseline; width: 100%; }
.iw-relevance .iw-rel-label { font-size: 11px; opacity: 0.85; white-space: nowrap; }
.iw-relevance .iw-rel-strip { padding: 1px 0; }
.iw-relevance .iw-token.iw-rel-target { outline: 2px dashed var(--iw-foreground); outline-offset: 1px; }
.iw-relevance .iw-token.iw-rel-unread { opacity: 0.35; }
`;

/** One labelled strip of tokens coloured by `values` under `limit`; clicks select a token. */
function strip(fr: Frame, label: string, tokens: readonly string[], values: ArrayLike<number>, limit: number,
  opts: { read: number; target: number; selected: number; onSelect: (i: number) => void; method: string }): HTMLElement[] {
  const { doc } = fr;
  const name = doc.createElement("div");
  name.className = "iw-rel-label";
  name.textContent = label;
  const box = doc.createElement("div");
  box.className = "iw-strip iw-rel-strip";
  box.dataset.method = opts.method;
  const spans = renderTokenStrip(box, tokens);
  spans.forEach((span, i) => {
    const style = i < opts.read ? tokenStyle(values[i], limit) : null;
    span.classList.toggle("iw-nan", i < opts.read && style === null);
    span.classList.toggle("iw-rel-unread", i >= opts.read);
    span.classList.toggle("iw-rel-target", i === opts.target);
    span.classList.toggle("iw-selected", i === opts.selected);
    span.style.backgroundColor = style ? style.background : "transparent";
    span.style.color = style ? style.color : "";
    span.dataset.value = i < opts.read && Number.isFinite(values[i]) ? String(values[i]) : "";
  });
  box.addEventListener("click", (event) => {
    const i = tokenIndexOf(event.target);
    if (i >= 0) opts.onSelect(i);
  });
  box.addEventListener("mousemove", (event) => {
    const i = tokenIndexOf(event.target);
    if (i < 0) return fr.tooltip.hide();
    const v = i < opts.read ? values[i] : NaN;
    fr.tooltip.show([`#${i} ${quotedTokenText(tokens[i])}`, `${opts.method}: ${Number.isFinite(v) ? formatNumber(v) : i === opts.target ? "explained token" : "not read at this step"}`], event.clientX, event.clientY);
  });
  box.addEventListener("mouseleave", () => fr.tooltip.hide());
  return [name, box];
}

function render(props: RenderProps): () => void {
  const { model } = props;
  const fr = frame(props, "relevance", CSS);
  const { doc } = fr;
  const arr = fr.array;
  const list = fr.strings;
  const scores = arr("scores");
  const layerScores = arr("layer_scores");
  const redistribution = arr("redistribution");
  const morf = arr("faith_morf");
  const lerf = arr("faith_lerf");
  const fractions = arr("faith_fractions").data;
  const tokens = list("tokens");
  const methods = list("methods");
  const targets = list("targets");
  const layerNames = list("layer_names");
  const faithMethods = list("faith_methods");
  const nPrompt = Number(model.get("n_prompt") ?? tokens.length);
  const [S, M, T] = scores.shape;
  const L = layerScores.shape[1] ?? 0;
  let canvases: HTMLCanvasElement[] = [];

  const update = (patch: Record<string, unknown>): void => {
    for (const [k, v] of Object.entries(patch)) model.set(k, v);
    model.save_changes();
  };

  const draw = (): void => {
    const step = Math.min(Math.max(0, Number(model.get("step") ?? 0)), Math.max(0, S - 1));
    const mode = (String(model.get("normalize") ?? "shared") === "row" ? "row" : "shared") as Normalize;
    const token = Number(model.get("token") ?? -1);
    const read = prefixLength(nPrompt, step, T, S);
    const target = read < T ? read : -1;
    const onSelect = (i: number): void => update({ token: i === token ? -1 : i });
    const controls: HTMLElement[] = [
      labelled(doc, "colours", select(doc, "normalize", [["shared", "shared scale"], ["row", "per row"]], mode, (v) => update({ normalize: v }))),
    ];
    if (S > 1) {
      const options = Array.from({ length: S }, (_, t): [string, string] => [String(t), `${t}: ${tokens[nPrompt + t] ?? ""}`]);
      controls.push(
        button(doc, "\u25c0", () => update({ step: Math.max(0, step - 1) })),
        labelled(doc, "step", select(doc, "step", options, String(step), (v) => update({ step: Number(v) }))),
        button(doc, "\u25b6", () => update({ step: Math.min(S - 1, step + 1) })),
      );
    }
    fr.toolbar.replaceChildren(...controls, ...exportButtons(doc, "relevance", () => canvases));

    const matrix = stepMatrix(scores, step);
    const limits = rowLimits(matrix, M, T, mode); // NaN beyond a step's prefix is skipped
    const rows = doc.createElement("div");
    rows.className = "iw-rel-rows";
    for (let m = 0; m < M; m++) {
      rows.append(...strip(fr, methods[m] ?? `method ${m}`, tokens, matrix.subarray(m * T, (m + 1) * T), limits[m],
        { read, target, selected: token, onSelect, method: methods[m] ?? String(m) }));
    }
    const panels: HTMLElement[] = [rows];
    canvases = [];
    if (L > 0 && layerScores.shape[0] === S) {
      const lm = layerScores.data.subarray(step * L * T, (step + 1) * L * T);
      const shown = new Float32Array(L * T);
      const lim = rowLimits(lm, L, T, mode);
      for (let l = 0; l < L; l++) for (let j = 0; j < T; j++) shown[l * T + j] = j < read ? lm[l * T + j] / lim[l] : NaN;
      const title = `${String(model.get("layer_method") ?? "")}: relevance per layer${mode === "row" ? " (/ row max)" : " (/ max)"}`;
      canvases.push(heatmapPanel(fr, shown, L, T, {
        title, rowLabels: layerNames, colLabels: tokens, scale: divergingScale(1), className: "iw-rel-layers",
        describe: (i, j) => [`${layerNames[i] ?? i}`, `#${j} ${quotedTokenText(tokens[j] ?? "")}`, j < read ? formatNumber(lm[i * T + j]) : "not read"],
        onClick: (_, j) => onSelect(j),
      }));
    }
    if (redistribution.shape[0] === T && T > 0) {
      if (token >= 0 && token < T) {
        const row = redistribution.data.subarray(token * T, (token + 1) * T);
        const [lim] = rowLimits(row, 1, T, "row");
        const block = doc.createElement("div");
        block.className = "iw-rel-rows iw-rel-redistribution-row";
        block.append(...strip(fr, `#${token} draws from`, tokens, row, lim, { read: T, target: -1, selected: token, onSelect, method: "redistribution" }));
        panels.push(block);
      }
      const [lim] = rowLimits(redistribution.data, 1, T * T, "shared");
      canvases.push(heatmapPanel(fr, redistribution.data, T, T, {
        title: "token-to-token redistribution (output \u2192 input)", rowLabels: tokens, colLabels: tokens,
        scale: divergingScale(lim), className: "iw-rel-redistribution",
        describe: (i, j, v) => [`output #${i} ${quotedTokenText(tokens[i] ?? "")}`, `input #${j} ${quotedTokenText(tokens[j] ?? "")}`, formatNumber(v)],
        onClick: (i) => onSelect(i),
        overlay: (g, cw, ch, x0, y0) => {
          if (token < 0) return;
          g.strokeStyle = fr.theme().accent;
          g.lineWidth = 2;
          g.strokeRect(x0, y0 + token * ch, T * cw, ch);
          g.lineWidth = 1;
        },
      }));
    }
    if (morf.shape[0] && fractions.length) {
      const { series, labels } = faithSeries(morf, lerf, faithMethods);
      canvases.push(lineChart(fr, fractions, series, { title: "faithfulness (tokens removed in attribution order)", xLabel: "fraction removed", yLabel: String(model.get("faith_measure") ?? ""), labels, className: "iw-rel-faith" }));
    }
    fr.content.replaceChildren(...panels, ...canvases);
    const lines = [targets[step] ? `explains ${targets[step]}${S > 1 ? ` (step ${step} of ${S})` : ""}` : ""];
    methods.forEach((name, m) => {
      const top = topIndices(matrix.subarray(m * T, (m + 1) * T), 3).map((i) => `#${i} ${quotedTokenText(tokens[i])}`);
      if (top.length) lines.push(`${name}, most relevant: ${top.join(", ")}`);
    });
    if (token >= 0 && token < T) {
      const values = methods.map((name, m) => `${name} ${token < read ? formatNumber(matrix[m * T + token]) : "\u2014"}`);
      lines.push(`#${token} ${quotedTokenText(tokens[token])}: ${values.join(", ")}`);
    }
    fr.note.textContent = lines.filter(Boolean).join("\n");
    fr.root.dataset.step = String(step);
    fr.root.dataset.token = String(token);
  };

  return redrawOn(fr, model, ["step", "normalize", "token"], draw);
}

export default { render };
