import { describe, expect, it } from "vitest";
import {
  classCounts,
  classEdges,
  graphEdges,
  layerColor,
  linearMap,
  massiveColumns,
  meanLeading,
  mixingCurves,
  nearestPoint,
  scatterPoints,
  slab,
} from "../src/analysis_views/logic";
import type { NdArray } from "../src/lib/arrays";

const nd = (shape: number[], values: number[]): NdArray => ({ shape, data: Float32Array.from(values) });

describe("analysis view logic", () => {
  it("colours the first and last layer with the ends of viridis", () => {
    expect(layerColor(0, 4)).toEqual([68, 1, 84]);
    expect(layerColor(3, 4)).toEqual([253, 231, 37]);
    expect(layerColor(0, 1)).toEqual([68, 1, 84]);
  });

  it("slices and averages leading axes, skipping NaN", () => {
    const a = nd([2, 2, 2], [1, 2, 3, 4, 5, 6, 7, NaN]);
    expect(Array.from(slab(a, 1).data)).toEqual([5, 6, 7, NaN]);
    expect(slab(a, 1).shape).toEqual([2, 2]);
    expect(Array.from(meanLeading(a).data)).toEqual([3, 4, 5, 4]);
    expect(Number.isNaN(meanLeading(nd([1, 1], [NaN])).data[0])).toBe(true);
  });

  it("places heads in the plot rectangle with y upwards and finds the nearest", () => {
    const xs = [0, 1, 2, NaN];
    const ys = [10, 20, 30, 40];
    const points = scatterPoints(xs, ys, 2, [100, 50, 200, 100]);
    expect(points.map((p) => [p.layer, p.head])).toEqual([[0, 0], [0, 1], [1, 0]]);
    expect(points.map((p) => [p.px, p.py])).toEqual([[100, 150], [200, 100], [300, 50]]);
    expect(nearestPoint(points, 203, 98, 6)?.index).toBe(1);
    expect(nearestPoint(points, 150, 120, 6)).toBeNull();
    expect(linearMap([5, 5], 0, 10)(5)).toBe(5);
  });

  it("keeps graph edges above the threshold and traces them from a token", () => {
    // 2 layers x 3 tokens; row i of layer l: query i at the layer's output
    const att = nd([2, 3, 3], [
      1, 0, 0, /**/ 0.6, 0.4, 0, /**/ 0.1, 0.2, 0.7, // layer 0
      1, 0, 0, /**/ 0.9, 0.1, 0, /**/ 0.0, 0.5, 0.5, // layer 1
    ]);
    const all = graphEdges(att, 0.3);
    expect(all.map((e) => [e.layer, e.from, e.to])).toEqual([
      [1, 0, 0], [1, 1, 0], [1, 2, 1], [1, 2, 2],
      [0, 0, 0], [0, 1, 0], [0, 1, 1], [0, 2, 2],
    ]);
    const traced = graphEdges(att, 0.3, 2);
    // from token 2 at the top: layer 1 reaches keys 1 and 2; layer 0 follows rows 1 and 2
    expect(traced.map((e) => [e.layer, e.from, e.to])).toEqual([[1, 2, 1], [1, 2, 2], [0, 1, 0], [0, 1, 1], [0, 2, 2]]);
    expect(graphEdges(att, 0.95)).toHaveLength(2);
    expect(graphEdges(nd([0, 0, 0], []), 0.1)).toEqual([]);
  });

  it("turns comparison classes into coloured edges and counts them per layer", () => {
    const classes = nd([2, 2, 2], [1, 0, 2, 3, /**/ 0, 1, 1, 3]);
    const edges = classEdges(classes);
    expect(edges.map((e) => [e.layer, e.from, e.to, e.weight])).toEqual([
      [0, 0, 0, 1], [0, 1, 0, 2], [0, 1, 1, 3], [1, 0, 1, 1], [1, 1, 0, 1], [1, 1, 1, 3],
    ]);
    expect(classCounts(edges, 2)).toEqual([[1, 1, 1], [2, 0, 1]]);
  });

  it("averages mixing ratios over tokens per layer and kind, NaN when undefined", () => {
    const mixing = nd([2, 2, 2], [0.2, 0.4, NaN, NaN, /**/ 0.6, 0.8, NaN, 0.5]);
    const curves = mixingCurves(mixing);
    expect(curves[0].map((v) => Number(v.toFixed(6)))).toEqual([0.3, 0.7]);
    expect(Number.isNaN(curves[1][0])).toBe(true);
    expect(curves[1][1]).toBe(0.5);
  });

  it("lists the dimensions massive in any head", () => {
    expect(massiveColumns(nd([2, 4], [0, 1, 0, 0, /**/ 0, 1, 0, 1]))).toEqual([1, 3]);
    expect(massiveColumns(nd([1, 3], [0, 0, 0]))).toEqual([]);
  });
});
