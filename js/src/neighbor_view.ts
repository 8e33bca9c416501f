/**
 * NeighborView: the query token in its text, the matches best first (left context, match,
 * right context, similarity bar, document:position, tag), the masked LM's predictions when the
 * query was masked, and the histogram of the matches' tags. A click on a match selects it and
 * highlights its tag in the histogram.
 *
 * Traits: title, query_tokens, query_position, tokens, left, right, tags, similarities /
 * doc_ids / positions [k], tag_names with tag_counts [tag], predictions with prediction_probs
 * [k_pred]; state: selected (-1 for none); error (why the kernel refused the last change).
 */

import { setupCanvas, fitText } from "./lib/canvas";
import { formatNumber } from "./lib/format";
import type { RenderProps } from "./lib/model";
import { quotedTokenText, renderTokenStrip, visibleTokenText } from "./lib/tokens";
import { exportButtons, frame, redrawOn, type Frame } from "./analysis_views/ui";

const CSS = `
.iw-neighbors .iw-nb-query .iw-token { font-family: var(--iw-monoFontFamily); padding: 0 1px; }
.iw-neighbors .iw-nb-query .iw-nb-focus { outline: 2px solid var(--iw-accent); font-weight: 700; }
.iw-neighbors .iw-nb-table { border-collapse: collapse; font-size: 11px; }
.iw-neighbors .iw-nb-table td { padding: 1px 4px; white-space: pre; }
.iw-neighbors .iw-nb-match { cursor: pointer; }
.iw-neighbors .iw-nb-left { text-align: right; font-family: var(--iw-monoFontFamily); }
.iw-neighbors .iw-nb-token { font-weight: 700; font-family: var(--iw-monoFontFamily); text-align: center; }
.iw-neighbors .iw-nb-right { font-family: var(--iw-monoFontFamily); }
.iw-neighbors .iw-nb-bar { width: 80px; }
.iw-neighbors .iw-nb-bar > div { height: 9px; background: var(--iw-accent); opacity: 0.7; }
.iw-neighbors .iw-nb-selected { box-shadow: inset 0 0 0 2px var(--iw-accent); }
`;

const BAR_H = 16;

/** Horizontal bars, one per tag; the tag `highlight` is outlined. */
function histogram(fr: Frame, names: readonly string[], counts: Float32Array, highlight: string): HTMLCanvasElement {
  const theme = fr.theme();
  const canvas = fr.doc.createElement("canvas");
  canvas.className = "iw-nb-tags";
  const left = 70;
  const width = 240;
  const height = 22 + names.length * BAR_H + 4;
  const g = setupCanvas(canvas, width, height);
  g.fillStyle = theme.background;
  g.fillRect(0, 0, width, height);
  g.fillStyle = theme.foreground;
  g.font = `11px ${theme.fontFamily}`;
  g.textBaseline = "middle";
  g.fillText("tags of the matches", 2, 9);
  let max = 0;
  for (const c of counts) max = Math.max(max, c);
  const span = width - left - 30;
  names.forEach((name, i) => {
    const y = 22 + i * BAR_H;
    const w = (counts[i] / (max || 1)) * span;
    g.fillStyle = "#1f77b4";
    g.fillRect(left, y + 2, w, BAR_H - 4);
    if (name === highlight) {
      g.strokeStyle = theme.foreground;
      g.lineWidth = 2;
      g.strokeRect(left - 1, y + 1, w + 2, BAR_H - 2);
      g.lineWidth = 1;
    }
    g.fillStyle = theme.foreground;
    g.textAlign = "right";
    g.fillText(fitText(g, name, left - 6), left - 4, y + BAR_H / 2);
    g.textAlign = "left";
    g.fillText(String(counts[i]), left + w + 4, y + BAR_H / 2);
  });
  canvas.dataset.bars = String(names.length);
  canvas.dataset.highlight = highlight;
  return canvas;
}

function cell(doc: Document, className: string, text: string): HTMLTableCellElement {
  const td = doc.createElement("td");
  td.className = className;
  const span = doc.createElement("span");
  span.textContent = text;
  td.appendChild(span);
  return td;
}

function render(props: RenderProps): () => void {
  const { model } = props;
  const fr = frame(props, "neighbors", CSS);
  const { doc } = fr;
  const { strings } = fr;
  const lists = (k: string) => ((model.get(k) as string[][] | undefined) ?? []).map((r) => r.map(String));
  const arr = (k: string) => fr.array(k).data;
  const queryTokens = strings("query_tokens");
  const queryPosition = Number(model.get("query_position") ?? 0);
  const tokens = strings("tokens");
  const left = lists("left");
  const right = lists("right");
  const tags = strings("tags");
  const tagNames = strings("tag_names");
  const predictions = strings("predictions");
  const sims = arr("similarities");
  const docIds = arr("doc_ids");
  const positions = arr("positions");
  const tagCounts = arr("tag_counts");
  const predProbs = arr("prediction_probs");
  const title = doc.createElement("div");
  title.textContent = String(model.get("title") ?? "");
  const error = doc.createElement("div");
  error.className = "iw-av-error";
  let hist: HTMLCanvasElement | null = null;
  fr.toolbar.replaceChildren(title, error, ...exportButtons(doc, "neighbors", () => (hist ? [hist] : [])));

  const query = doc.createElement("div");
  query.className = "iw-nb-query";
  const querySpans = renderTokenStrip(query, queryTokens);
  querySpans[queryPosition]?.classList.add("iw-nb-focus");
  const table = doc.createElement("table");
  table.className = "iw-nb-table";
  const rows = tokens.map((token, i) => {
    const tr = doc.createElement("tr");
    tr.className = "iw-nb-match";
    tr.dataset.index = String(i);
    const bar = doc.createElement("td");
    bar.className = "iw-nb-bar";
    const fill = doc.createElement("div");
    fill.style.width = `${Math.max(0, Math.min(1, sims[i])) * 100}%`;
    bar.appendChild(fill);
    tr.append(
      cell(doc, "iw-nb-left", (left[i] ?? []).map(visibleTokenText).join(" ")),
      cell(doc, "iw-nb-token", visibleTokenText(token)),
      cell(doc, "iw-nb-right", (right[i] ?? []).map(visibleTokenText).join(" ")),
      bar, cell(doc, "iw-nb-sim", formatNumber(sims[i])),
      cell(doc, "iw-nb-where", `${docIds[i]}:${positions[i]}`), cell(doc, "iw-nb-tag", tags[i] ?? ""));
    tr.addEventListener("mousemove", (event) => {
      fr.tooltip.show([`match ${i + 1}: ${quotedTokenText(token)}`, `cosine ${formatNumber(sims[i])}`,
        `document ${docIds[i]}, position ${positions[i]}`, ...(tags[i] ? [`tag ${tags[i]}`] : [])], event.clientX, event.clientY);
    });
    tr.addEventListener("mouseleave", () => fr.tooltip.hide());
    tr.addEventListener("click", () => {
      model.set("selected", Number(model.get("selected")) === i ? -1 : i);
      model.save_changes();
    });
    table.appendChild(tr);
    return tr;
  });
  const side = doc.createElement("div");
  const main = doc.createElement("div");
  const queryLabel = doc.createElement("div");
  queryLabel.textContent = "query:";
  main.append(queryLabel, query, table);
  if (predictions.length) {
    const pred = doc.createElement("div");
    pred.className = "iw-nb-predictions";
    pred.textContent = "masked LM predicts: " + predictions.map((t, i) => `${quotedTokenText(t)} ${formatNumber(predProbs[i])}`).join(", ");
    main.appendChild(pred);
  }
  fr.content.replaceChildren(main, side);
  fr.note.textContent = "matches: the indexed corpus tokens nearest to the query token in cosine similarity, "
    + "with their context; click a match to highlight its tag.";

  const draw = (): void => {
    const selected = Number(model.get("selected") ?? -1);
    rows.forEach((tr, i) => tr.classList.toggle("iw-nb-selected", i === selected));
    table.dataset.selected = String(selected);
    hist = tagNames.length ? histogram(fr, tagNames, tagCounts, tags[selected] ?? "") : null;
    side.replaceChildren(...(hist ? [hist] : []));
    error.textContent = String(model.get("error") ?? "");
  };
  return redrawOn(fr, model, ["selected", "error"], draw);
}

export default { render };
