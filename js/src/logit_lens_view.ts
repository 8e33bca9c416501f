/**
 * LogitLensView: stages (layer · point) × positions; each cell shows the top lens token on a
 * background coloured by its probability, the top-k on hover; a click on a column selects the
 * position whose watched-token ranks are drawn (rank vs layer, log scale).
 *
 * Traits: tokens, stages, depth, vocab, watch_tokens, title, topk_probs / topk_index
 * [stage, pos, k], entropy [stage, pos], watch_ranks / watch_probs [stage, pos, watched];
 * state: position; error (why the kernel refused the last change).
 */

import { sequentialScale, textColorOn } from "./lib/colors";
import { formatNumber } from "./lib/format";
import type { RenderProps } from "./lib/model";
import { quotedTokenText, visibleTokenText } from "./lib/tokens";
import { alternatives, rankSeries } from "./hidden/logic";
import { frame, lineChart, redrawOn } from "./analysis_views/ui";

const CSS = `
.iw-logit-lens .iw-ll-scroll { overflow-x: auto; max-width: 100%; }
.iw-logit-lens .iw-ll-grid { display: grid; gap: 1px; font-family: var(--iw-monoFontFamily); font-size: 10px; }
.iw-logit-lens .iw-ll-cell, .iw-logit-lens .iw-ll-col { min-width: 46px; max-width: 64px; height: 18px; line-height: 18px;
  padding: 0 2px; overflow: hidden; text-overflow: ellipsis; white-space: pre; text-align: center; cursor: pointer; }
.iw-logit-lens .iw-ll-row { text-align: right; padding-right: 4px; line-height: 18px; white-space: nowrap; }
.iw-logit-lens .iw-ll-col { height: auto; font-weight: 600; border-bottom: 1px solid var(--iw-border); }
.iw-logit-lens .iw-ll-selected { box-shadow: inset 0 0 0 2px var(--iw-accent); }
`;

function render(props: RenderProps): () => void {
  const { model } = props;
  const fr = frame(props, "logit-lens", CSS);
  const { doc } = fr;
  const arr = fr.array;
  const probs = arr("topk_probs");
  const index = arr("topk_index");
  const entropy = arr("entropy");
  const ranks = arr("watch_ranks");
  const wprobs = arr("watch_probs");
  const { strings } = fr;
  const tokens = strings("tokens");
  const stages = strings("stages");
  const vocab = strings("vocab");
  const watched = strings("watch_tokens");
  const depth = Float32Array.from(((model.get("depth") as number[] | undefined) ?? []).map(Number));
  const [S, P, K] = probs.shape;
  const W = watched.length;
  const scale = sequentialScale(0, 1);
  const scroll = doc.createElement("div");
  scroll.className = "iw-ll-scroll";
  const grid = doc.createElement("div");
  grid.className = "iw-ll-grid";
  grid.style.gridTemplateColumns = `auto repeat(${P}, auto)`;
  scroll.appendChild(grid);
  const error = doc.createElement("div");
  error.className = "iw-av-error";
  const title = doc.createElement("div");
  title.textContent = String(model.get("title") ?? "");
  fr.toolbar.replaceChildren(title, error);

  const select = (p: number): void => {
    model.set("position", p);
    model.save_changes();
  };
  const cells: HTMLDivElement[][] = Array.from({ length: P }, () => []);
  const corner = doc.createElement("div");
  corner.className = "iw-ll-row";
  corner.textContent = "layer \u00b7 point";
  grid.appendChild(corner);
  for (let p = 0; p < P; p++) {
    const head = doc.createElement("div");
    head.className = "iw-ll-col";
    head.dataset.pos = String(p);
    head.textContent = visibleTokenText(tokens[p] ?? "");
    head.title = `#${p} ${quotedTokenText(tokens[p] ?? "")}`;
    head.addEventListener("click", () => select(p));
    grid.appendChild(head);
    cells[p].push(head);
  }
  for (let s = S - 1; s >= 0; s--) {
    const label = doc.createElement("div");
    label.className = "iw-ll-row";
    label.textContent = stages[s] ?? String(s);
    grid.appendChild(label);
    for (let p = 0; p < P; p++) {
      const top = alternatives(probs, index, vocab, s * P + p)[0];
      const cell = doc.createElement("div");
      cell.className = "iw-ll-cell";
      cell.dataset.stage = String(s);
      cell.dataset.pos = String(p);
      const rgb = scale.rgb(top?.prob ?? NaN) ?? [200, 200, 200];
      cell.style.background = `rgb(${rgb.join(", ")})`;
      cell.style.color = textColorOn(rgb);
      cell.textContent = visibleTokenText(top?.token ?? "");
      cell.addEventListener("mousemove", (event) => {
        const lines = [`${stages[s] ?? s} \u00b7 #${p} ${quotedTokenText(tokens[p] ?? "")}`,
          `entropy ${formatNumber(entropy.data[s * P + p])} nats`,
          ...alternatives(probs, index, vocab, s * P + p).map((a, i) => `${i + 1}. ${quotedTokenText(a.token)}  ${formatNumber(a.prob)}`),
          ...watched.map((t, w) => `watched ${quotedTokenText(t)}: rank ${ranks.data[(s * P + p) * W + w]}, p ${formatNumber(wprobs.data[(s * P + p) * W + w])}`)];
        fr.tooltip.show(lines, event.clientX, event.clientY);
      });
      cell.addEventListener("mouseleave", () => fr.tooltip.hide());
      cell.addEventListener("click", () => select(p));
      grid.appendChild(cell);
      cells[p].push(cell);
    }
  }
  grid.dataset.cells = String(S * P);
  grid.dataset.k = String(K ?? 0);

  let selected = -1;
  const draw = (): void => {
    const position = Number(model.get("position") ?? P - 1);
    if (selected >= 0) cells[selected]?.forEach((c) => c.classList.remove("iw-ll-selected"));
    cells[position]?.forEach((c) => c.classList.add("iw-ll-selected"));
    selected = position;
    grid.dataset.position = String(position);
    error.textContent = String(model.get("error") ?? "");
    const parts: HTMLElement[] = [scroll];
    if (W > 0) {
      parts.push(lineChart(fr, depth, rankSeries(ranks, position), {
        title: `watched-token rank at #${position} ${quotedTokenText(tokens[position] ?? "")}`,
        xLabel: "layer", yLabel: "rank (1 = top, log scale)", labels: watched.map((t) => quotedTokenText(t)),
        logY: true, className: "iw-ll-ranks" }));
    }
    fr.content.replaceChildren(...parts);
    fr.note.textContent = "cell: top token of the final norm + unembedding of the residual at that layer and point; "
      + "colour: its probability (0 to 1). Click a column to select a position.";
  };
  return redrawOn(fr, model, ["position", "error"], draw);
}

export default { render };
