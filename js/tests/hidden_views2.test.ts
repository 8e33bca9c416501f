import { describe, expect, it } from "vitest";
import { flipRows, log10All, nearestIndex, row } from "../src/hidden/views_logic";

describe("brain / factor / neighbour view logic", () => {
  it("finds the nearest sample time of a peak latency", () => {
    const times = [-0.1, 0, 0.1, 0.2];
    expect(nearestIndex(times, 0.1)).toBe(2);
    expect(nearestIndex(times, 0.26)).toBe(3);
    expect(nearestIndex(times, -5)).toBe(0);
    expect(nearestIndex(times, NaN)).toBe(-1);
    expect(nearestIndex([], 0)).toBe(-1);
  });

  it("flips the rows of a matrix", () => {
    expect(Array.from(flipRows([1, 2, 3, 4, 5, 6], 3, 2))).toEqual([5, 6, 3, 4, 1, 2]);
    expect(Array.from(flipRows([], 0, 4))).toEqual([]);
  });

  it("takes log10 with non-positive sizes as NaN", () => {
    const out = Array.from(log10All([1e6, 1000, 0, -3]));
    expect(out.slice(0, 2)).toEqual([6, 3]);
    expect(out.slice(2).every(Number.isNaN)).toBe(true);
  });

  it("reads one row of a [rows, cols] array", () => {
    const arr = { shape: [2, 3], data: Float32Array.from([0, 1, 2, 3, 4, 5]) };
    expect(Array.from(row(arr, 1))).toEqual([3, 4, 5]);
    expect(row(arr, 2).length).toBe(0);
    expect(row(arr, -1).length).toBe(0);
  });
});
