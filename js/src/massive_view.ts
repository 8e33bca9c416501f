/**
 * MassiveView: head × dimension heatmaps of ‖Q[:, h, d]‖, ‖K[:, h, d]‖ and ‖V[:, h, d]‖ for one
 * layer, massive dimensions (M > λ·mean) marked, and a RoPE frequency axis (log10 θ per dim).
 *
 * Traits: layers, lam, rotary, n_tokens, note, band [D], frequency [D] (empty without RoPE),
 * M_q [L, H, D], M_k / M_v [L, H_kv, D], mask_q / mask_k / mask_v; state: layer, log_scale.
 */

import type { NdArray } from "./lib/arrays";
import { setupCanvas } from "./lib/canvas";
import { sequentialScale } from "./lib/colors";
import { formatNumber } from "./lib/format";
import type { RenderProps } from "./lib/model";
import { massiveColumns, slab } from "./analysis_views/logic";
import { checkbox, exportButtons, frame, redrawOn, heatmapPanel, labelled, select, type Frame } from "./analysis_views/ui";

const PARTS = ["q", "k", "v"] as const;
const MARK = "#d62728";

function frequencyAxis(fr: Frame, frequency: Float32Array, band: string[], cell: number, left: number): HTMLCanvasElement {
  const theme = fr.theme();
  const D = frequency.length;
  const canvas = fr.doc.createElement("canvas");
  canvas.className = "iw-massive-freq";
  const width = left + D * cell + 8;
  const height = 40;
  const g = setupCanvas(canvas, width, height);
  g.fillStyle = theme.background;
  g.fillRect(0, 0, width, height);
  const logs = Array.from(frequency, (f) => (f > 0 ? Math.log10(f) : NaN));
  const finite = logs.filter(Number.isFinite);
  const scale = sequentialScale(Math.min(...finite, 0), Math.max(...finite, 0));
  logs.forEach((v, d) => {
    g.fillStyle = Number.isFinite(v) ? (scale.color(v) ?? "#ccc") : "#ccc";
    g.fillRect(left + d * cell, 4, cell, 12);
    if (band[d] === "low" && (d === 0 || band[d - 1] !== "low")) {
      g.fillStyle = theme.foreground;
      g.fillRect(left + d * cell, 18, 1, 6);
    }
  });
  g.fillStyle = theme.foreground;
  g.font = `10px ${theme.fontFamily}`;
  g.textBaseline = "middle";
  g.textAlign = "left";
  g.fillText(`RoPE frequencies per dim: log10 \u03b8 from ${formatNumber(Math.max(...finite))} (high freq.) to ${formatNumber(Math.min(...finite))} (low); | = start of a low-frequency half`, left, 32);
  canvas.addEventListener("mousemove", (event) => {
    const box = canvas.getBoundingClientRect();
    const d = Math.floor((event.clientX - box.left - left) / cell);
    if (d < 0 || d >= D) return fr.tooltip.hide();
    fr.tooltip.show([`dim ${d}`, `\u03b8 = ${formatNumber(frequency[d])}`, `band: ${band[d] ?? "?"}`], event.clientX, event.clientY);
  });
  canvas.addEventListener("mouseleave", () => fr.tooltip.hide());
  return canvas;
}

function render(props: RenderProps): () => void {
  const { model } = props;
  const fr = frame(props, "massive");
  const { doc } = fr;
  const arr = fr.array;
  const norms = Object.fromEntries(PARTS.map((p) => [p, arr(`M_${p}`)])) as Record<string, NdArray>;
  const masks = Object.fromEntries(PARTS.map((p) => [p, arr(`mask_${p}`)])) as Record<string, NdArray>;
  const frequency = arr("frequency").data;
  const band = ((model.get("band") as string[] | undefined) ?? []).map(String);
  const layers = ((model.get("layers") as number[] | undefined) ?? []).map(Number);
  const lam = Number(model.get("lam") ?? 5);
  let canvases: HTMLCanvasElement[] = [];

  const update = (patch: Record<string, unknown>): void => {
    for (const [k, v] of Object.entries(patch)) model.set(k, v);
    model.save_changes();
  };

  const draw = (): void => {
    const li = Number(model.get("layer") ?? 0);
    const logScale = Boolean(model.get("log_scale"));
    fr.toolbar.replaceChildren(
      labelled(doc, "layer", select(doc, "layer", layers.map((l, i): [string, string] => [String(i), `L${l}`]), String(li), (v) => update({ layer: Number(v) }))),
      labelled(doc, "log colour", checkbox(doc, "log_scale", logScale, (v) => update({ log_scale: v }))),
      ...exportButtons(doc, "massive-values", () => canvases),
    );
    canvases = [];
    const summary: string[] = [];
    let cell = 6;
    const left = 8;
    for (const part of PARTS) {
      const m = slab(norms[part], li);
      const mask = slab(masks[part], li);
      const [H, D] = m.shape;
      cell = Math.max(3, Math.min(14, Math.floor(560 / Math.max(D, 1))));
      const means = Array.from({ length: H }, (_, h) => m.data.subarray(h * D, (h + 1) * D).reduce((s, v) => s + v, 0) / Math.max(D, 1));
      const shown = logScale ? m.data.map((v) => Math.log10(Math.max(v, 1e-12))) : m.data;
      const cols = massiveColumns(mask);
      let count = 0;
      for (const v of mask.data) if (v > 0.5) count++;
      summary.push(`${part.toUpperCase()}: ${count} massive (head, dim) pairs in dims [${cols.join(", ")}]`);
      const canvas = heatmapPanel(fr, shown, H, D, {
        title: `${part.toUpperCase()} \u2016column\u2016\u2082, layer ${layers[li]} (${H} heads \u00d7 ${D} dims)${logScale ? ", log10" : ""}`,
        cell, className: `iw-massive-${part}`,
        describe: (h, d) => {
          const v = m.data[h * D + d];
          const lines = [`${part.toUpperCase()} head ${h}, dim ${d}`, `M = ${formatNumber(v)}`, `M / mean = ${formatNumber(v / (means[h] || 1))} (\u03bb = ${formatNumber(lam)})`];
          if (frequency.length) lines.push(`RoPE \u03b8 = ${formatNumber(frequency[d])} (${band[d] ?? "?"} frequency)`);
          if (mask.data[h * D + d] > 0.5) lines.push("massive");
          return lines;
        },
        overlay: (g, cw, ch, x0, y0) => {
          g.strokeStyle = MARK;
          g.lineWidth = 1.5;
          for (let h = 0; h < H; h++) {
            for (let d = 0; d < D; d++) {
              if (mask.data[h * D + d] > 0.5) g.strokeRect(x0 + d * cw + 0.75, y0 + h * ch + 0.75, cw - 1.5, ch - 1.5);
            }
          }
          g.fillStyle = MARK;
          for (const d of cols) {
            g.beginPath();
            g.moveTo(x0 + (d + 0.5) * cw, y0 + H * ch + 1);
            g.lineTo(x0 + d * cw, y0 + H * ch + 7);
            g.lineTo(x0 + (d + 1) * cw, y0 + H * ch + 7);
            g.fill();
          }
          g.lineWidth = 1;
        },
      });
      canvas.dataset.massive = String(count);
      canvases.push(canvas);
    }
    if (frequency.length) canvases.push(frequencyAxis(fr, frequency, band, cell, left));
    const column = doc.createElement("div");
    column.append(...canvases);
    fr.content.replaceChildren(column);
    const note = String(model.get("note") ?? "");
    fr.note.textContent = `massive: M > ${formatNumber(lam)} \u00d7 mean over dims of the head (red boxes; \u25b2 marks such dims) over ${String(model.get("n_tokens"))} tokens\n${summary.join("\n")}` + (note ? `\n${note}` : "");
  };

  return redrawOn(fr, model, ["layer", "log_scale"], draw);
}

export default { render };
