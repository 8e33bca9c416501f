/**
 * Pure logic of the attention views: sparse edge lists, word aggregation,
 * cumulative-share selection (exBERT-style declutter), segment and special
 * filters, block-max pooling, head ordering. No DOM here.
 */

import type { NdArray } from "../lib/arrays";

/** Parallel arrays, one entry per edge: head, query unit, key unit, weight. */
export interface EdgeList {
  head: Int32Array;
  q: Int32Array;
  k: Int32Array;
  w: Float32Array;
}

export type PairFilter = "all" | "A>A" | "B>B" | "A>B" | "B>A";

export function emptyEdges(n = 0): EdgeList {
  return { head: new Int32Array(n), q: new Int32Array(n), k: new Int32Array(n), w: new Float32Array(n) };
}

function sliceEdges(e: EdgeList, n: number): EdgeList {
  return { head: e.head.slice(0, n), q: e.q.slice(0, n), k: e.k.slice(0, n), w: e.w.slice(0, n) };
}

/**
 * Edges of an `edges:{layer}` slice: `key` and `weight` are [head, T, K]
 * (key -1 pads short rows). Keeps only the heads in `heads`.
 */
export function edgesFromTopK(key: NdArray, weight: NdArray, heads: readonly number[]): EdgeList {
  const [H, T, K] = key.shape;
  const wanted = heads.filter((h) => h >= 0 && h < H);
  const out = emptyEdges(wanted.length * T * K);
  let n = 0;
  for (const h of wanted) {
    for (let q = 0; q < T; q++) {
      const base = (h * T + q) * K;
      for (let j = 0; j < K; j++) {
        const k = key.data[base + j];
        const w = weight.data[base + j];
        if (k < 0 || !(w > 0)) continue;
        out.head[n] = h;
        out.q[n] = q;
        out.k[n] = k;
        out.w[n] = w;
        n++;
      }
    }
  }
  return sliceEdges(out, n);
}

/** Dense [T, T] matrix of one head rebuilt from top-K edges (absent entries are 0). */
export function denseFromTopK(key: NdArray, weight: NdArray, head: number): NdArray {
  const [, T, K] = key.shape;
  const out = new Float32Array(T * T);
  for (let q = 0; q < T; q++) {
    const base = (head * T + q) * K;
    for (let j = 0; j < K; j++) {
      const k = key.data[base + j];
      if (k >= 0) out[q * T + k] = weight.data[base + j];
    }
  }
  return { shape: [T, T], data: out };
}

/**
 * Word-level edges: attention *to* a word sums over its pieces, attention
 * *from* a word is the mean over its pieces. `unitOf[t]` is the word of token t.
 */
export function aggregateUnits(edges: EdgeList, unitOf: readonly number[]): EdgeList {
  const size = new Map<number, number>();
  for (const u of unitOf) size.set(u, (size.get(u) ?? 0) + 1);
  const nUnits = unitOf.length === 0 ? 0 : Math.max(...unitOf) + 1;
  const sums = new Map<number, number>();
  for (let i = 0; i < edges.w.length; i++) {
    const uq = unitOf[edges.q[i]];
    const uk = unitOf[edges.k[i]];
    const id = (edges.head[i] * nUnits + uq) * nUnits + uk;
    sums.set(id, (sums.get(id) ?? 0) + edges.w[i] / (size.get(uq) ?? 1));
  }
  const out = emptyEdges(sums.size);
  let n = 0;
  for (const [id, w] of sums) {
    out.k[n] = id % nUnits;
    out.q[n] = Math.floor(id / nUnits) % nUnits;
    out.head[n] = Math.floor(id / (nUnits * nUnits));
    out.w[n] = w;
    n++;
  }
  return out;
}

/**
 * Keeps, per (head, query) row, the strongest edges until they make up
 * `threshold` of the row's attention (`rowMass`, default 1), and at most
 * `maxPerRow` edges. The edge that crosses the threshold is kept.
 */
export function selectCumulative(edges: EdgeList, threshold: number, maxPerRow = Infinity, rowMass = 1): EdgeList {
  const rows = new Map<number, number[]>();
  for (let i = 0; i < edges.w.length; i++) {
    const id = edges.head[i] * 2 ** 24 + edges.q[i];
    const list = rows.get(id);
    if (list) list.push(i);
    else rows.set(id, [i]);
  }
  const keep: number[] = [];
  for (const list of rows.values()) {
    list.sort((a, b) => edges.w[b] - edges.w[a]);
    let total = 0;
    for (let j = 0; j < list.length && j < maxPerRow; j++) {
      if (total >= threshold * rowMass) break;
      keep.push(list[j]);
      total += edges.w[list[j]];
    }
  }
  keep.sort((a, b) => a - b);
  const out = emptyEdges(keep.length);
  keep.forEach((i, n) => {
    out.head[n] = edges.head[i];
    out.q[n] = edges.q[i];
    out.k[n] = edges.k[i];
    out.w[n] = edges.w[i];
  });
  return out;
}

/** Keeps the edges for which `keep(q, k)` holds. */
export function filterEdges(edges: EdgeList, keep: (q: number, k: number) => boolean): EdgeList {
  const out = emptyEdges(edges.w.length);
  let n = 0;
  for (let i = 0; i < edges.w.length; i++) {
    if (!keep(edges.q[i], edges.k[i])) continue;
    out.head[n] = edges.head[i];
    out.q[n] = edges.q[i];
    out.k[n] = edges.k[i];
    out.w[n] = edges.w[i];
    n++;
  }
  return sliceEdges(out, n);
}

/** Whether an edge from a unit in segment `sq` to one in `sk` passes the sentence-pair filter. */
export function passesPairFilter(filter: PairFilter, sq: number, sk: number): boolean {
  if (filter === "all") return true;
  const seg = (c: string) => (c === "A" ? 0 : 1);
  return sq === seg(filter[0]) && sk === seg(filter[2]);
}

/** Block-max pooling of a [rows, cols] matrix to at most size × size. */
export function pooledMax(m: NdArray, size: number): NdArray {
  const [rows, cols] = m.shape;
  const r = Math.min(rows, size);
  const c = Math.min(cols, size);
  const out = new Float32Array(r * c).fill(-Infinity);
  for (let i = 0; i < rows; i++) {
    const oi = Math.floor((i * r) / rows);
    for (let j = 0; j < cols; j++) {
      const oj = Math.floor((j * c) / cols);
      const v = m.data[i * cols + j];
      if (v > out[oi * c + oj]) out[oi * c + oj] = v;
    }
  }
  return { shape: [r, c], data: out };
}

/** Head order within each layer: by index, or by ascending entropy ([L, H] values). */
export function headOrder(entropy: NdArray, layer: number, byEntropy: boolean): number[] {
  const H = entropy.shape[1];
  const heads = Array.from({ length: H }, (_, h) => h);
  if (!byEntropy) return heads;
  return heads.sort((a, b) => entropy.data[layer * H + a] - entropy.data[layer * H + b]);
}

/** Units shown: tokens, or words when `wordLevel`. */
export interface Units {
  labels: string[];
  /** unit of each token */
  unitOf: number[];
  /** first token of each unit */
  firstToken: number[];
  special: boolean[];
  segment: number[];
}

export function buildUnits(
  tokens: readonly string[],
  words: readonly string[],
  tokenToWord: readonly number[],
  isSpecial: readonly boolean[],
  segments: readonly number[],
  wordLevel: boolean,
): Units {
  const unitOf = wordLevel && tokenToWord.length === tokens.length ? [...tokenToWord] : tokens.map((_, i) => i);
  const labels = wordLevel && tokenToWord.length === tokens.length ? [...words] : [...tokens];
  const firstToken = labels.map(() => -1);
  const special = labels.map(() => false);
  const segment = labels.map(() => 0);
  unitOf.forEach((u, t) => {
    if (firstToken[u] < 0) {
      firstToken[u] = t;
      segment[u] = segments[t] ?? 0;
    }
    if (isSpecial[t]) special[u] = true;
  });
  return { labels, unitOf, firstToken, special, segment };
}

const PALETTE = [
  "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
  "#e377c2", "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#ad494a",
];

/** One colour per head (categorical; golden-angle hues beyond 12 heads). */
export function headColor(head: number): string {
  if (head < PALETTE.length) return PALETTE[head];
  return `hsl(${Math.round((head * 137.508) % 360)}, 65%, 45%)`;
}

/**
 * Whether the head view draws edge q→k while `hover` is under the pointer on
 * `side` ("q": the query column, "k": the key column; -1 or "" = no hover).
 */
export function edgeShown(q: number, k: number, hover: number, side: string): boolean {
  if (hover < 0) return true;
  if (side === "q") return q === hover;
  if (side === "k") return k === hover;
  return true;
}
