/**
 * AttentionView: head, model, heatmap, token and query/key views of one text.
 *
 * Eager traits: tokens, words, token_to_word, is_special, segments, n_layers,
 * n_heads, causal, has_qk, model_name, thumbnails [L, H, S, S] (uint8),
 * entropy [L, H]. View state (synced both ways): view, layer, head, heads,
 * token, threshold, word_level, hide_special, pair_filter, order, error.
 * Attention data arrives lazily as slices (see attention/data.ts).
 */

import { decodeArray, type ArrayPayload } from "./lib/arrays";
import { buildSvg, canvasToPng, download } from "./lib/export";
import { onChanges, type RenderProps } from "./lib/model";
import { addStylesheet, injectStyles, ROOT_CLASS } from "./lib/styles";
import { themeColors, watchTheme } from "./lib/theme";
import { Tooltip } from "./lib/tooltip";
import type { AttentionState, ViewContext, ViewOutput } from "./attention/context";
import { ATTENTION_CSS, button, checkbox, labelled, select } from "./attention/controls";
import { SliceSource } from "./attention/data";
import { drawHeadView } from "./attention/head_view";
import { drawHeatmapView } from "./attention/heatmap_view";
import { buildUnits, headColor, type PairFilter } from "./attention/logic";
import { drawModelView } from "./attention/model_view";
import { drawQkView } from "./attention/qk_view";
import { drawTokenView } from "./attention/token_view";

const VIEWS: [string, string][] = [["head", "Head"], ["model", "Model"], ["heatmap", "Heatmap"], ["token", "Token"], ["qk", "Query/key"]];
const STATE_KEYS = ["view", "layer", "head", "heads", "token", "threshold", "word_level", "hide_special", "pair_filter", "order", "error"];

function readState(model: RenderProps["model"]): AttentionState {
  const num = (k: string, d = 0) => Number(model.get(k) ?? d);
  return {
    view: String(model.get("view") ?? "head"),
    layer: num("layer"),
    head: num("head"),
    heads: ((model.get("heads") as number[] | undefined) ?? []).map(Number),
    token: num("token", -1),
    threshold: num("threshold", 0.9),
    wordLevel: Boolean(model.get("word_level")),
    hideSpecial: Boolean(model.get("hide_special")),
    pairFilter: (model.get("pair_filter") as PairFilter | undefined) ?? "all",
    order: model.get("order") === "entropy" ? "entropy" : "layer",
    nLayers: num("n_layers"),
    nHeads: num("n_heads"),
    causal: Boolean(model.get("causal")),
    hasQk: Boolean(model.get("has_qk")),
    tokens: ((model.get("tokens") as string[] | undefined) ?? []).map(String),
  };
}

function render({ model, el }: RenderProps): () => void {
  const doc = el.ownerDocument;
  injectStyles(doc);
  addStylesheet(doc, "iw-attention-style", ATTENTION_CSS);
  const root = doc.createElement("div");
  root.className = `${ROOT_CLASS} iw-attention`;
  const banner = doc.createElement("div");
  banner.className = "iw-attn-error";
  banner.setAttribute("role", "alert");
  const staticNote = doc.createElement("div");
  staticNote.className = "iw-attn-static";
  const toolbar = doc.createElement("div");
  toolbar.className = "iw-attn-toolbar";
  const headBar = doc.createElement("div");
  headBar.className = "iw-attn-heads";
  const content = doc.createElement("div");
  content.className = "iw-attn-content";
  const note = doc.createElement("div");
  note.className = "iw-attn-note";
  root.append(banner, staticNote, toolbar, headBar, content, note);
  el.appendChild(root);
  const tooltip = new Tooltip(root);
  const source = new SliceSource(model);
  const thumbnails = decodeArray(model.get("thumbnails") as ArrayPayload);
  const entropy = decodeArray(model.get("entropy") as ArrayPayload);
  const memo: Record<string, unknown> = {};
  let output: ViewOutput = {};
  let generation = 0;

  staticNote.hidden = !source.staticPage;
  staticNote.textContent = source.complete
    ? "Static page: every layer is embedded; no kernel is needed."
    : "Static page of a long input: only the layer, head and token selected when it was saved are embedded.";

  const update = (values: Record<string, unknown>): void => {
    for (const [k, v] of Object.entries(values)) model.set(k, v);
    model.save_changes();
  };

  const buildToolbar = (s: AttentionState): void => {
    const range = (n: number, prefix: string): [string, string][] => Array.from({ length: n }, (_, i) => [String(i), `${prefix}${i}`]);
    const tabs = VIEWS.map(([v, text]) => {
      const b = button(doc, text, () => update({ view: v }), "iw-attn-tab");
      b.dataset.view = v;
      b.setAttribute("aria-pressed", String(s.view === v));
      return b;
    });
    const tokenInput = doc.createElement("input");
    tokenInput.type = "number";
    tokenInput.name = "token";
    tokenInput.min = "-1";
    tokenInput.max = String(s.tokens.length - 1);
    tokenInput.value = String(s.token);
    tokenInput.style.width = "5em";
    tokenInput.addEventListener("change", () => update({ token: Number(tokenInput.value) }));
    const threshold = doc.createElement("input");
    threshold.type = "range";
    threshold.name = "threshold";
    threshold.min = "0.05";
    threshold.max = "1";
    threshold.step = "0.05";
    threshold.value = String(s.threshold);
    threshold.addEventListener("change", () => update({ threshold: Number(threshold.value) }));
    const hasPairs = ((model.get("segments") as number[] | undefined) ?? []).some((x) => x === 1);
    const controls: HTMLElement[] = [
      ...tabs,
      labelled(doc, "layer", select(doc, "layer", range(s.nLayers, "L"), String(s.layer), (v) => update({ layer: Number(v) }))),
      labelled(doc, "head", select(doc, "head", range(s.nHeads, "H"), String(s.head), (v) => update({ head: Number(v) }))),
      labelled(doc, "token", tokenInput),
      labelled(doc, "keep", threshold),
      labelled(doc, "words", checkbox(doc, "word_level", s.wordLevel, (v) => update({ word_level: v }))),
      labelled(doc, "hide specials", checkbox(doc, "hide_special", s.hideSpecial, (v) => update({ hide_special: v }))),
      labelled(doc, "order", select(doc, "order", [["layer", "by index"], ["entropy", "by entropy"]], s.order, (v) => update({ order: v }))),
    ];
    if (hasPairs) {
      const filters: [string, string][] = [["all", "all"], ["A>A", "A\u2192A"], ["B>B", "B\u2192B"], ["A>B", "A\u2192B"], ["B>A", "B\u2192A"]];
      controls.push(labelled(doc, "pairs", select(doc, "pair_filter", filters, s.pairFilter, (v) => update({ pair_filter: v }))));
    }
    controls.push(button(doc, "PNG", () => void exportPng()), button(doc, "SVG", () => void exportSvg()));
    toolbar.replaceChildren(...controls);
    const swatches = Array.from({ length: s.nHeads }, (_, h) => {
      const b = button(doc, String(h), () => {
        const shown = new Set(s.heads);
        if (shown.has(h)) shown.delete(h);
        else shown.add(h);
        update({ heads: [...shown].sort((a, c) => a - c) });
      }, "iw-attn-head");
      b.style.background = headColor(h);
      b.dataset.head = String(h);
      b.title = `head ${h}: click to toggle, double-click to show only this head`;
      b.setAttribute("aria-pressed", String(s.heads.includes(h)));
      b.addEventListener("dblclick", () => update({ heads: [h] }));
      return b;
    });
    headBar.replaceChildren(...swatches);
    headBar.hidden = s.view !== "head";
  };

  const draw = async (): Promise<void> => {
    const mine = ++generation;
    const s = readState(model);
    const error = String(model.get("error") ?? "");
    banner.textContent = error;
    banner.hidden = !error;
    buildToolbar(s);
    const units = buildUnits(s.tokens, (model.get("words") as string[]) ?? [], (model.get("token_to_word") as number[]) ?? [],
      (model.get("is_special") as boolean[]) ?? [], (model.get("segments") as number[]) ?? [], s.wordLevel);
    const ctx: ViewContext = { doc, model, source, state: s, units, theme: themeColors(root), tooltip, thumbnails, entropy, memo, update, redraw: () => void draw() };
    const host = doc.createElement("div");
    host.className = `iw-attn-view iw-attn-view-${s.view}`;
    let out: ViewOutput;
    try {
      if (s.view === "model") out = drawModelView(ctx, host);
      else if (s.view === "heatmap") out = await drawHeatmapView(ctx, host);
      else if (s.view === "token") out = await drawTokenView(ctx, host);
      else if (s.view === "qk") out = await drawQkView(ctx, host);
      else out = await drawHeadView(ctx, host);
    } catch (exc) {
      out = { note: `Could not draw this view: ${exc instanceof Error ? exc.message : String(exc)}` };
    }
    if (mine !== generation) return;
    content.replaceChildren(host);
    note.textContent = out.note ?? "";
    output = out;
    root.dataset.rendered = String(mine);
    root.dataset.sliceBytes = String(source.cache.bytes); // decoded bytes held by the slice cache
  };

  const exportPng = async (): Promise<void> => {
    if (output.canvas) download(doc, await canvasToPng(output.canvas), `attention-${readState(model).view}.png`);
  };
  const exportSvg = async (): Promise<void> => {
    let svg: string;
    if (output.svg) {
      const { width, height, items } = output.svg();
      svg = buildSvg(doc, width, height, items);
    } else if (output.canvas) {
      const c = output.canvas;
      const width = parseFloat(c.style.width);
      const height = parseFloat(c.style.height);
      svg = buildSvg(doc, width, height, [{ kind: "image", x: 0, y: 0, width, height, href: c.toDataURL("image/png") }]);
    } else return;
    download(doc, new Blob([svg], { type: "image/svg+xml" }), `attention-${readState(model).view}.svg`);
  };

  const redraw = () => void draw();
  const stop = onChanges(model, STATE_KEYS, redraw);
  const stopTheme = watchTheme(redraw, doc);
  void draw();
  return () => {
    stop();
    stopTheme();
    source.destroy();
    tooltip.destroy();
    root.remove();
  };
}

export default { render };
