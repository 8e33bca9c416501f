import { describe, expect, it } from "vitest";
import { alternatives, componentLabel, kindMatrix, maxAbs, prefixRelevance, rankSeries } from "../src/hidden/logic";
import type { NdArray } from "../src/lib/arrays";
import generationView from "../src/generation_view";
import logitLensView from "../src/logit_lens_view";
import { FakeModel, float32Payload } from "./helpers";

const nd = (shape: number[], values: number[]): NdArray => ({ shape, data: Float32Array.from(values) });

describe("hidden view logic", () => {
  it("reads a cell's top-k through the vocabulary index", () => {
    const probs = nd([2, 2], [0.7, 0.2, 0.5, 0.4]);
    const index = nd([2, 2], [1, 0, 2, 1]);
    expect(alternatives(probs, index, ["a", "b", "c"], 1)).toEqual([
      { token: "c", prob: 0.5 },
      { token: "b", prob: expect.closeTo(0.4, 6) },
    ]);
    expect(alternatives(probs, nd([2, 2], [9, 0, 0, 0]), ["a"], 0)[0].token).toBe("<9>");
  });

  it("takes one rank curve per watched token at a position", () => {
    // ranks [stage=3, pos=2, watched=2]: value = 100 s + 10 p + w
    const values: number[] = [];
    for (let s = 0; s < 3; s++) for (let p = 0; p < 2; p++) for (let w = 0; w < 2; w++) values.push(100 * s + 10 * p + w);
    const series = rankSeries(nd([3, 2, 2], values), 1);
    expect(series.map((s) => Array.from(s))).toEqual([[10, 110, 210], [11, 111, 211]]);
    expect(rankSeries(nd([3, 2, 2], values), 2)).toEqual([]);
    expect(rankSeries(nd([3, 2, 0], []), 0)).toEqual([]);
  });

  it("unpads one kind's matrix from the packed scores", () => {
    const scores = nd([2, 2, 3], [1, 2, 3, 4, 5, 6, 7, 8, NaN, 9, 10, NaN]);
    expect(Array.from(kindMatrix(scores, 0, 3))).toEqual([1, 2, 3, 4, 5, 6]);
    expect(Array.from(kindMatrix(scores, 1, 2))).toEqual([7, 8, 9, 10]);
    expect(() => kindMatrix(scores, 2, 1)).toThrow(RangeError);
    expect(() => kindMatrix(scores, 0, 4)).toThrow(RangeError);
  });

  it("centres the diverging range on the largest finite magnitude", () => {
    expect(maxAbs([0.5, -2, NaN, 1])).toBe(2);
    expect(maxAbs([0, 0])).toBe(1);
    expect(maxAbs([])).toBe(1);
  });

  it("keeps relevance only when it belongs to the selected step", () => {
    const r = Float32Array.from([1, 2, 3, 4]);
    expect(prefixRelevance(r, 1, 3, 1)).toBe(r);
    expect(prefixRelevance(r, 2, 3, 1)).toBeNull();
    expect(prefixRelevance(r, 1, 3, 2)).toBeNull();
    expect(prefixRelevance(null, 1, 3, 1)).toBeNull();
    expect(prefixRelevance(r, -1, 4, -1)).toBeNull();
  });

  it("names patched components", () => {
    expect(componentLabel(2, 1, "head")).toBe("L2 \u00b7 head 1");
    expect(componentLabel(0, 3, "position", " cat", " cat")).toBe('L0 \u00b7 position 3 " cat"');
    expect(componentLabel(0, 3, "position", " cat", " dog")).toBe('L0 \u00b7 position 3 " cat" (corrupted " dog")');
  });
});

describe("hidden views in a DOM", () => {
  it("draws the logit-lens grid and selects a column on click", () => {
    const model = new FakeModel({
      tokens: ["<b>", " x"], stages: ["L0 pre", "L0 post"], depth: [0, 1], vocab: ["a", "<img>"], watch_tokens: [],
      title: "t", position: 1, error: "",
      topk_probs: float32Payload([0.9, 0.1, 0.6, 0.3, 0.5, 0.5, 0.2, 0.1], [2, 2, 2]),
      topk_index: float32Payload([0, 1, 1, 0, 0, 1, 1, 0], [2, 2, 2]),
      entropy: float32Payload([1, 2, 3, 4], [2, 2]),
      watch_ranks: float32Payload([], [2, 2, 0]), watch_probs: float32Payload([], [2, 2, 0]),
    });
    const el = document.createElement("div");
    const cleanup = logitLensView.render({ model, el });
    const cells = el.querySelectorAll<HTMLElement>(".iw-ll-cell");
    expect(cells.length).toBe(4);
    expect(el.querySelector("img")).toBeNull();
    const top = Array.from(cells).find((c) => c.dataset.stage === "1" && c.dataset.pos === "0");
    expect(top?.textContent).toBe("a");
    expect(el.querySelectorAll(".iw-ll-selected").length).toBe(3);  // header + 2 stages of column 1
    top?.click();
    expect(model.state.position).toBe(0);
    expect(el.querySelector<HTMLElement>(".iw-ll-grid")?.dataset.position).toBe("0");
    cleanup();
    expect(model.listenerCount()).toBe(0);
  });

  it("colours generated tokens, asks for a click's attribution and draws what comes back", () => {
    const model = new FakeModel({
      prompt_tokens: ["To", " be"], tokens: [" or", " not"], vocab: [" or", " not"], title: "g", method: "gradient_x_input",
      probs: float32Payload([0.8, 0.3]), entropy: float32Payload([1, 2]),
      topk_probs: float32Payload([0.8, 0.1, 0.3, 0.2], [2, 2]), topk_index: float32Payload([0, 1, 1, 0], [2, 2]),
      selected: -1, relevance: null, relevance_step: -1, error: "",
    });
    const el = document.createElement("div");
    const cleanup = generationView.render({ model, el });
    expect(el.querySelectorAll(".iw-gen-prompt").length).toBe(2);
    const generated = el.querySelectorAll<HTMLElement>(".iw-gen-token");
    expect(generated.length).toBe(2);
    expect(generated[0].style.background).not.toBe("");
    generated[1].click();
    expect(model.state.selected).toBe(1);
    const strip = el.querySelector<HTMLElement>(".iw-gen-relevance");
    expect(strip?.hidden).toBe(true);
    model.set("relevance", float32Payload([0.5, -1, 0.2]));
    model.set("relevance_step", 1);
    expect(strip?.hidden).toBe(false);
    expect(strip?.querySelectorAll(".iw-token").length).toBe(3);
    expect(strip?.dataset.step).toBe("1");
    cleanup();
    expect(model.listenerCount()).toBe(0);
  });
});
