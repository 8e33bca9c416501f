import { describe, expect, it } from "vitest";
import { divergingScale, rgbToCss } from "../src/lib/colors";
import type { NdArray } from "../src/lib/arrays";
import { faithSeries, maxAbs, prefixLength, rowLimits, stepMatrix, stepRow, tokenStyle, topIndices } from "../src/relevance/logic";

const nd = (shape: number[], values: number[]): NdArray => ({ shape, data: Float32Array.from(values) });

describe("relevance view logic", () => {
  it("takes the largest finite |value|, 1 when there is none", () => {
    expect(maxAbs([1, -3, 2])).toBe(3);
    expect(maxAbs([NaN, -0.5, Infinity])).toBe(0.5);
    expect(maxAbs([0, 0])).toBe(1);
    expect(maxAbs([])).toBe(1);
  });

  it("normalises rows by their own or a shared limit", () => {
    const m = [1, -2, NaN, 0.5, 0.25, -0.1];
    expect(rowLimits(m, 2, 3, "row")).toEqual([2, 0.5]);
    expect(rowLimits(m, 2, 3, "shared")).toEqual([2, 2]);
    expect(rowLimits([0, 0, 4, NaN], 2, 2, "row")).toEqual([1, 4]);
  });

  it("colours zero neutral, the limits at the scale ends, NaN as none", () => {
    const scale = divergingScale(2);
    expect(tokenStyle(0, 2)?.background).toBe(rgbToCss([247, 247, 247]));
    expect(tokenStyle(2, 2)?.background).toBe(scale.color(2));
    expect(tokenStyle(2, 2)?.rgb).toEqual([181, 48, 44]);
    expect(tokenStyle(-2, 2)?.rgb).toEqual([42, 92, 170]);
    expect(tokenStyle(-5, 2)?.rgb).toEqual([42, 92, 170]); // clamped
    expect(tokenStyle(NaN, 2)).toBeNull();
    expect(tokenStyle(2, 2)?.color).toBe("#ffffff");
    expect(tokenStyle(0, 2)?.color).toBe("#111111");
    // the same value is paler under a larger (shared) limit than under its row's own
    const own = tokenStyle(0.5, 0.5)!.rgb;
    const shared = tokenStyle(0.5, 2)!.rgb;
    expect(own[1]).toBeLessThan(shared[1]);
  });

  it("slices steps and rows of [S, M, T] scores", () => {
    const s = nd([2, 2, 3], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(Array.from(stepRow(s, 1, 0))).toEqual([6, 7, 8]);
    expect(Array.from(stepMatrix(s, 1))).toEqual([6, 7, 8, 9, 10, 11]);
  });

  it("reads the prompt plus the tokens generated so far", () => {
    expect(prefixLength(4, 0, 7, 3)).toBe(4);
    expect(prefixLength(4, 2, 7, 3)).toBe(6);
    expect(prefixLength(5, 0, 5, 1)).toBe(5);
    expect(prefixLength(4, 0, 5, 1)).toBe(4); // one generated token
  });

  it("pairs MoRF and LeRF curves per method", () => {
    const morf = nd([2, 3], [1, 0.5, 0, 1, 0.8, 0]);
    const lerf = nd([2, 3], [1, 0.9, 0, 1, 0.7, 0]);
    const { series, labels } = faithSeries(morf, lerf, ["ig", "lrp"]);
    expect(labels).toEqual(["ig MoRF", "ig LeRF", "lrp MoRF", "lrp LeRF"]);
    expect(Array.from(series[3])).toEqual(Array.from(Float32Array.from([1, 0.7, 0])));
  });

  it("finds the largest values, ties by position, NaN skipped", () => {
    expect(topIndices([0.1, NaN, 3, 3, -1], 3)).toEqual([2, 3, 0]);
  });
});
