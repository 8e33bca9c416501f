/**
 * PatchingView: the activation-patching scores of one component kind as a heatmap (layer ×
 * position or layer × head), diverging colours centred at 0; hover names the component and
 * its score under the metric; a selector switches the kind.
 *
 * Traits: kinds, widths, axes, clean_tokens, corrupted_tokens, metric, mode, title, scores
 * [kind, layer, max width] (NaN padded), clean_score, corrupted_score; state: kind; error.
 */

import { divergingScale } from "./lib/colors";
import { formatNumber } from "./lib/format";
import type { RenderProps } from "./lib/model";
import { componentLabel, kindMatrix, maxAbs } from "./hidden/logic";
import { exportButtons, frame, heatmapPanel, labelled, redrawOn, select } from "./analysis_views/ui";

function render(props: RenderProps): () => void {
  const { model } = props;
  const fr = frame(props, "patching");
  const { doc } = fr;
  const scores = fr.array("scores");
  const { strings } = fr;
  const kinds = strings("kinds");
  const axes = strings("axes");
  const clean = strings("clean_tokens");
  const corrupted = strings("corrupted_tokens");
  const widths = ((model.get("widths") as number[] | undefined) ?? []).map(Number);
  const metric = String(model.get("metric") ?? "metric");
  const L = scores.shape[1] ?? 0;
  const labels = clean.map((c, i) => (c === corrupted[i] ? c : `${c}/${corrupted[i]}`));
  const layerLabels = Array.from({ length: L }, (_, l) => `L${l}`);
  let canvases: HTMLCanvasElement[] = [];

  const draw = (): void => {
    const kind = String(model.get("kind") ?? kinds[0]);
    const k = Math.max(0, kinds.indexOf(kind));
    const width = widths[k] ?? 0;
    const values = kindMatrix(scores, k, width);
    const axis = axes[k] ?? "position";
    const error = doc.createElement("span");
    error.className = "iw-av-error";
    error.textContent = String(model.get("error") ?? "");
    const title = doc.createElement("span");
    title.textContent = String(model.get("title") ?? "");
    fr.toolbar.replaceChildren(
      title,
      labelled(doc, "component", select(doc, "kind", kinds.map((n): [string, string] => [n, n]), kinds[k] ?? "", (v) => {
        model.set("kind", v);
        model.save_changes();
      })),
      ...exportButtons(doc, "patching", () => canvases),
      error,
    );
    const lim = maxAbs(values);
    const rows = Array.from({ length: L }, (_, i) => L - 1 - i);  // last layer on top
    const flipped = new Float32Array(L * width);
    rows.forEach((l, i) => flipped.set(values.subarray(l * width, (l + 1) * width), i * width));
    const canvas = heatmapPanel(fr, flipped, L, width, {
      title: `${kinds[k] ?? ""} (layer \u00d7 ${axis})`,
      rowLabels: rows.map((l) => layerLabels[l]),
      colLabels: axis === "position" ? labels.slice(0, width) : Array.from({ length: width }, (_, h) => `H${h}`),
      scale: divergingScale(lim),
      cell: Math.max(10, Math.min(36, Math.floor(420 / Math.max(width, L, 1)))),
      describe: (i, j, v) => [`${kinds[k]}: ${componentLabel(rows[i], j, axis, clean[j], corrupted[j])}`, `${metric} = ${formatNumber(v)}`],
      className: "iw-patch-heatmap",
    });
    canvas.dataset.kind = kinds[k] ?? "";
    canvas.dataset.limit = String(lim);
    canvases = [canvas];
    fr.content.replaceChildren(canvas);
    const what = axis === "position" ? "each cell patches one layer's activation at one position" : "each cell patches one head (all positions)";
    fr.note.textContent = `${String(model.get("mode") ?? "")}: ${what}.\ncolour: ${metric}, blue < 0 (white) < red, range \u00b1${formatNumber(lim)}; `
      + `unpatched runs: clean ${formatNumber(Number(model.get("clean_score") ?? NaN))}, corrupted ${formatNumber(Number(model.get("corrupted_score") ?? NaN))}.`;
  };
  return redrawOn(fr, model, ["kind", "error"], draw);
}

export default { render };
