/**
 * CompassView: economic (x, left − / right +) and social (y, libertarian − / authoritarian +)
 * axes through the battery's origin over its reachable range, quadrants shaded; models as
 * points with names, arrows between checkpoints. Hover a model for its coordinates and
 * per-statement answers; a click lists them all (`selected`).
 *
 * Traits: names, statement_ids, answer_names, arrows, origin, title, coords [K, 2],
 * p_agree [K, S], answers [K, S, 4], bounds [2, 2]; state: selected; error.
 */

import { decodeArray, type ArrayPayload } from "./lib/arrays";
import { setupCanvas } from "./lib/canvas";
import { formatNumber } from "./lib/format";
import type { RenderProps } from "./lib/model";
import { linearMap, type Point } from "./analysis_views/logic";
import { exportButtons, redrawOn } from "./analysis_views/ui";
import { answerText, arrowHead, categoryColors } from "./outputs/logic";
import { POINT_RADIUS, outputFrame, pointLayer, stringList } from "./outputs/ui";

const SIZE = 380;
const PAD = { left: 40, right: 16, top: 20, bottom: 40 };
const HOVER_STATEMENTS = 12;
const QUADRANTS = ["rgba(232, 120, 110, 0.25)", "rgba(100, 150, 210, 0.25)", "rgba(110, 190, 110, 0.25)", "rgba(170, 130, 220, 0.25)"];

const CSS = `
.iw-compass .iw-cp-answers { font-size: 12px; max-height: 420px; overflow-y: auto; }
.iw-compass .iw-cp-answers td { padding: 1px 6px; border-top: 1px solid var(--iw-border); }
`;

function render(props: RenderProps): () => void {
  const { model } = props;
  const fr = outputFrame(props, "compass", CSS);
  const { doc } = fr;
  const strings = (k: string) => stringList(model, k);
  const names = strings("names");
  const ids = strings("statement_ids");
  const answerNames = strings("answer_names");
  const arrows = ((model.get("arrows") as number[][] | undefined) ?? []).map((a) => a.map(Number));
  const origin = ((model.get("origin") as number[] | undefined) ?? [0, 0]).map(Number);
  const coords = decodeArray(model.get("coords") as ArrayPayload);
  const pAgree = decodeArray(model.get("p_agree") as ArrayPayload);
  const answers = decodeArray(model.get("answers") as ArrayPayload);
  const bounds = decodeArray(model.get("bounds") as ArrayPayload).data;
  const K = names.length;
  const S = ids.length;
  const A = answers.shape[2] ?? 4;
  const colors = categoryColors(names);
  let canvas: HTMLCanvasElement | null = null;
  const error = doc.createElement("div");
  error.className = "iw-av-error";
  const title = doc.createElement("div");
  title.textContent = String(model.get("title") ?? "");
  fr.toolbar.replaceChildren(title, ...exportButtons(doc, "compass", () => (canvas ? [canvas] : [])), error);

  const answer = (m: number, s: number): string => answerText(answers.data.subarray((m * S + s) * A, (m * S + s + 1) * A), answerNames);
  const answerLine = (m: number, s: number): string => `${ids[s]}: ${answer(m, s)} (p agree ${formatNumber(pAgree.data[m * S + s])})`;

  const answerTable = (m: number): HTMLDivElement => {
    const box = doc.createElement("div");
    box.className = "iw-cp-answers";
    const head = doc.createElement("div");
    head.textContent = `${names[m]}: economic ${formatNumber(coords.data[2 * m])}, social ${formatNumber(coords.data[2 * m + 1])}`;
    const table = doc.createElement("table");
    for (let s = 0; s < S; s++) {
      const tr = doc.createElement("tr");
      tr.className = "iw-cp-row";
      for (const text of [ids[s], answer(m, s), `p agree ${formatNumber(pAgree.data[m * S + s])}`]) {
        const td = doc.createElement("td");
        td.textContent = text;
        tr.appendChild(td);
      }
      table.appendChild(tr);
    }
    box.append(head, table);
    return box;
  };

  const draw = (): void => {
    const theme = fr.theme();
    const sel = names.indexOf(String(model.get("selected") ?? ""));
    const c = doc.createElement("canvas");
    c.className = "iw-cp-canvas";
    const W = PAD.left + SIZE + PAD.right;
    const H = PAD.top + SIZE + PAD.bottom;
    const g = setupCanvas(c, W, H);
    g.fillStyle = theme.background;
    g.fillRect(0, 0, W, H);
    const [x0, x1, y0, y1] = bounds;
    const mx = linearMap([x0, x1], PAD.left, PAD.left + SIZE);
    const my = linearMap([y0, y1], PAD.top + SIZE, PAD.top);
    const ox = mx(origin[0]);
    const oy = my(origin[1]);
    // authoritarian left, authoritarian right, libertarian left, libertarian right
    const quads: [number, number, number, number][] = [[PAD.left, PAD.top, ox, oy], [ox, PAD.top, PAD.left + SIZE, oy],
      [PAD.left, oy, ox, PAD.top + SIZE], [ox, oy, PAD.left + SIZE, PAD.top + SIZE]];
    quads.forEach(([a, b, cx, d], k) => {
      g.fillStyle = QUADRANTS[k];
      g.fillRect(a, b, cx - a, d - b);
    });
    g.strokeStyle = theme.border;
    g.strokeRect(PAD.left, PAD.top, SIZE, SIZE);
    g.strokeStyle = theme.foreground;
    g.beginPath();
    g.moveTo(PAD.left, oy);
    g.lineTo(PAD.left + SIZE, oy);
    g.moveTo(ox, PAD.top);
    g.lineTo(ox, PAD.top + SIZE);
    g.stroke();
    g.fillStyle = theme.foreground;
    g.font = `10px ${theme.fontFamily}`;
    g.textAlign = "center";
    g.fillText(formatNumber(x0), PAD.left, PAD.top + SIZE + 12);
    g.fillText(formatNumber(x1), PAD.left + SIZE, PAD.top + SIZE + 12);
    g.font = `11px ${theme.fontFamily}`;
    g.fillText("economic: left \u2190 \u2192 right", PAD.left + SIZE / 2, PAD.top + SIZE + 28);
    g.textAlign = "right";
    g.font = `10px ${theme.fontFamily}`;
    g.fillText(formatNumber(y1), PAD.left - 3, PAD.top + 8);
    g.fillText(formatNumber(y0), PAD.left - 3, PAD.top + SIZE);
    g.save();
    g.translate(12, PAD.top + SIZE / 2);
    g.rotate(-Math.PI / 2);
    g.textAlign = "center";
    g.font = `11px ${theme.fontFamily}`;
    g.fillText("social: libertarian \u2190 \u2192 authoritarian", 0, 0);
    g.restore();
    const points: Point[] = Array.from({ length: K }, (_, i) => {
      const x = coords.data[2 * i];
      const y = coords.data[2 * i + 1];
      return { index: i, layer: i, head: 0, x, y, px: mx(x), py: my(y) };
    }).filter((p) => Number.isFinite(p.px) && Number.isFinite(p.py));
    g.strokeStyle = theme.foreground;
    g.fillStyle = theme.foreground;
    g.lineWidth = 1.2;
    for (const [i, j] of arrows) {
      const a = points.find((p) => p.index === i);
      const b = points.find((p) => p.index === j);
      const head = a && b ? arrowHead(a.px, a.py, b.px, b.py, 7, POINT_RADIUS + 1) : null;
      if (!a || !b || !head) continue;
      g.beginPath();
      g.moveTo(a.px, a.py);
      g.lineTo(head[0][0], head[0][1]);
      g.stroke();
      g.beginPath();
      g.moveTo(...head[0]);
      g.lineTo(...head[1]);
      g.lineTo(...head[2]);
      g.closePath();
      g.fill();
    }
    g.lineWidth = 1;
    c.dataset.arrows = String(arrows.length);
    pointLayer(fr, c, g, points, {
      names,
      color: (i) => colors.get(names[i]) ?? "#777",
      ring: (i) => (i === sel ? 2.5 : 0),
      describe: (p) => {
        const lines = [names[p.index], `economic ${formatNumber(p.x)}, social ${formatNumber(p.y)}`];
        for (let s = 0; s < Math.min(S, HOVER_STATEMENTS); s++) lines.push(answerLine(p.index, s));
        if (S > HOVER_STATEMENTS) lines.push(`\u2026 ${S - HOVER_STATEMENTS} more: click to list all`);
        return lines;
      },
      onClick: (p) => {
        model.set("selected", p.index === sel ? "" : names[p.index]);
        model.save_changes();
      },
    });
    canvas = c;
    error.textContent = String(model.get("error") ?? "");
    fr.content.replaceChildren(...(sel >= 0 ? [c, answerTable(sel)] : [c]));
    fr.note.textContent = "quadrants: authoritarian left (red), authoritarian right (blue), libertarian left (green), "
      + "libertarian right (purple). Click a model to list its answers.";
  };
  return redrawOn(fr, model, ["selected", "error"], draw);
}

export default { render };
