/**
 * FlowView: a tokens × layers graph of attention edges plus side-by-side heatmaps.
 *
 * mode "rollout": edges of the head-mean attention `raw` [L, T, T] with weight ≥ `threshold`
 * (only those on paths from `token` when ≥ 0); heatmaps of raw attention and rollout `joint` at
 * `layer`, and attention flow `flow` [n_out, T] when given. mode "compare": traced edges of two
 * models from `classes` [L, T, T] coloured shared / only a / only b, node size = influence;
 * heatmaps of `influence_a` / `influence_b` [L + 1, T].
 */

import type { NdArray } from "./lib/arrays";
import { fitText, setupCanvas } from "./lib/canvas";
import { formatNumber } from "./lib/format";
import type { RenderProps } from "./lib/model";
import { quotedTokenText, visibleTokenText } from "./lib/tokens";
import { classCounts, classEdges, graphEdges, slab, type Edge } from "./analysis_views/logic";
import { exportButtons, frame, redrawOn, heatmapPanel, labelled, select, slider, type Frame } from "./analysis_views/ui";

const CLASS_COLORS = ["", "#8c8c8c", "#1f77b4", "#ff7f0e"];
const LABEL_H = 64;

function drawGraph(fr: Frame, tokens: string[], nLayers: number, edges: Edge[], opts: {
  compare: boolean; token: number; nodeSize?: (layer: number, t: number) => number; onToken: (t: number) => void;
}): HTMLCanvasElement {
  const theme = fr.theme();
  const T = tokens.length;
  const dx = Math.max(14, Math.min(48, Math.floor(640 / Math.max(T, 1))));
  const dy = Math.max(28, Math.min(60, Math.floor(300 / Math.max(nLayers, 1))));
  const left = 44;
  const top = 12;
  const width = left + T * dx + 10;
  const height = top + nLayers * dy + LABEL_H;
  const canvas = fr.doc.createElement("canvas");
  canvas.className = "iw-flow-graph";
  const g = setupCanvas(canvas, width, height);
  g.fillStyle = theme.background;
  g.fillRect(0, 0, width, height);
  const x = (t: number) => left + (t + 0.5) * dx;
  const y = (layer: number) => top + (nLayers - layer) * dy;
  for (const e of edges) {
    if (opts.compare) {
      g.strokeStyle = CLASS_COLORS[e.weight];
      g.globalAlpha = 0.85;
      g.lineWidth = 1.4;
    } else {
      g.strokeStyle = theme.dark ? "#8fbbe0" : "#1f5ea3";
      g.globalAlpha = Math.min(1, 0.15 + 0.85 * e.weight);
      g.lineWidth = 0.5 + 2.5 * e.weight;
    }
    g.beginPath();
    g.moveTo(x(e.from), y(e.layer + 1));
    g.lineTo(x(e.to), y(e.layer));
    g.stroke();
  }
  g.globalAlpha = 1;
  g.lineWidth = 1;
  g.font = `10px ${theme.fontFamily}`;
  g.textAlign = "right";
  g.textBaseline = "middle";
  for (let l = 0; l <= nLayers; l++) {
    g.fillStyle = theme.foreground;
    g.fillText(l === 0 ? "input" : `L${l - 1}`, left - 6, y(l));
    for (let t = 0; t < T; t++) {
      const r = opts.nodeSize ? opts.nodeSize(l, t) : 2.5;
      g.beginPath();
      g.arc(x(t), y(l), r, 0, 2 * Math.PI);
      g.fillStyle = l === nLayers && t === opts.token ? theme.accent : theme.foreground;
      g.fill();
    }
  }
  g.save();
  g.font = `${Math.min(11, dx - 3)}px ${theme.monoFontFamily}`;
  g.translate(0, y(0) + 10);
  g.rotate(Math.PI / 2);
  g.textAlign = "left";
  tokens.forEach((tok, t) => {
    g.fillStyle = t === opts.token ? theme.accent : theme.foreground;
    g.fillText(fitText(g, visibleTokenText(tok), LABEL_H - 12), 0, -x(t));
  });
  g.restore();
  canvas.dataset.edges = String(edges.length);
  const tokenAt = (event: MouseEvent): number => {
    const box = canvas.getBoundingClientRect();
    const t = Math.floor((event.clientX - box.left - left) / dx);
    return t >= 0 && t < T ? t : -1;
  };
  canvas.addEventListener("mousemove", (event) => {
    const t = tokenAt(event);
    if (t < 0) return fr.tooltip.hide();
    const n = edges.filter((e) => e.from === t || e.to === t).length;
    fr.tooltip.show([`#${t} ${quotedTokenText(tokens[t])}`, `${n} drawn edges touch it`, "click: trace from this token"], event.clientX, event.clientY);
  });
  canvas.addEventListener("mouseleave", () => fr.tooltip.hide());
  canvas.addEventListener("click", (event) => {
    const t = tokenAt(event);
    if (t >= 0) opts.onToken(t);
  });
  return canvas;
}

function render(props: RenderProps): () => void {
  const { model } = props;
  const fr = frame(props, "flow");
  const { doc } = fr;
  const arr = fr.array;
  const raw = arr("raw");
  const joint = arr("joint");
  const flow = arr("flow");
  const flowRollout = arr("flow_rollout");
  const classes = arr("classes");
  const inflA = arr("influence_a");
  const inflB = arr("influence_b");
  const compare = model.get("mode") === "compare";
  const tokens = ((model.get("tokens") as string[] | undefined) ?? []).map(String);
  const nLayers = Number(model.get("n_layers") ?? 0);
  const T = tokens.length;
  let canvases: HTMLCanvasElement[] = [];

  const update = (patch: Record<string, unknown>): void => {
    for (const [k, v] of Object.entries(patch)) model.set(k, v);
    model.save_changes();
  };
  const tokenName = (t: number) => `#${t} ${quotedTokenText(tokens[t] ?? "")}`;

  const draw = (): void => {
    const layer = Number(model.get("layer") ?? 0);
    const token = Number(model.get("token") ?? -1);
    const threshold = Number(model.get("threshold") ?? 0.1);
    const layers = Array.from({ length: nLayers }, (_, l): [string, string] => [String(l), `L${l}`]);
    const tokenOptions: [string, string][] = [["-1", "all"], ...tokens.map((t, i): [string, string] => [String(i), `${i} ${visibleTokenText(t)}`])];
    const controls: HTMLElement[] = [];
    if (!compare) {
      controls.push(labelled(doc, "from token", select(doc, "token", tokenOptions, String(token), (v) => update({ token: Number(v) }))));
      controls.push(labelled(doc, `edges \u2265 ${formatNumber(threshold)}`, slider(doc, "threshold", threshold, 0, 1, 0.01, (v) => update({ threshold: v }))));
      if (raw.shape[0]) controls.push(labelled(doc, "heatmap layer", select(doc, "layer", layers, String(layer), (v) => update({ layer: Number(v) }))));
    }
    controls.push(...exportButtons(doc, "flow", () => canvases));
    fr.toolbar.replaceChildren(...controls);
    canvases = [];
    const panels: HTMLElement[] = [];
    let note = "";
    if (compare) {
      const names = ((model.get("names") as string[] | undefined) ?? ["a", "b"]).map(String);
      const edges = classEdges(classes);
      const counts = classCounts(edges, nLayers);
      const start = Number(model.get("start") ?? 0);
      let maxInfl = 0;
      for (const v of [...inflA.data, ...inflB.data]) maxInfl = Math.max(maxInfl, v);
      const size = (l: number, t: number) => 2 + 6 * Math.sqrt(Math.max(inflA.data[l * T + t] ?? 0, inflB.data[l * T + t] ?? 0) / (maxInfl || 1));
      canvases.push(drawGraph(fr, tokens, nLayers, edges, { compare: true, token: start, nodeSize: size, onToken: () => undefined }));
      const layerLabels = Array.from({ length: nLayers + 1 }, (_, l) => (l === nLayers ? "output" : `in L${l}`));
      [[inflA, names[0]], [inflB, names[1]]].forEach(([m, name]) => {
        const a = m as NdArray;
        canvases.push(heatmapPanel(fr, a.data, a.shape[0], a.shape[1], {
          title: `influence, ${name}`, rowLabels: layerLabels, colLabels: tokens, className: "iw-flow-influence",
          describe: (i, j, v) => [`${name}`, layerLabels[i], tokenName(j), `influence ${formatNumber(v)}`],
        }));
      });
      const legend = doc.createElement("div");
      legend.className = "iw-flow-legend";
      [["shared", 1], [`only ${names[0]}`, 2], [`only ${names[1]}`, 3]].forEach(([text, c]) => {
        const item = doc.createElement("span");
        item.style.cssText = `color:${CLASS_COLORS[c as number]};margin-right:12px;font-weight:600`;
        item.textContent = `\u2014 ${text}`;
        legend.appendChild(item);
      });
      panels.push(legend);
      const total = counts.reduce((acc, c) => acc.map((x, k) => x + c[k]), [0, 0, 0]);
      note = `traced from ${tokenName(start)} with \u03c4 = ${formatNumber(Number(model.get("tau") ?? 0))} (fixed when computed); ` +
        `edges shared ${total[0]}, only ${names[0]} ${total[1]}, only ${names[1]} ${total[2]}`;
    } else {
      if (raw.shape[0]) {
        const edges = graphEdges(raw, threshold, token);
        canvases.push(drawGraph(fr, tokens, nLayers, edges, { compare: false, token, onToken: (t) => update({ token: t === token ? -1 : t }) }));
        const describe = (what: string) => (i: number, j: number, v: number) => [what, `from ${tokenName(i)}`, `to ${tokenName(j)}`, formatNumber(v)];
        canvases.push(heatmapPanel(fr, slab(raw, layer).data, T, T, { title: `raw attention, layer ${layer}`, rowLabels: tokens, colLabels: tokens, describe: describe(`raw attention L${layer}`), className: "iw-flow-raw" }));
        canvases.push(heatmapPanel(fr, slab(joint, layer).data, T, T, { title: `rollout up to layer ${layer}`, rowLabels: tokens, colLabels: tokens, describe: describe(`rollout L${layer}`), className: "iw-flow-rollout" }));
        note = `${edges.length} edges with weight \u2265 ${formatNumber(threshold)}` + (token >= 0 ? ` on paths from ${tokenName(token)}` : "") + "; click a token to trace from it";
      } else {
        note = "flow only: pass the Rollout of the same text for the layer graph, rollout(m, text).show(flow=...)";
      }
      if (flow.shape[0]) {
        const outputs = ((model.get("flow_outputs") as number[] | undefined) ?? []).map(Number);
        const flowLayer = Number(model.get("flow_layer") ?? -1);
        const rowLabels = outputs.map((o) => tokens[o] ?? "");
        const panel = (m: NdArray, title: string, cls: string) => heatmapPanel(fr, m.data, m.shape[0], m.shape[1], {
          title, rowLabels, colLabels: tokens, className: cls,
          describe: (i, j, v) => [title, `output ${tokenName(outputs[i])}`, `input ${tokenName(j)}`, formatNumber(v)],
        });
        if (!raw.shape[0]) canvases.push(panel(flowRollout, `rollout at layer ${flowLayer}`, "iw-flow-rollout"));
        canvases.push(panel(flow, `attention flow at layer ${flowLayer}`, "iw-flow-flow"));
      }
    }
    fr.content.replaceChildren(...canvases, ...panels);
    fr.note.textContent = note;
  };

  return redrawOn(fr, model, ["layer", "token", "threshold"], draw);
}

export default { render };
