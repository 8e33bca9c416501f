import { describe, expect, it } from "vitest";
import type { NdArray } from "../src/lib/arrays";
import { answerText, arrowHead, bestIndex, categoryColors, logTicks, modalAnswer, pairDifferences, pickModel, scalingSeries } from "../src/outputs/logic";

const nd = (shape: number[], values: number[]): NdArray => ({ shape, data: Float32Array.from(values) });

describe("output view logic", () => {
  it("colours categories in first-seen order", () => {
    const colors = categoryColors(["b", "a", "b", "c"]);
    expect([...colors.keys()]).toEqual(["b", "a", "c"]);
    expect(new Set(colors.values()).size).toBe(3);
    const many = categoryColors(Array.from({ length: 11 }, (_, i) => `f${i}`));
    expect(many.get("f10")).toBe(many.get("f0"));
  });

  it("selects a pair with two clicks", () => {
    expect(pickModel(-1, 3)).toEqual({ pending: 3 });
    expect(pickModel(3, 3)).toEqual({ pending: -1 });
    expect(pickModel(3, 1)).toEqual({ pending: -1, pair: [3, 1] });
  });

  it("reads a pair's listed texts from [K, K, m]", () => {
    // index [2, 2, 2]: value = 10 a + 5 b + j; diff = -index
    const values = [0, 1, 5, 6, 10, 11, 15, 16];
    const rows = pairDifferences(nd([2, 2, 2], values), nd([2, 2, 2], values.map((v) => -v)), 1, 0);
    expect(rows).toEqual([{ text: 10, diff: -10 }, { text: 11, diff: -11 }]);
    expect(pairDifferences(nd([2, 2, 2], values), nd([2, 2, 2], values), 2, 0)).toEqual([]);
  });
});

describe("compass logic", () => {
  const names = ["strongly disagree", "disagree", "agree", "strongly agree"];
  it("writes an answer distribution", () => {
    expect(answerText([0, 0, 1, 0], names)).toBe("agree");
    expect(answerText([0.25, 0, 0, 0.75], names)).toBe("strongly disagree 0.25, strongly agree 0.75");
    expect(answerText([NaN, NaN, NaN, NaN], names)).toBe("unknown");
  });

  it("puts the arrow head before the tip, pointing along the arrow", () => {
    const head = arrowHead(0, 0, 10, 0, 2, 3);
    expect(head?.[0]).toEqual([7, 0]);
    expect(head?.[1][0]).toBeCloseTo(5);
    expect(head?.[1][1]).toBeCloseTo(1);
    expect(head?.[2][1]).toBeCloseTo(-1);
    expect(arrowHead(0, 0, 1, 1, 2, 3)).toBeNull();
  });
});

describe("battery logic", () => {
  it("takes the modal answer of an item's runs", () => {
    expect(modalAnswer([2, 2, 1, 2, 0])).toEqual({ level: 2, agreement: 0.6 });
    expect(modalAnswer([3, 1, 1, 3])).toEqual({ level: 1, agreement: 0.5 }); // tie: the lower level
    expect(modalAnswer([0])).toEqual({ level: 0, agreement: 1 });
    const absent = modalAnswer([-1, -1]);
    expect(absent.level).toBe(-1);
    expect(absent.agreement).toBeNaN();
  });

  it("orders a scaling curve by size and drops unknown sizes and values", () => {
    const pts = scalingSeries([3e6, NaN, 1e5, 2e7, 0], [0.5, 0.1, -0.2, NaN, 0.3]);
    expect(pts).toEqual([{ index: 2, x: 1e5, y: -0.2 }, { index: 0, x: 3e6, y: 0.5 }]);
    expect(scalingSeries([], [])).toEqual([]);
  });

  it("puts log-axis ticks on the powers of ten inside the range", () => {
    expect(logTicks(3e4, 2e7)).toEqual([1e5, 1e6, 1e7]);
    expect(logTicks(1e6, 1e8)).toEqual([1e6, 1e7, 1e8]);
    expect(logTicks(2e6, 5e6)).toEqual([2e6, 5e6]);
    expect(logTicks(4, 4)).toEqual([4]);
    expect(logTicks(0, 10)).toEqual([]);
  });

  it("picks the best finite value", () => {
    expect(bestIndex([0.2, NaN, 0.7, 0.7])).toBe(2);
    expect(bestIndex([NaN])).toBe(-1);
  });
});
