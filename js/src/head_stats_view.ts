/**
 * HeadStatsView: heads as points on two statistics (or the MDS of their attention), coloured by
 * layer. Hover shows the head's values; a click sets `selected_head` = [layer, head] (again: []).
 *
 * Traits: stat_names, values [S, L*H], mds [L*H, 2] (empty without clustering), n_layers, n_heads,
 * uniform_entropy, first_label; state: mode ("stats" | "mds"), x_stat, y_stat, selected_head.
 */

import { decodeArray, type ArrayPayload, type NdArray } from "./lib/arrays";
import { setupCanvas } from "./lib/canvas";
import { rgbToCss } from "./lib/colors";
import { formatNumber } from "./lib/format";
import type { RenderProps } from "./lib/model";
import { layerColor, linearMap, nearestPoint, scatterPoints, type Point } from "./analysis_views/logic";
import { exportButtons, frame, redrawOn, labelled, select } from "./analysis_views/ui";

const W = 460;
const H = 330;
const PAD = { left: 52, right: 84, top: 14, bottom: 40 };
const RADIUS = 5;

const LABELS: Record<string, string> = {
  to_self: "attention to self", to_prev: "attention to previous", to_next: "attention to next",
  to_first: "attention to first token", to_sep: "attention to [SEP]/EOS", to_special: "attention to specials",
  to_punct: "attention to punctuation", entropy: "entropy (nats)", entropy_first: "entropy of first row (nats)",
};

function render(props: RenderProps): () => void {
  const { model } = props;
  const fr = frame(props, "head-stats");
  const { doc } = fr;
  const values = decodeArray(model.get("values") as ArrayPayload);
  const mds = decodeArray(model.get("mds") as ArrayPayload);
  const names = ((model.get("stat_names") as string[] | undefined) ?? []).map(String);
  const nLayers = Number(model.get("n_layers") ?? 0);
  const nHeads = Number(model.get("n_heads") ?? 0);
  const nPoints = nLayers * nHeads;
  let canvas: HTMLCanvasElement | null = null;
  let points: Point[] = [];

  const update = (patch: Record<string, unknown>): void => {
    for (const [k, v] of Object.entries(patch)) model.set(k, v);
    model.save_changes();
  };
  const row = (arr: NdArray, s: number): Float32Array => arr.data.subarray(s * nPoints, (s + 1) * nPoints);
  const label = (name: string): string => (name === "to_first" ? `attention to ${String(model.get("first_label") ?? "first token")}` : LABELS[name] ?? name);

  const axes = (): { xs: ArrayLike<number>; ys: ArrayLike<number>; xLabel: string; yLabel: string } => {
    if (model.get("mode") === "mds" && mds.shape[0] === nPoints) {
      const xs = Float32Array.from({ length: nPoints }, (_, i) => mds.data[2 * i]);
      const ys = Float32Array.from({ length: nPoints }, (_, i) => mds.data[2 * i + 1]);
      return { xs, ys, xLabel: "MDS 1 (JS distance)", yLabel: "MDS 2" };
    }
    const x = String(model.get("x_stat"));
    const y = String(model.get("y_stat"));
    return { xs: row(values, Math.max(0, names.indexOf(x))), ys: row(values, Math.max(0, names.indexOf(y))), xLabel: label(x), yLabel: label(y) };
  };

  const toolbar = (): void => {
    const mode = String(model.get("mode") ?? "stats");
    const statOptions = names.map((n): [string, string] => [n, n]);
    const modes: [string, string][] = [["stats", "two statistics"]];
    if (mds.shape[0] === nPoints && nPoints > 0) modes.push(["mds", "MDS of attention (JS)"]);
    const xSel = select(doc, "x_stat", statOptions, String(model.get("x_stat")), (v) => update({ x_stat: v }));
    const ySel = select(doc, "y_stat", statOptions, String(model.get("y_stat")), (v) => update({ y_stat: v }));
    xSel.disabled = ySel.disabled = mode === "mds";
    fr.toolbar.replaceChildren(
      labelled(doc, "points", select(doc, "mode", modes, mode, (v) => update({ mode: v }))),
      labelled(doc, "x", xSel), labelled(doc, "y", ySel),
      ...exportButtons(doc, "head-stats", () => (canvas ? [canvas] : [])),
    );
  };

  const draw = (): void => {
    toolbar();
    const theme = fr.theme();
    const c = doc.createElement("canvas");
    c.className = "iw-hs-canvas";
    const g = setupCanvas(c, W, H);
    g.fillStyle = theme.background;
    g.fillRect(0, 0, W, H);
    const plot: [number, number, number, number] = [PAD.left, PAD.top, W - PAD.left - PAD.right, H - PAD.top - PAD.bottom];
    const { xs, ys, xLabel, yLabel } = axes();
    points = scatterPoints(xs, ys, nHeads, [plot[0] + 6, plot[1] + 6, plot[2] - 12, plot[3] - 12]);
    g.strokeStyle = theme.border;
    g.strokeRect(...plot);
    g.fillStyle = theme.foreground;
    g.font = `11px ${theme.fontFamily}`;
    g.textAlign = "center";
    g.fillText(xLabel, plot[0] + plot[2] / 2, H - 8);
    g.save();
    g.translate(12, plot[1] + plot[3] / 2);
    g.rotate(-Math.PI / 2);
    g.fillText(yLabel, 0, 0);
    g.restore();
    if (model.get("mode") !== "mds") {
      const finite = (a: ArrayLike<number>) => Array.from(a).filter(Number.isFinite);
      const fx = finite(xs);
      const fy = finite(ys);
      g.font = `10px ${theme.fontFamily}`;
      if (fx.length) {
        g.textAlign = "left";
        g.fillText(formatNumber(Math.min(...fx)), plot[0], plot[1] + plot[3] + 12);
        g.textAlign = "right";
        g.fillText(formatNumber(Math.max(...fx)), plot[0] + plot[2], plot[1] + plot[3] + 12);
      }
      if (fy.length) {
        g.textAlign = "right";
        g.fillText(formatNumber(Math.min(...fy)), plot[0] - 3, plot[1] + plot[3] - 4);
        g.fillText(formatNumber(Math.max(...fy)), plot[0] - 3, plot[1] + 10);
        if (String(model.get("y_stat")) === "entropy") {
          const u = Number(model.get("uniform_entropy") ?? NaN);
          const my = linearMap(ys, plot[1] + plot[3] - 6, plot[1] + 6);
          const y = my(u);
          if (Number.isFinite(y) && y >= plot[1] && y <= plot[1] + plot[3]) {
            g.setLineDash([4, 3]);
            g.beginPath();
            g.moveTo(plot[0], y);
            g.lineTo(plot[0] + plot[2], y);
            g.stroke();
            g.setLineDash([]);
            g.textAlign = "left";
            g.fillText("uniform", plot[0] + 3, y - 4);
          }
        }
      }
    }
    const sel = ((model.get("selected_head") as number[] | undefined) ?? []).map(Number);
    for (const p of points) {
      g.beginPath();
      g.arc(p.px, p.py, RADIUS, 0, 2 * Math.PI);
      g.fillStyle = rgbToCss(layerColor(p.layer, nLayers));
      g.fill();
      if (sel.length === 2 && sel[0] === p.layer && sel[1] === p.head) {
        g.lineWidth = 2.5;
        g.strokeStyle = theme.accent;
        g.beginPath();
        g.arc(p.px, p.py, RADIUS + 3, 0, 2 * Math.PI);
        g.stroke();
        g.lineWidth = 1;
      }
    }
    const legendX = W - PAD.right + 14;
    g.font = `10px ${theme.fontFamily}`;
    g.textAlign = "left";
    g.fillStyle = theme.foreground;
    g.fillText("layer", legendX, PAD.top + 4);
    const step = Math.max(1, Math.ceil(nLayers / 16));
    for (let l = 0, k = 0; l < nLayers; l += step, k++) {
      const y = PAD.top + 18 + 14 * k;
      g.fillStyle = rgbToCss(layerColor(l, nLayers));
      g.fillRect(legendX, y - 5, 10, 10);
      g.fillStyle = theme.foreground;
      g.fillText(String(l), legendX + 14, y + 3);
    }
    c.dataset.points = String(points.length);
    c.dataset.positions = JSON.stringify(points.map((p) => [p.layer, p.head, Math.round(p.px), Math.round(p.py)]));
    c.dataset.selected = sel.join(",");
    const at = (event: MouseEvent): Point | null => {
      const box = c.getBoundingClientRect();
      return nearestPoint(points, event.clientX - box.left, event.clientY - box.top, RADIUS + 3);
    };
    c.addEventListener("mousemove", (event) => {
      const p = at(event);
      if (!p) return fr.tooltip.hide();
      const lines = [`layer ${p.layer}, head ${p.head}`, `x: ${formatNumber(p.x)}`, `y: ${formatNumber(p.y)}`];
      names.forEach((n, s) => lines.push(`${n}: ${formatNumber(values.data[s * nPoints + p.index])}`));
      fr.tooltip.show(lines, event.clientX, event.clientY);
    });
    c.addEventListener("mouseleave", () => fr.tooltip.hide());
    c.addEventListener("click", (event) => {
      const p = at(event);
      if (!p) return;
      const same = sel.length === 2 && sel[0] === p.layer && sel[1] === p.head;
      update({ selected_head: same ? [] : [p.layer, p.head] });
    });
    canvas = c;
    fr.content.replaceChildren(c);
    fr.note.textContent = sel.length === 2 ? `selected: layer ${sel[0]}, head ${sel[1]}` : `${points.length} heads; click one to select it`;
  };

  return redrawOn(fr, model, ["mode", "x_stat", "y_stat", "selected_head"], draw);
}

export default { render };
