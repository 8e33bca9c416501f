/** Pure logic of the hidden-state views (logit lens, patching, generation): no DOM. */

import type { NdArray } from "../lib/arrays";

export interface Alternative {
  token: string;
  prob: number;
}

/**
 * The top-k (token, probability) pairs of one cell: `probs` and `index` are [..., k] with the
 * leading axes flattened to `cell`; `index` holds indices into `vocab`.
 */
export function alternatives(probs: NdArray, index: NdArray, vocab: readonly string[], cell: number): Alternative[] {
  const k = probs.shape[probs.shape.length - 1] ?? 0;
  const out: Alternative[] = [];
  for (let j = 0; j < k; j++) {
    const i = Math.round(index.data[cell * k + j]);
    out.push({ token: vocab[i] ?? `<${i}>`, prob: probs.data[cell * k + j] });
  }
  return out;
}

/** Rank curves of the watched tokens at `position`: ranks [stage, pos, watched] -> one [stage] series per watched token. */
export function rankSeries(ranks: NdArray, position: number): Float32Array[] {
  const [S, P, W] = ranks.shape;
  if (!S || !W || position < 0 || position >= P) return [];
  return Array.from({ length: W }, (_, w) => {
    const out = new Float32Array(S);
    for (let s = 0; s < S; s++) out[s] = ranks.data[(s * P + position) * W + w];
    return out;
  });
}

/** The [layer, width] matrix of kind `k` out of the NaN-padded scores [kind, layer, max width]. */
export function kindMatrix(scores: NdArray, k: number, width: number): Float32Array {
  const [K, L, C] = scores.shape;
  if (k < 0 || k >= K || width > C) throw new RangeError(`no kind ${k} of width ${width} in scores of shape [${scores.shape.join(", ")}]`);
  const out = new Float32Array(L * width);
  for (let l = 0; l < L; l++) out.set(scores.data.subarray((k * L + l) * C, (k * L + l) * C + width), l * width);
  return out;
}

/** Largest finite |value| (1 when there is none or all are 0), the half-range of a diverging scale. */
export function maxAbs(values: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < values.length; i++) if (Number.isFinite(values[i])) m = Math.max(m, Math.abs(values[i]));
  return m || 1;
}

/**
 * The relevance of the prefix of generated step `step`, or null when what the kernel sent
 * does not belong to it: `relevance` must have `nPrompt + step` entries and `relevanceStep`
 * must equal `step`.
 */
export function prefixRelevance(relevance: Float32Array | null, relevanceStep: number, nPrompt: number, step: number): Float32Array | null {
  if (!relevance || step < 0 || relevanceStep !== step || relevance.length !== nPrompt + step) return null;
  return relevance;
}

/** Cell label for a patched component: "L3 · pos 5 'cat'/'dog'" or "L3 · head 2". */
export function componentLabel(layer: number, column: number, axis: string, clean?: string, corrupted?: string): string {
  if (axis !== "position") return `L${layer} \u00b7 head ${column}`;
  const c = JSON.stringify(clean ?? "");
  const r = JSON.stringify(corrupted ?? "");
  return `L${layer} \u00b7 position ${column} ${c === r ? c : `${c} (corrupted ${r})`}`;
}
