/**
 * Colour scales mapping numbers to CSS colours.
 *
 * Sequential: light (low) to dark blue (high) over [min, max].
 * Diverging: blue (negative) through a light neutral (zero) to red
 * (positive), symmetric over [-m, m] so that zero is always the midpoint.
 * Non-finite values map to `null` so that callers can mark them separately.
 */

import { finiteExtent } from "./arrays";

export type ScaleKind = "sequential" | "diverging";
export type RGB = [number, number, number];

export interface ColorScale {
  kind: ScaleKind;
  domain: [number, number];
  /** CSS colour for a value, or null for NaN / infinite values. */
  color(value: number): string | null;
  /** The same colour as an [r, g, b] triple (0–255), or null. */
  rgb(value: number): RGB | null;
}

const SEQUENTIAL_STOPS: RGB[] = [
  [245, 247, 250],
  [207, 224, 241],
  [143, 187, 224],
  [74, 140, 198],
  [31, 94, 163],
  [13, 53, 103],
];

const DIVERGING_STOPS: RGB[] = [
  [42, 92, 170],
  [141, 180, 224],
  [247, 247, 247],
  [238, 164, 143],
  [181, 48, 44],
];

export function rgbToCss([r, g, b]: RGB): string {
  return `rgb(${r}, ${g}, ${b})`;
}

/** Piecewise-linear interpolation through `stops` at t in [0, 1] (clamped). */
export function interpolateStops(stops: readonly RGB[], t: number): RGB {
  const x = Math.min(1, Math.max(0, t)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(x));
  const f = x - i;
  const a = stops[i];
  const b = stops[i + 1];
  return [0, 1, 2].map((k) => Math.round(a[k] + (b[k] - a[k]) * f)) as RGB;
}

function buildScale(kind: ScaleKind, domain: [number, number], stops: readonly RGB[]): ColorScale {
  const [lo, hi] = domain;
  const span = hi - lo;
  const rgb = (value: number): RGB | null => {
    if (!Number.isFinite(value)) return null;
    const t = span > 0 ? (value - lo) / span : kind === "diverging" ? 0.5 : 0;
    return interpolateStops(stops, t);
  };
  return {
    kind,
    domain: [lo, hi],
    rgb,
    color: (value) => {
      const c = rgb(value);
      return c ? rgbToCss(c) : null;
    },
  };
}

export function sequentialScale(min: number, max: number): ColorScale {
  return buildScale("sequential", [min, max], SEQUENTIAL_STOPS);
}

/** Diverging scale over [-maxAbs, maxAbs], centred on zero. */
export function divergingScale(maxAbs: number): ColorScale {
  const m = Math.abs(maxAbs);
  return buildScale("diverging", [-m, m], DIVERGING_STOPS);
}

/** A scale of `kind` whose domain covers the finite entries of `values`. */
export function scaleFor(kind: ScaleKind, values: ArrayLike<number>): ColorScale {
  const [lo, hi] = finiteExtent(values);
  if (kind === "diverging") return divergingScale(Math.max(Math.abs(lo), Math.abs(hi)));
  return sequentialScale(lo, hi);
}

/** WCAG relative luminance of an sRGB colour (0 = black, 1 = white). */
export function relativeLuminance([r, g, b]: RGB): number {
  const lin = (c: number) => {
    const s = c / 255;
    return s <= 0.04045 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
}

/** Black or white, whichever reads better on `background`. */
export function textColorOn(background: RGB): string {
  return relativeLuminance(background) > 0.179 ? "#111111" : "#ffffff";
}
