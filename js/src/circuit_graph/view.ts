/** DOM of the circuit-graph view: the graph SVG, the node panel (label, pin, connections, feature
 * details, intervention) and the subgraph panel. Every text goes in as text content. */

import { download } from "../lib/export";
import { formatNumber } from "../lib/format";
import type { RenderProps } from "../lib/model";
import { quotedTokenText, visibleTokenText } from "../lib/tokens";
import { button, frame, labelled, redrawOn, select } from "../analysis_views/ui";
import {
  bandLabels, buildGraph, connections, EMBEDDING, ERROR, exportGraph, FEATURE, groupNodes, highlightedLinks,
  KIND_LABELS, layoutGraph, linkColor, linkWidth, LOGIT, nodeColor, nodeRadius, subgraph, visibleLinks,
  type CGraph, type LinkType,
} from "./logic";
import { marker, serialize, svgEl, svgToPng } from "./svg";

const MAX_LINKS = 4000;
const DEBOUNCE_MS = 300;

const CSS = `
.iw-circuit-graph .iw-cg-main { display: flex; gap: 10px; align-items: flex-start; flex-wrap: wrap; }
.iw-circuit-graph .iw-cg-graph { overflow: auto; max-width: 100%; border: 1px solid var(--iw-border); }
.iw-circuit-graph .iw-cg-side { width: 330px; font-size: 12px; }
.iw-circuit-graph .iw-cg-side h4 { margin: 8px 0 3px; font-size: 12px; }
.iw-circuit-graph .iw-cg-conn-row { display: flex; gap: 6px; cursor: pointer; padding: 1px 2px; }
.iw-circuit-graph .iw-cg-conn-row:hover { background: rgba(128,128,128,0.15); }
.iw-circuit-graph .iw-cg-conn-row .w { margin-left: auto; font-family: var(--iw-monoFontFamily); white-space: nowrap; }
.iw-circuit-graph .iw-cg-conn-row .t { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.iw-circuit-graph .iw-cg-ctx { font-family: var(--iw-monoFontFamily); margin: 2px 0; overflow-wrap: anywhere; }
.iw-circuit-graph .iw-cg-ctx span { white-space: pre; }
.iw-circuit-graph .iw-cg-list { max-height: 180px; overflow: auto; }
.iw-circuit-graph .iw-cg-subgraph { margin-top: 8px; }
.iw-circuit-graph table { border-collapse: collapse; }
.iw-circuit-graph td { padding: 0 6px; font-family: var(--iw-monoFontFamily); }
.iw-circuit-graph .iw-cg-node { cursor: pointer; }
.iw-circuit-graph input[type=text] { width: 180px; }
`;

interface Details {
  top_contexts?: { tokens: string[]; values: number[]; max?: number }[];
  top_logits?: [string, number][];
  bottom_logits?: [string, number][];
}

interface Intervention {
  node_id?: string;
  scale?: number;
  top_logits?: [string, number][];
  baseline?: [string, number][];
}

function div(doc: Document, className: string, text?: string): HTMLDivElement {
  const el = doc.createElement("div");
  el.className = className;
  if (text !== undefined) el.textContent = text;
  return el;
}

function heading(doc: Document, text: string): HTMLHeadingElement {
  const h = doc.createElement("h4");
  h.textContent = text;
  return h;
}

export function renderCircuitGraph(props: RenderProps): () => void {
  const { model } = props;
  const fr = frame(props, "circuit-graph", CSS);
  const { doc } = fr;
  const main = div(doc, "iw-cg-main");
  const graphBox = div(doc, "iw-cg-graph");
  const side = div(doc, "iw-cg-side");
  const sub = div(doc, "iw-cg-subgraph");
  main.append(graphBox, side);
  fr.content.replaceChildren(main, sub);
  fr.content.style.display = "block";

  const get = <T>(key: string, fallback: T): T => (model.get(key) as T | undefined) ?? fallback;
  const update = (patch: Record<string, unknown>): void => {
    for (const [k, v] of Object.entries(patch)) model.set(k, v);
    model.save_changes();
  };
  const live = (): boolean => Boolean(model.get("live")) && model.get("static_page") !== true;

  let graph: CGraph | null = null;
  let graphError = "";
  const rebuild = (): void => {
    try {
      graph = buildGraph(fr.array("nodes"), fr.array("links"),
        get<string[]>("node_ids", []).map(String), get<string[]>("clerps", []).map(String), Number(get("n_layers", 0)),
        get<string[]>("prompt_tokens", []).length);
      graphError = "";
    } catch (error) {
      graph = null;
      graphError = `cannot show this graph: ${error}`;
    }
  };
  rebuild();

  const marked = new Set<string>();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let mainSvg: SVGSVGElement | null = null;

  const tokens = (): string[] => get<string[]>("prompt_tokens", []).map(String);
  const labelOf = (g: CGraph, i: number): string => {
    const n = g.nodes[i];
    const edited = get<Record<string, string>>("labels", {})[n.id];
    if (edited) return edited;
    if (n.clerp) return n.clerp;
    if (n.kind === EMBEDDING) return `token ${quotedTokenText(tokens()[n.ctx] ?? "")}`;
    if (n.kind === ERROR) return `error L${n.band} @${n.ctx}`;
    if (n.kind === LOGIT) return `logit #${n.feature}`;
    return `L${n.band} #${n.feature} @${n.ctx}`;
  };
  const describe = (g: CGraph, i: number): string[] => {
    const n = g.nodes[i];
    const band = n.kind === EMBEDDING ? "embeddings" : n.kind === LOGIT ? "logits" : `layer ${n.band}`;
    const lines = [labelOf(g, i), `${KIND_LABELS[n.kind]} · ${band} · position ${n.ctx} ${quotedTokenText(tokens()[n.ctx] ?? "")}`];
    if (n.kind === FEATURE) lines.push(`feature ${n.feature} · activation ${formatNumber(n.activation)}`);
    if (n.kind === LOGIT) lines.push(`probability ${formatNumber(n.tokenProb)}${n.isTarget ? " (target)" : ""}`);
    if (Number.isFinite(n.influence)) lines.push(`cumulative influence ${formatNumber(n.influence)}`);
    lines.push(`${g.inputs[i].length} inputs · ${g.outputs[i].length} outputs`);
    return lines;
  };

  const select_ = (id: string): void => update({ selected: id === get("selected", "") ? "" : id });
  const togglePin = (id: string): void => {
    const pinned = get<string[]>("pinned", []);
    update({ pinned: pinned.includes(id) ? pinned.filter((p) => p !== id) : [...pinned, id] });
  };

  const drawToolbar = (): void => {
    const isLive = live();
    const thresholdRow = (name: string, key: string): HTMLElement => {
      const value = Number(get(key, 0.8));
      const input = doc.createElement("input");
      input.type = "range";
      input.name = name;
      input.min = "0.05";
      input.max = "1";
      input.step = "0.01";
      input.value = String(value);
      input.disabled = !isLive;
      const shown = doc.createElement("span");
      shown.textContent = value.toFixed(2);
      const send = (): void => {
        clearTimeout(timer);
        timer = undefined;
        if (Number(input.value) === Number(get(key, 0))) return;
        fr.note.textContent = "re-pruning in the kernel\u2026";
        update({ [key]: Number(input.value) });
      };
      input.addEventListener("input", () => {
        shown.textContent = Number(input.value).toFixed(2);
        clearTimeout(timer);
        timer = setTimeout(send, DEBOUNCE_MS);
      });
      input.addEventListener("change", send);
      const label = labelled(doc, name.replace("_", " "), input);
      label.append(" ", shown);
      return label;
    };
    const groupName = doc.createElement("input");
    groupName.type = "text";
    groupName.name = "supernode_name";
    groupName.placeholder = "supernode name";
    groupName.style.width = "110px";
    const group = button(doc, "group", () => {
      const supernodes = get<string[][]>("supernodes", []);
      const inGroup = new Set(supernodes.flatMap((s) => s.slice(1)));
      const ids = marked.size ? [...marked] : get<string[]>("pinned", []).filter((p) => !inGroup.has(p));
      if (ids.length < 2) {
        fr.note.textContent = "Shift-click two or more nodes (or pin them) to group them into a supernode.";
        return;
      }
      const name = groupName.value.trim() || `group ${supernodes.length + 1}`;
      marked.clear();
      update({ supernodes: groupNodes(supernodes, name, ids) });
    });
    group.className = "iw-cg-group";
    const exportJson = button(doc, "JSON", () => {
      if (!graph) return;
      const data = exportGraph(graph, {
        metadata: get("metadata", {}), labels: get("labels", {}), pinned: get("pinned", []),
        supernodes: get("supernodes", []), linkType: get<LinkType>("link_type", "both"), selected: get("selected", ""),
        nodeThreshold: Number(get("node_threshold", 0.8)), edgeThreshold: Number(get("edge_threshold", 0.98)),
      });
      download(doc, new Blob([JSON.stringify(data, null, 1)], { type: "application/json" }), "graph.json");
    });
    exportJson.className = "iw-cg-export-json";
    const png = button(doc, "PNG", () => {
      if (mainSvg) void svgToPng(mainSvg, fr.theme().background).then((b) => download(doc, b, "graph.png"));
    });
    const svg = button(doc, "SVG", () => {
      if (mainSvg) download(doc, new Blob([serialize(mainSvg)], { type: "image/svg+xml" }), "graph.svg");
    });
    const linkTypes: [string, string][] = [["both", "both"], ["input", "input"], ["output", "output"]];
    const items: HTMLElement[] = [
      labelled(doc, "links", select(doc, "link_type", linkTypes, get("link_type", "both"), (v) => update({ link_type: v }))),
      thresholdRow("node_threshold", "node_threshold"),
      thresholdRow("edge_threshold", "edge_threshold"),
      groupName, group, exportJson, png, svg,
    ];
    if (!isLive) items.push(div(doc, "iw-cg-static-note iw-caption", "static page: re-pruning and interventions need the kernel"));
    fr.toolbar.replaceChildren(...items);
  };

  const drawGraph = (g: CGraph): void => {
    const layout = layoutGraph(g, { top: 56 });
    const selectedId = get("selected", "");
    const selected = g.byId.get(selectedId) ?? -1;
    const linkType = get<LinkType>("link_type", "both");
    const pinned = new Set(get<string[]>("pinned", []));
    const grouped = new Set(get<string[][]>("supernodes", []).flatMap((s) => s.slice(1)));
    const theme = fr.theme();
    const svg = svgEl(doc, "svg", { width: layout.width, height: layout.height, viewBox: `0 0 ${layout.width} ${layout.height}`,
      class: "iw-cg-svg", "font-family": "sans-serif" });
    svg.append(svgEl(doc, "rect", { x: 0, y: 0, width: layout.width, height: layout.height, fill: theme.background }));
    const bands = bandLabels(g.nLayers);
    layout.rows.forEach((y, r) => {
      svg.append(svgEl(doc, "line", { x1: layout.left, x2: layout.width - 10, y1: y, y2: y, stroke: theme.border, "stroke-width": 0.5 }));
      svg.append(svgEl(doc, "text", { x: layout.left - 6, y: y + 4, "text-anchor": "end", "font-size": 10, fill: theme.foreground }, bands[r]));
    });
    const toks = tokens();
    const bottomY = layout.rows[0] + 20;
    layout.columns.forEach(([x0, x1], p) => {
      svg.append(svgEl(doc, "line", { x1: x0, x2: x0, y1: 8, y2: bottomY - 8, stroke: theme.border, "stroke-width": 0.5, "stroke-dasharray": "2 3" }));
      const label = svgEl(doc, "text", { x: 0, y: 0, "text-anchor": "end", "font-size": 10, fill: theme.foreground,
        transform: `translate(${((x0 + x1) / 2).toFixed(1)},${bottomY}) rotate(-40)` }, visibleTokenText(toks[p] ?? ""));
      svg.append(label);
    });
    const hi = highlightedLinks(g, selected, linkType);
    const neighbours = new Set<number>();
    for (const k of hi) {
      neighbours.add(g.links[k].source);
      neighbours.add(g.links[k].target);
    }
    const shown = visibleLinks(g, MAX_LINKS);
    const linkLayer = svgEl(doc, "g", { class: "iw-cg-links" });
    const ordered = selected >= 0 ? [...shown.filter((k) => !hi.has(k)), ...shown.filter((k) => hi.has(k))] : shown;
    for (const k of ordered) {
      const l = g.links[k];
      const dim = selected >= 0 && !hi.has(k);
      linkLayer.append(svgEl(doc, "line", {
        x1: layout.x[l.source], y1: layout.y[l.source], x2: layout.x[l.target], y2: layout.y[l.target],
        stroke: linkColor(l.weight, dim ? 0 : l.share), "stroke-width": linkWidth(l.weight, g.maxAbsWeight) * (dim ? 0.5 : 1),
        "stroke-opacity": dim ? 0.25 : 1, class: hi.has(k) ? "iw-cg-link iw-cg-hi" : "iw-cg-link",
      }));
    }
    svg.append(linkLayer);
    const nodeLayer = svgEl(doc, "g", { class: "iw-cg-nodes" });
    for (const n of g.nodes) {
      const isSel = n.index === selected;
      const r = nodeRadius(n);
      const faded = selected >= 0 && !isSel && !neighbours.has(n.index);
      const el = marker(doc, n.kind, layout.x[n.index], layout.y[n.index], r, {
        fill: nodeColor(n), stroke: isSel ? theme.accent : marked.has(n.id) ? "#c000c0" : pinned.has(n.id) ? theme.foreground : "#777",
        "stroke-width": isSel || marked.has(n.id) ? 2.5 : pinned.has(n.id) ? 1.8 : 0.6,
        "stroke-dasharray": grouped.has(n.id) ? "2 1.5" : "none", opacity: faded ? 0.35 : 1,
        class: `iw-cg-node${isSel ? " iw-cg-selected" : ""}${pinned.has(n.id) ? " iw-cg-pinned" : ""}`,
        "data-node-id": n.id, "data-kind": KIND_LABELS[n.kind],
      });
      el.addEventListener("mouseenter", (event) => fr.tooltip.show(describe(g, n.index), (event as MouseEvent).clientX, (event as MouseEvent).clientY));
      el.addEventListener("mouseleave", () => fr.tooltip.hide());
      el.addEventListener("click", (event) => {
        const e = event as MouseEvent;
        if (e.shiftKey || e.ctrlKey || e.metaKey) {
          if (marked.has(n.id)) marked.delete(n.id);
          else marked.add(n.id);
          draw();
        } else select_(n.id);
      });
      el.addEventListener("dblclick", () => togglePin(n.id));
      nodeLayer.append(el);
      if (n.kind === LOGIT) {
        const text = labelOf(g, n.index);
        const token = /^Output "(.*)" \(p=/s.exec(text)?.[1];
        nodeLayer.append(svgEl(doc, "text", { x: 0, y: 0, "text-anchor": "start", "font-size": 9, fill: theme.foreground,
          "pointer-events": "none", transform: `translate(${layout.x[n.index].toFixed(1)},${(layout.y[n.index] - r - 3).toFixed(1)}) rotate(-50)` },
        token !== undefined ? visibleTokenText(token) : text.slice(0, 16)));
      }
    }
    svg.append(nodeLayer);
    svg.dataset.nodes = String(g.nodes.length);
    svg.dataset.links = String(shown.length);
    svg.dataset.selected = selectedId;
    mainSvg = svg;
    graphBox.replaceChildren(svg);
    if (shown.length < g.links.length) {
      fr.note.textContent = `showing the ${shown.length} strongest of ${g.links.length} links`;
    }
  };

  const connectionList = (g: CGraph, list: { node: number; weight: number; share: number }[], className: string): HTMLElement => {
    const box = div(doc, `iw-cg-list ${className}`);
    for (const c of list) {
      const row = div(doc, "iw-cg-conn-row");
      row.dataset.nodeId = g.nodes[c.node].id;
      const swatch = doc.createElement("span");
      swatch.textContent = "\u25cf";
      swatch.style.color = nodeColor(g.nodes[c.node]);
      const text = doc.createElement("span");
      text.className = "t";
      text.textContent = labelOf(g, c.node);
      const w = doc.createElement("span");
      w.className = "w";
      w.textContent = `${formatNumber(c.weight)} (${Math.round(100 * c.share)}%)`;
      w.style.color = c.weight >= 0 ? "rgb(214, 96, 30)" : "rgb(40, 98, 190)";
      row.append(swatch, text, w);
      row.addEventListener("click", () => update({ selected: g.nodes[c.node].id }));
      box.append(row);
    }
    if (list.length === 0) box.append(div(doc, "iw-caption", "none"));
    return box;
  };

  const detailsPanel = (id: string): HTMLElement | null => {
    const d = get<Record<string, Details>>("details", {})[id];
    if (!d) return null;
    const box = div(doc, "iw-cg-details");
    const logits = (title: string, rows?: [string, number][]) => {
      if (!rows?.length) return;
      box.append(heading(doc, title));
      const table = doc.createElement("table");
      for (const [tok, v] of rows.slice(0, 10)) {
        const tr = doc.createElement("tr");
        const a = doc.createElement("td");
        a.textContent = visibleTokenText(String(tok));
        const b = doc.createElement("td");
        b.textContent = formatNumber(Number(v));
        tr.append(a, b);
        table.append(tr);
      }
      box.append(table);
    };
    logits("top logits", d.top_logits);
    logits("bottom logits", d.bottom_logits);
    if (d.top_contexts?.length) {
      box.append(heading(doc, "top activating contexts"));
      for (const ctx of d.top_contexts.slice(0, 8)) {
        const line = div(doc, "iw-cg-ctx");
        const max = ctx.max ?? Math.max(1e-9, ...ctx.values.map(Number));
        ctx.tokens.forEach((t, k) => {
          const span = doc.createElement("span");
          span.textContent = String(t).replace(/[\n\t\r]/g, (c) => visibleTokenText(c));
          const a = Math.max(0, Math.min(1, Number(ctx.values[k] ?? 0) / (max || 1)));
          span.style.background = `rgba(230, 120, 20, ${a.toFixed(2)})`;
          span.title = formatNumber(Number(ctx.values[k] ?? 0));
          line.append(span);
        });
        box.append(line);
      }
    }
    return box;
  };

  const interventionPanel = (g: CGraph, index: number): HTMLElement => {
    const box = div(doc, "iw-cg-intervene");
    box.append(heading(doc, "intervention"));
    const scale = doc.createElement("input");
    scale.type = "number";
    scale.name = "scale";
    scale.step = "0.5";
    scale.value = "0";
    scale.style.width = "60px";
    const run = button(doc, "scale feature", () => {
      model.send({ type: "intervene", node_id: g.nodes[index].id, scale: Number(scale.value) });
      fr.note.textContent = "running the intervention in the kernel\u2026";
    });
    run.className = "iw-cg-run";
    run.disabled = !live();
    scale.disabled = !live();
    box.append(labelled(doc, "scale by", scale), run);
    if (!live()) box.append(div(doc, "iw-caption", "static page: interventions need the kernel"));
    const result = get<Intervention>("intervention", {});
    if (result.node_id === g.nodes[index].id && result.top_logits) {
      const table = doc.createElement("table");
      table.className = "iw-cg-intervention-result";
      const head = doc.createElement("tr");
      for (const t of ["token", `\u00d7${formatNumber(Number(result.scale))}`, "baseline"]) {
        const th = doc.createElement("th");
        th.textContent = t;
        head.append(th);
      }
      table.append(head);
      const base = new Map((result.baseline ?? []).map(([t, p]) => [String(t), Number(p)]));
      for (const [tok, p] of result.top_logits.slice(0, 10)) {
        const tr = doc.createElement("tr");
        for (const text of [visibleTokenText(String(tok)), formatNumber(Number(p)),
          base.has(String(tok)) ? formatNumber(base.get(String(tok)) as number) : "\u2014"]) {
          const td = doc.createElement("td");
          td.textContent = text;
          tr.append(td);
        }
        table.append(tr);
      }
      box.append(table);
    }
    return box;
  };

  const drawSide = (g: CGraph): void => {
    const id = get("selected", "");
    const index = g.byId.get(id);
    if (index === undefined) {
      side.replaceChildren(div(doc, "iw-caption", "Click a node to see its connections; shift-click to mark nodes for a supernode; double-click to pin."));
      return;
    }
    const n = g.nodes[index];
    const header = div(doc, "iw-cg-header");
    header.append(...describe(g, index).map((line, k) => div(doc, k === 0 ? "iw-cg-title" : "iw-caption", line)));
    const label = doc.createElement("input");
    label.type = "text";
    label.name = "label";
    label.className = "iw-cg-label-input";
    label.value = get<Record<string, string>>("labels", {})[id] ?? n.clerp;
    label.addEventListener("change", () => {
      const labels = { ...get<Record<string, string>>("labels", {}) };
      if (label.value.trim()) labels[id] = label.value.trim();
      else delete labels[id];
      update({ labels });
    });
    const pin = button(doc, get<string[]>("pinned", []).includes(id) ? "unpin" : "pin", () => togglePin(id));
    pin.className = "iw-cg-pin";
    const linkType = get<LinkType>("link_type", "both");
    const conns = connections(g, index, linkType);
    const parts: HTMLElement[] = [header, labelled(doc, "label", label), pin];
    if (linkType !== "output") parts.push(heading(doc, `inputs (${conns.inputs.length})`), connectionList(g, conns.inputs, "iw-cg-inputs"));
    if (linkType !== "input") parts.push(heading(doc, `outputs (${conns.outputs.length})`), connectionList(g, conns.outputs, "iw-cg-outputs"));
    const details = detailsPanel(id);
    if (details) parts.push(details);
    if (n.kind === FEATURE || n.kind === ERROR) parts.push(interventionPanel(g, index));
    const connectionsBox = div(doc, "iw-cg-connections");
    connectionsBox.append(...parts);
    side.replaceChildren(connectionsBox);
  };

  const drawSubgraph = (g: CGraph): void => {
    const supernodes = get<string[][]>("supernodes", []);
    const width = Math.max(360, Math.min(900, graphBox.clientWidth || 600));
    const { items, edges, height } = subgraph(g, get<string[]>("pinned", []), supernodes, (i) => labelOf(g, i), width);
    if (items.length === 0) {
      sub.replaceChildren(div(doc, "iw-caption", "Subgraph: pin nodes (double-click or the pin button) or group them into supernodes to see them here."));
      return;
    }
    const theme = fr.theme();
    const svg = svgEl(doc, "svg", { width, height, class: "iw-cg-subgraph-svg", "font-family": "sans-serif" });
    svg.append(svgEl(doc, "rect", { x: 0, y: 0, width, height, fill: theme.background, stroke: theme.border }));
    const maxAbs = edges.reduce((m, e) => Math.max(m, Math.abs(e.weight)), 0);
    for (const e of edges) {
      const a = items[e.from];
      const b = items[e.to];
      svg.append(svgEl(doc, "line", { x1: a.x, y1: a.y, x2: b.x, y2: b.y, stroke: linkColor(e.weight, 0.8),
        "stroke-width": linkWidth(e.weight, maxAbs) * 1.5 }));
    }
    for (const it of items) {
      const node = g.nodes[it.members[0]];
      const el = it.supernode
        ? svgEl(doc, "rect", { x: it.x - 14, y: it.y - 10, width: 28, height: 20, rx: 6, fill: "hsl(30, 70%, 70%)", stroke: "#555" })
        : marker(doc, node.kind, it.x, it.y, 8, { fill: nodeColor(node), stroke: "#555" });
      el.setAttribute("class", "iw-cg-sub-item");
      el.setAttribute("data-key", it.key);
      el.addEventListener("click", () => update({ selected: g.nodes[it.members[0]].id }));
      el.addEventListener("mouseenter", (event) => fr.tooltip.show([it.label, ...it.members.slice(0, 12).map((m) => `\u2022 ${labelOf(g, m)}`)],
        (event as MouseEvent).clientX, (event as MouseEvent).clientY));
      el.addEventListener("mouseleave", () => fr.tooltip.hide());
      svg.append(el, svgEl(doc, "text", { x: it.x, y: it.y + 22, "text-anchor": "middle", "font-size": 10, fill: theme.foreground },
        `${it.label.slice(0, 28)}${it.supernode ? ` (${it.members.length})` : ""}`));
    }
    const controls = div(doc, "iw-cg-supernodes");
    for (const s of supernodes) {
      controls.append(button(doc, `ungroup \u201c${s[0]}\u201d`, () => update({ supernodes: supernodes.filter((x) => x !== s) })));
    }
    sub.replaceChildren(heading(doc, "subgraph (pinned nodes and supernodes)"), svg, controls);
  };

  const caption = div(doc, "iw-caption iw-cg-caption");
  fr.root.insertBefore(caption, fr.content);
  const draw = (): void => {
    const meta = get<Record<string, unknown>>("metadata", {});
    caption.textContent = [meta.prompt ? `prompt ${quotedTokenText(String(meta.prompt))}` : "", meta.scan ? `model ${meta.scan}` : "",
      graph ? `${graph.nodes.length} nodes, ${graph.links.length} links` : ""].filter(Boolean).join(" \u00b7 ");
    fr.note.textContent = get("status", "");
    drawToolbar();
    if (!graph) {
      graphBox.replaceChildren(div(doc, "iw-av-error", graphError));
      return;
    }
    drawGraph(graph);
    drawSide(graph);
    drawSubgraph(graph);
  };

  const onData = (): void => {
    rebuild();
    draw();
  };
  for (const key of ["nodes", "links", "node_ids"]) model.on(`change:${key}`, onData);
  const stop = redrawOn(fr, model, ["selected", "pinned", "link_type", "labels", "supernodes", "node_threshold",
    "edge_threshold", "details", "intervention", "status", "live"], draw);
  return () => {
    clearTimeout(timer);
    for (const key of ["nodes", "links", "node_ids"]) model.off(`change:${key}`, onData);
    stop();
  };
}
