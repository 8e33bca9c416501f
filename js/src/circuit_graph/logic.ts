/**
 * Pure logic of the circuit-graph view: the graph from its payload, the layout (token positions on
 * x, layer bands Emb .. Lgt on y), node and link scales, connections of a node, the subgraph of
 * pinned nodes and supernodes with a layered layout, and the exported graph JSON.
 */

import type { NdArray } from "../lib/arrays";

export const EMBEDDING = 0;
export const FEATURE = 1;
export const ERROR = 2;
export const LOGIT = 3;
export const TYPE_NAMES = ["embedding", "cross layer transcoder", "mlp reconstruction error", "logit"];
export const KIND_LABELS = ["token", "feature", "error", "logit"];
export type LinkType = "input" | "output" | "both";

export interface CGNode {
  index: number;
  id: string;
  /** -1 = embeddings, 0 .. nLayers-1 = transcoder layers, nLayers = logits. */
  band: number;
  ctx: number;
  kind: number;
  influence: number;
  activation: number;
  tokenProb: number;
  feature: number;
  isTarget: boolean;
  clerp: string;
}

export interface CGLink {
  index: number;
  source: number;
  target: number;
  weight: number;
  /** weight / Σ|weights| into the target (signed share of its input). */
  share: number;
}

export interface CGraph {
  nodes: CGNode[];
  links: CGLink[];
  inputs: CGLink[][];
  outputs: CGLink[][];
  byId: Map<string, number>;
  nLayers: number;
  nCtx: number;
  maxAbsWeight: number;
}

/** The graph from the payload columns (nodes [N, 8], links [E, 3]; see circuit_graph.py). */
export function buildGraph(nodes: NdArray, links: NdArray, ids: readonly string[], clerps: readonly string[],
  nLayers: number, nCtx: number): CGraph {
  const n = nodes.shape[0] ?? 0;
  const c = nodes.shape[1] ?? 8;
  if (ids.length !== n) throw new RangeError(`${ids.length} node ids for ${n} nodes`);
  const d = nodes.data;
  const list: CGNode[] = [];
  for (let i = 0; i < n; i++) {
    const r = i * c;
    list.push({ index: i, id: ids[i], band: d[r], ctx: d[r + 1], kind: d[r + 2], influence: d[r + 3],
      activation: d[r + 4], tokenProb: d[r + 5], feature: d[r + 6], isTarget: d[r + 7] > 0, clerp: clerps[i] ?? "" });
  }
  const e = links.shape[0] ?? 0;
  const inputs: CGLink[][] = list.map(() => []);
  const outputs: CGLink[][] = list.map(() => []);
  const linkList: CGLink[] = [];
  const inAbs = new Float64Array(n);
  let maxAbs = 0;
  for (let k = 0; k < e; k++) {
    const [s, t, w] = [links.data[3 * k], links.data[3 * k + 1], links.data[3 * k + 2]];
    if (!(s >= 0 && s < n && t >= 0 && t < n)) throw new RangeError(`link ${k} joins nodes ${s} -> ${t}, outside 0..${n - 1}`);
    const link = { index: k, source: s, target: t, weight: w, share: 0 };
    linkList.push(link);
    inputs[t].push(link);
    outputs[s].push(link);
    inAbs[t] += Math.abs(w);
    maxAbs = Math.max(maxAbs, Math.abs(w));
  }
  for (const link of linkList) link.share = inAbs[link.target] > 0 ? link.weight / inAbs[link.target] : 0;
  const byAbs = (a: CGLink, b: CGLink) => Math.abs(b.weight) - Math.abs(a.weight) || a.index - b.index;
  inputs.forEach((l) => l.sort(byAbs));
  outputs.forEach((l) => l.sort(byAbs));
  let ctxMax = nCtx;
  for (const node of list) ctxMax = Math.max(ctxMax, node.ctx + 1);
  return { nodes: list, links: linkList, inputs, outputs, byId: new Map(ids.map((id, i) => [id, i])), nLayers,
    nCtx: ctxMax, maxAbsWeight: maxAbs };
}

/** Row labels bottom to top: Emb, 0 .. nLayers-1, Lgt. */
export function bandLabels(nLayers: number): string[] {
  return ["Emb", ...Array.from({ length: nLayers }, (_, l) => `L${l}`), "Lgt"];
}

/** Importance in [0, 1] from the cumulative influence (smaller influence = kept earlier = larger node). */
export function importance(node: CGNode): number {
  if (node.kind === LOGIT) return Math.min(1, Math.max(0.3, node.tokenProb));
  if (!Number.isFinite(node.influence)) return 0.5;
  return 1 - Math.min(1, Math.max(0, node.influence));
}

export function nodeRadius(node: CGNode): number {
  return 3 + 5 * Math.sqrt(importance(node));
}

/** Fill colour by type, lighter for less important nodes. */
export function nodeColor(node: CGNode): string {
  const t = importance(node);
  if (node.kind === EMBEDDING) return `hsl(0, 0%, ${Math.round(70 - 25 * t)}%)`;
  if (node.kind === LOGIT) return `hsl(140, 55%, ${Math.round(72 - 35 * t)}%)`;
  if (node.kind === ERROR) return `hsl(280, 30%, ${Math.round(80 - 30 * t)}%)`;
  return `hsl(30, 85%, ${Math.round(80 - 40 * t)}%)`;
}

/** Link stroke width, sqrt-scaled by |weight| / max |weight|. */
export function linkWidth(weight: number, maxAbs: number): number {
  return maxAbs > 0 ? 0.4 + 3.6 * Math.sqrt(Math.min(1, Math.abs(weight) / maxAbs)) : 0.4;
}

/** Link colour by sign (red-orange positive, blue negative), opacity by share of the target's input. */
export function linkColor(weight: number, share: number): string {
  const alpha = (0.12 + 0.88 * Math.min(1, Math.abs(share))).toFixed(3);
  return weight >= 0 ? `rgba(214, 96, 30, ${alpha})` : `rgba(40, 98, 190, ${alpha})`;
}

export interface Layout {
  width: number;
  height: number;
  x: Float64Array;
  y: Float64Array;
  /** Per token position: left edge, right edge. */
  columns: [number, number][];
  /** Per band (Emb first): centre y. */
  rows: number[];
  left: number;
}

export interface LayoutOptions {
  left?: number;
  top?: number;
  bottom?: number;
  rowHeight?: number;
  slot?: number;
  minColumn?: number;
}

/**
 * Node positions: each token position is a column as wide as its most crowded band needs (`slot`
 * per node); nodes of one (band, position) cell sit side by side, most important first.
 */
export function layoutGraph(g: CGraph, opts: LayoutOptions = {}): Layout {
  const { left = 44, top = 14, bottom = 70, rowHeight = 34, slot = 16, minColumn = 40 } = opts;
  const nRows = g.nLayers + 2;
  const cells = new Map<string, CGNode[]>();
  for (const node of g.nodes) {
    const key = `${node.band + 1}:${node.ctx}`;
    cells.set(key, [...(cells.get(key) ?? []), node]);
  }
  const widest = new Array(g.nCtx).fill(0);
  for (const [key, list] of cells) {
    const ctx = Number(key.split(":")[1]);
    widest[ctx] = Math.max(widest[ctx], list.length);
  }
  const columns: [number, number][] = [];
  let x = left;
  for (let p = 0; p < g.nCtx; p++) {
    const w = Math.max(minColumn, widest[p] * slot + 8);
    columns.push([x, x + w]);
    x += w;
  }
  const rows = Array.from({ length: nRows }, (_, r) => top + (nRows - 1 - r + 0.5) * rowHeight);
  const xs = new Float64Array(g.nodes.length);
  const ys = new Float64Array(g.nodes.length);
  for (const [key, list] of cells) {
    const [row, ctx] = key.split(":").map(Number);
    list.sort((a, b) => importance(b) - importance(a) || a.index - b.index);
    const [x0, x1] = columns[ctx];
    const start = (x0 + x1) / 2 - ((list.length - 1) * slot) / 2;
    list.forEach((node, k) => {
      xs[node.index] = start + k * slot;
      ys[node.index] = rows[Math.min(nRows - 1, Math.max(0, row))];
    });
  }
  return { width: x + 10, height: top + nRows * rowHeight + bottom, x: xs, y: ys, columns, rows, left };
}

/** Indices of the `max` strongest links (all when fewer), strongest last (drawn on top). */
export function visibleLinks(g: CGraph, max: number): number[] {
  const order = g.links.map((l) => l.index).sort((a, b) => Math.abs(g.links[a].weight) - Math.abs(g.links[b].weight) || a - b);
  return order.slice(Math.max(0, order.length - max));
}

/** Links highlighted for a selected node under a link type. */
export function highlightedLinks(g: CGraph, selected: number, linkType: LinkType): Set<number> {
  const out = new Set<number>();
  if (selected < 0) return out;
  if (linkType !== "output") for (const l of g.inputs[selected]) out.add(l.index);
  if (linkType !== "input") for (const l of g.outputs[selected]) out.add(l.index);
  return out;
}

export interface Connection {
  node: number;
  weight: number;
  share: number;
}

/** Inputs and outputs of `index` sorted by |weight| (largest first), as the link type allows. */
export function connections(g: CGraph, index: number, linkType: LinkType): { inputs: Connection[]; outputs: Connection[] } {
  const inputs = linkType === "output" ? [] : g.inputs[index].map((l) => ({ node: l.source, weight: l.weight, share: l.share }));
  const outputs = linkType === "input" ? [] : g.outputs[index].map((l) => ({ node: l.target, weight: l.weight, share: l.share }));
  return { inputs, outputs };
}

export interface SubItem {
  key: string;
  label: string;
  members: number[];
  supernode: boolean;
  rank: number;
  x: number;
  y: number;
}

export interface SubEdge {
  from: number;
  to: number;
  weight: number;
}

function meanBand(g: CGraph, members: number[]): number {
  return members.reduce((s, m) => s + g.nodes[m].band + g.nodes[m].ctx * 1e-3, 0) / members.length;
}

/**
 * The subgraph of supernodes and pinned nodes outside them: edges sum the links between members
 * of different items; ranks are longest paths from the sources (edges that go down in mean band
 * are ignored, so the ranking never cycles); items of a rank are ordered by the mean x of their
 * predecessors, then spread over `width`; rank 0 is at the bottom.
 */
export function subgraph(g: CGraph, pinned: readonly string[], supernodes: readonly string[][],
  labelOf: (index: number) => string, width: number, rowHeight = 60): { items: SubItem[]; edges: SubEdge[]; height: number } {
  const items: SubItem[] = [];
  const owner = new Map<number, number>();
  for (const [name, ...ids] of supernodes) {
    const members = ids.map((id) => g.byId.get(id)).filter((i): i is number => i !== undefined);
    if (members.length === 0) continue;
    members.forEach((m) => owner.set(m, items.length));
    items.push({ key: `sn:${name}`, label: name, members, supernode: true, rank: 0, x: 0, y: 0 });
  }
  for (const id of pinned) {
    const i = g.byId.get(id);
    if (i === undefined || owner.has(i)) continue;
    owner.set(i, items.length);
    items.push({ key: id, label: labelOf(i), members: [i], supernode: false, rank: 0, x: 0, y: 0 });
  }
  const sums = new Map<string, number>();
  for (const link of g.links) {
    const a = owner.get(link.source);
    const b = owner.get(link.target);
    if (a === undefined || b === undefined || a === b) continue;
    sums.set(`${a}>${b}`, (sums.get(`${a}>${b}`) ?? 0) + link.weight);
  }
  const edges: SubEdge[] = [...sums].map(([key, weight]) => {
    const [from, to] = key.split(">").map(Number);
    return { from, to, weight };
  });
  const level = items.map((it) => meanBand(g, it.members));
  const order = items.map((_, i) => i).sort((a, b) => level[a] - level[b] || a - b);
  const forward = edges.filter((e) => level[e.from] < level[e.to]);
  for (const i of order) {
    for (const e of forward) if (e.to === i) items[i].rank = Math.max(items[i].rank, items[e.from].rank + 1);
  }
  const nRanks = items.reduce((m, it) => Math.max(m, it.rank + 1), 0);
  const height = Math.max(1, nRanks) * rowHeight + 20;
  for (let r = 0; r < nRanks; r++) {
    const inRank = order.filter((i) => items[i].rank === r);
    const key = (i: number) => {
      const preds = forward.filter((e) => e.to === i).map((e) => items[e.from].x);
      return preds.length ? preds.reduce((s, v) => s + v, 0) / preds.length : level[i];
    };
    const keys = new Map(inRank.map((i) => [i, key(i)]));
    inRank.sort((a, b) => (keys.get(a) ?? 0) - (keys.get(b) ?? 0) || a - b);
    inRank.forEach((i, k) => {
      items[i].x = ((k + 0.5) / inRank.length) * width;
      items[i].y = height - 10 - (r + 0.5) * rowHeight;
    });
  }
  return { items, edges, height };
}

/** A new supernode list with `ids` grouped under `name` (taken out of any other supernode). */
export function groupNodes(supernodes: readonly string[][], name: string, ids: readonly string[]): string[][] {
  const take = new Set(ids);
  const rest = supernodes.map(([n, ...m]) => [n, ...m.filter((id) => !take.has(id))]).filter((s) => s.length > 1);
  return ids.length ? [...rest, [name, ...ids]] : rest;
}

export interface ExportState {
  metadata: Record<string, unknown>;
  labels: Record<string, string>;
  pinned: string[];
  supernodes: string[][];
  linkType: LinkType;
  selected: string;
  nodeThreshold: number;
  edgeThreshold: number;
}

const finite = (v: number): number | null => (Number.isFinite(v) ? v : null);

/** The shown graph in the circuit-tracer / Neuronpedia schema with labels, pins and supernodes. */
export function exportGraph(g: CGraph, s: ExportState): Record<string, unknown> {
  const nodes = g.nodes.map((n) => ({
    node_id: n.id,
    feature: n.feature,
    layer: n.kind === EMBEDDING ? "E" : n.kind === LOGIT ? String(g.nLayers + 1) : String(n.band),
    ctx_idx: n.ctx,
    feature_type: TYPE_NAMES[n.kind] ?? "cross layer transcoder",
    token_prob: n.tokenProb,
    is_target_logit: n.isTarget,
    clerp: s.labels[n.id] ?? n.clerp,
    influence: finite(n.influence),
    activation: finite(n.activation),
  }));
  const links = g.links.map((l) => ({ source: g.nodes[l.source].id, target: g.nodes[l.target].id, weight: l.weight }));
  return {
    metadata: { ...s.metadata, node_threshold: s.nodeThreshold, edge_threshold: s.edgeThreshold },
    qParams: { pinnedIds: [...s.pinned], supernodes: s.supernodes.map((x) => [...x]), linkType: s.linkType,
      clickedId: s.selected },
    nodes,
    links,
  };
}
