import { describe, expect, it } from "vitest";
import {
  divergingScale,
  interpolateStops,
  relativeLuminance,
  rgbToCss,
  scaleFor,
  sequentialScale,
  textColorOn,
} from "../src/lib/colors";

describe("interpolateStops", () => {
  it("hits the stops and clamps outside [0, 1]", () => {
    const stops: [number, number, number][] = [
      [0, 0, 0],
      [100, 200, 50],
    ];
    expect(interpolateStops(stops, 0)).toEqual([0, 0, 0]);
    expect(interpolateStops(stops, 1)).toEqual([100, 200, 50]);
    expect(interpolateStops(stops, 0.5)).toEqual([50, 100, 25]);
    expect(interpolateStops(stops, -3)).toEqual([0, 0, 0]);
    expect(interpolateStops(stops, 9)).toEqual([100, 200, 50]);
  });
});

describe("sequential scale", () => {
  it("darkens monotonically from min to max", () => {
    const scale = sequentialScale(0, 10);
    const lum = [0, 2.5, 5, 7.5, 10].map((v) => relativeLuminance(scale.rgb(v)!));
    for (let i = 1; i < lum.length; i++) expect(lum[i]).toBeLessThan(lum[i - 1]);
    expect(scale.domain).toEqual([0, 10]);
  });

  it("returns CSS colours and null for non-finite values", () => {
    const scale = sequentialScale(0, 1);
    expect(scale.color(0.5)).toMatch(/^rgb\(\d+, \d+, \d+\)$/);
    expect(scale.color(NaN)).toBeNull();
    expect(scale.rgb(Infinity)).toBeNull();
  });

  it("handles a constant domain", () => {
    const scale = sequentialScale(3, 3);
    expect(scale.color(3)).toBe(sequentialScale(0, 1).color(0));
  });
});

describe("diverging scale", () => {
  it("is symmetric around a light zero", () => {
    const scale = divergingScale(-4);
    expect(scale.domain).toEqual([-4, 4]);
    const zero = scale.rgb(0)!;
    expect(relativeLuminance(zero)).toBeGreaterThan(0.85);
    const neg = scale.rgb(-4)!;
    const pos = scale.rgb(4)!;
    expect(neg[2]).toBeGreaterThan(neg[0]);
    expect(pos[0]).toBeGreaterThan(pos[2]);
  });

  it("scaleFor picks the domain from the data", () => {
    expect(scaleFor("diverging", [-1, 0.5, NaN]).domain).toEqual([-1, 1]);
    expect(scaleFor("sequential", [2, 5, 3]).domain).toEqual([2, 5]);
    expect(scaleFor("diverging", []).color(0)).toBe(divergingScale(1).color(0));
  });
});

describe("contrast", () => {
  it("picks dark text on light colours and white on dark ones", () => {
    expect(textColorOn([250, 250, 250])).toBe("#111111");
    expect(textColorOn([13, 53, 103])).toBe("#ffffff");
    expect(rgbToCss([1, 2, 3])).toBe("rgb(1, 2, 3)");
  });
});
