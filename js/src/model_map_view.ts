/**
 * ModelMapView: models as points on their 2-D map, coloured by family, with name and metadata on
 * hover. Click one model, then another: `selected` = [a, b], and the panel shows their estimated
 * KL and the texts whose double-centred log-likelihoods differ most (precomputed for all pairs).
 *
 * Traits: names, families, metadata (hover lines per model), texts (may be empty), title,
 * coords [K, 2], kl [K, K], top_index / top_diff [K, K, m]; state: selected; error.
 */

import { decodeArray, type ArrayPayload } from "./lib/arrays";
import { setupCanvas } from "./lib/canvas";
import { formatNumber } from "./lib/format";
import type { RenderProps } from "./lib/model";
import { scatterPoints } from "./analysis_views/logic";
import { exportButtons, redrawOn } from "./analysis_views/ui";
import { categoryColors, pairDifferences, pickModel } from "./outputs/logic";
import { outputFrame, pointLayer, stringList } from "./outputs/ui";

const W = 480;
const H = 360;
const PAD = { left: 14, right: 120, top: 22, bottom: 14 };

const CSS = `
.iw-model-map .iw-mm-pair { max-width: 460px; font-size: 12px; }
.iw-model-map .iw-mm-pair table { border-collapse: collapse; margin-top: 4px; }
.iw-model-map .iw-mm-pair td { padding: 2px 6px; vertical-align: top; border-top: 1px solid var(--iw-border); }
.iw-model-map .iw-mm-text { white-space: pre-wrap; word-break: break-word; max-width: 360px; }
`;

function render(props: RenderProps): () => void {
  const { model } = props;
  const fr = outputFrame(props, "model-map", CSS);
  const { doc } = fr;
  const strings = (k: string) => stringList(model, k);
  const names = strings("names");
  const families = strings("families");
  const texts = strings("texts");
  const metadata = ((model.get("metadata") as string[][] | undefined) ?? []).map((m) => m.map(String));
  const coords = decodeArray(model.get("coords") as ArrayPayload);
  const kl = decodeArray(model.get("kl") as ArrayPayload);
  const topIndex = decodeArray(model.get("top_index") as ArrayPayload);
  const topDiff = decodeArray(model.get("top_diff") as ArrayPayload);
  const K = names.length;
  const colors = categoryColors(families);
  const xs = Float32Array.from({ length: K }, (_, i) => coords.data[2 * i]);
  const ys = Float32Array.from({ length: K }, (_, i) => coords.data[2 * i + 1]);
  let pending = -1;
  let canvas: HTMLCanvasElement | null = null;
  const error = doc.createElement("div");
  error.className = "iw-av-error";
  const title = doc.createElement("div");
  title.textContent = String(model.get("title") ?? "");
  fr.toolbar.replaceChildren(title, ...exportButtons(doc, "model-map", () => (canvas ? [canvas] : [])), error);

  const pairPanel = (a: number, b: number): HTMLDivElement => {
    const panel = doc.createElement("div");
    panel.className = "iw-mm-pair";
    const head = doc.createElement("div");
    head.className = "iw-mm-kl";
    head.textContent = `${names[a]} vs ${names[b]}: estimated KL ${formatNumber(kl.data[a * K + b])} nats per text`;
    const table = doc.createElement("table");
    const caption = doc.createElement("div");
    caption.textContent = `texts where they differ most (q_a \u2212 q_b, double-centred log-likelihood, nats; `
      + `> 0: relatively likelier under ${names[a]})`;
    for (const { text, diff } of pairDifferences(topIndex, topDiff, a, b)) {
      const tr = doc.createElement("tr");
      tr.className = "iw-mm-row";
      const d = doc.createElement("td");
      d.textContent = formatNumber(diff);
      const t = doc.createElement("td");
      t.className = "iw-mm-text";
      t.textContent = texts[text] ?? `text #${text}`;
      t.title = `text #${text}`;
      tr.append(d, t);
      table.appendChild(tr);
    }
    panel.append(head, caption, table);
    return panel;
  };

  const draw = (): void => {
    const theme = fr.theme();
    const sel = strings("selected").map((n) => names.indexOf(n));
    const c = doc.createElement("canvas");
    c.className = "iw-mm-canvas";
    const g = setupCanvas(c, W, H);
    g.fillStyle = theme.background;
    g.fillRect(0, 0, W, H);
    const plot: [number, number, number, number] = [PAD.left, PAD.top, W - PAD.left - PAD.right, H - PAD.top - PAD.bottom];
    g.strokeStyle = theme.border;
    g.strokeRect(...plot);
    const points = scatterPoints(xs, ys, 1, [plot[0] + 10, plot[1] + 10, plot[2] - 70, plot[3] - 20]);
    if (sel.length === 2 && sel.every((i) => i >= 0)) {
      const [pa, pb] = sel.map((i) => points.find((p) => p.index === i));
      if (pa && pb) {
        g.strokeStyle = theme.accent;
        g.setLineDash([4, 3]);
        g.beginPath();
        g.moveTo(pa.px, pa.py);
        g.lineTo(pb.px, pb.py);
        g.stroke();
        g.setLineDash([]);
      }
    }
    pointLayer(fr, c, g, points, {
      names,
      color: (i) => colors.get(families[i]) ?? "#777",
      ring: (i) => (sel.includes(i) ? 2.5 : i === pending ? 1.2 : 0),
      describe: (p) => [names[p.index], ...(metadata[p.index] ?? []), `map: (${formatNumber(p.x)}, ${formatNumber(p.y)})`],
      onClick: (p) => {
        const next = pickModel(pending, p.index);
        pending = next.pending;
        if (next.pair) {
          model.set("selected", next.pair.map((i) => names[i]));
          model.save_changes();
        } else draw();
      },
    });
    g.font = `10px ${theme.fontFamily}`;
    g.textAlign = "left";
    let k = 0;
    for (const [family, color] of colors) {
      const y = PAD.top + 10 + 14 * k++;
      g.fillStyle = color;
      g.fillRect(W - PAD.right + 8, y - 7, 8, 8);
      g.fillStyle = theme.foreground;
      g.fillText(family, W - PAD.right + 20, y);
    }
    c.dataset.selected = sel.join(",");
    canvas = c;
    error.textContent = String(model.get("error") ?? "");
    const parts: HTMLElement[] = [c];
    if (sel.length === 2 && sel.every((i) => i >= 0)) parts.push(pairPanel(sel[0], sel[1]));
    fr.content.replaceChildren(...parts);
    fr.note.textContent = pending >= 0
      ? `${names[pending]} marked; click another model to compare them`
      : "colour: family. Click one model, then another, to see their estimated KL and the texts where they differ most.";
  };
  return redrawOn(fr, model, ["selected", "error"], draw);
}

export default { render };
