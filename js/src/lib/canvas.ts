/**
 * Canvas helpers: crisp (device-pixel-ratio aware) canvases and a heatmap
 * painter that writes one ImageData (no per-cell DOM nodes).
 */

import type { ColorScale } from "./colors";

/** Sizes `canvas` to width × height CSS pixels at the device pixel ratio; returns its 2-D context. */
export function setupCanvas(canvas: HTMLCanvasElement, width: number, height: number): CanvasRenderingContext2D {
  const ratio = canvas.ownerDocument.defaultView?.devicePixelRatio ?? 1;
  canvas.width = Math.max(1, Math.round(width * ratio));
  canvas.height = Math.max(1, Math.round(height * ratio));
  canvas.style.width = `${width}px`;
  canvas.style.height = `${height}px`;
  const ctx = canvas.getContext("2d");
  if (!ctx) throw new Error("this browser cannot draw on a 2-D canvas");
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  return ctx;
}

/**
 * Paints a [rows, cols] matrix into the rectangle (x, y, w, h) of `ctx`,
 * one image pixel per cell, scaled without smoothing. `masked(i, j)` cells
 * are painted grey (e.g. the causal mask).
 */
export function paintMatrix(
  ctx: CanvasRenderingContext2D,
  values: Float32Array,
  rows: number,
  cols: number,
  scale: ColorScale,
  rect: [number, number, number, number],
  masked?: (i: number, j: number) => boolean,
): void {
  if (rows === 0 || cols === 0) return;
  const image = new ImageData(cols, rows);
  const px = image.data;
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      const o = 4 * (i * cols + j);
      const rgb = masked?.(i, j) ? null : scale.rgb(values[i * cols + j]);
      const [r, g, b] = rgb ?? (((i + j) & 1) === 0 ? [200, 200, 200] : [225, 225, 225]);
      px[o] = r;
      px[o + 1] = g;
      px[o + 2] = b;
      px[o + 3] = 255;
    }
  }
  const doc = ctx.canvas.ownerDocument;
  const scratch = doc.createElement("canvas");
  scratch.width = cols;
  scratch.height = rows;
  scratch.getContext("2d")?.putImageData(image, 0, 0);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(scratch, rect[0], rect[1], rect[2], rect[3]);
}

/** Text truncated with "…" to fit `maxWidth` pixels in the current font. */
export function fitText(ctx: CanvasRenderingContext2D, text: string, maxWidth: number): string {
  if (ctx.measureText(text).width <= maxWidth) return text;
  let lo = 0;
  let hi = text.length;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (ctx.measureText(text.slice(0, mid) + "\u2026").width <= maxWidth) lo = mid;
    else hi = mid - 1;
  }
  return text.slice(0, lo) + "\u2026";
}
