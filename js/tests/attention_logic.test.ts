import { describe, expect, it } from "vitest";
import {
  aggregateUnits, buildUnits, denseFromTopK, edgesFromTopK, filterEdges, headOrder, passesPairFilter, pooledMax,
  selectCumulative,
} from "../src/attention/logic";
import { decodeReply } from "../src/attention/data";
import { queryScores } from "../src/attention/qk_view";

const nd = (shape: number[], values: number[]) => ({ shape, data: Float32Array.from(values) });

describe("attention edge logic", () => {
  // one head, 2 tokens, K = 2: row 0 -> [0: 1.0], row 1 -> [1: 0.7, 0: 0.3]
  const key = nd([1, 2, 2], [0, -1, 1, 0]);
  const weight = nd([1, 2, 2], [1, 0, 0.7, 0.3]);

  it("reads top-K slices and skips padding", () => {
    const e = edgesFromTopK(key, weight, [0]);
    expect(Array.from(e.q)).toEqual([0, 1, 1]);
    expect(Array.from(e.k)).toEqual([0, 1, 0]);
    expect(edgesFromTopK(key, weight, []).w.length).toBe(0);
  });

  it("keeps edges up to a cumulative share of each row", () => {
    const e = edgesFromTopK(key, weight, [0]);
    expect(selectCumulative(e, 0.5).w.length).toBe(2);
    expect(selectCumulative(e, 0.9).w.length).toBe(3);
    expect(selectCumulative(e, 1, 1).w.length).toBe(2);
  });

  it("aggregates to words: sum over key pieces, mean over query pieces", () => {
    const e = edgesFromTopK(key, weight, [0]);
    const words = aggregateUnits(e, [0, 0]);
    expect(words.w.length).toBe(1);
    expect(words.w[0]).toBeCloseTo(1.0);
  });

  it("filters sentence pairs and specials", () => {
    expect(passesPairFilter("A>B", 0, 1)).toBe(true);
    expect(passesPairFilter("A>B", 1, 0)).toBe(false);
    expect(passesPairFilter("all", 1, 0)).toBe(true);
    const e = edgesFromTopK(key, weight, [0]);
    expect(filterEdges(e, (q, k) => q !== k).w.length).toBe(1);
  });

  it("rebuilds dense rows and pools by block max", () => {
    const dense = denseFromTopK(key, weight, 0);
    expect(Array.from(dense.data)).toEqual([1, 0, Math.fround(0.3), Math.fround(0.7)]);
    const pooled = pooledMax(nd([4, 4], Array.from({ length: 16 }, (_, i) => i)), 2);
    expect(Array.from(pooled.data)).toEqual([5, 7, 13, 15]);
  });

  it("orders heads by entropy and builds word units", () => {
    expect(headOrder(nd([1, 3], [2, 0.5, 1]), 0, true)).toEqual([1, 2, 0]);
    const units = buildUnits(["[CLS]", "a", "##b", "[SEP]"], ["[CLS]", "ab", "[SEP]"], [0, 1, 1, 2], [true, false, false, true], [0, 0, 0, 1], true);
    expect(units.labels).toEqual(["[CLS]", "ab", "[SEP]"]);
    expect(units.firstToken).toEqual([0, 1, 3]);
    expect(units.special).toEqual([true, false, true]);
    expect(units.segment).toEqual([0, 0, 1]);
  });

  it("decodes slice replies and thumbnails (uint8)", () => {
    const reply = { type: "slice", key: "x", names: ["t"], arrays: { t: { dtype: "uint8" as const, shape: [1, 1, 2, 2], scale: 0.5, offset: 0 } } };
    const out = decodeReply(reply, [new Uint8Array([0, 1, 2, 3])]);
    expect(Array.from(out.t.data)).toEqual([0, 0.5, 1, 1.5]);
  });

  it("scores queries against keys with a causal mask", () => {
    const [scores, probs] = queryScores(Float32Array.from([1, 0, 0, 1]), Float32Array.from([1, 0, 0, 1]), 2, 0, true);
    expect(scores[1]).toBe(-Infinity);
    expect(probs[0]).toBeCloseTo(1);
  });
});
