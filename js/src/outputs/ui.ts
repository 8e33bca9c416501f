/** Canvas pieces shared by the output-analysis views: labelled points with hover and click. */

import { fitText } from "../lib/canvas";
import { nearestPoint, type Point } from "../analysis_views/logic";
import type { Frame } from "../analysis_views/ui";

export const POINT_RADIUS = 5;

export interface PointLayerOptions {
  names: readonly string[];
  color(index: number): string;
  /** Ring width around a point (0: none). */
  ring(index: number): number;
  describe(point: Point): string[];
  onClick?(point: Point): void;
}

/**
 * Draws ``points`` (``index`` into ``names``) as labelled dots on ``canvas`` and wires hover
 * tooltips and clicks; records ``data-points`` and ``data-positions`` ([index, px, py]).
 */
export function pointLayer(fr: Frame, canvas: HTMLCanvasElement, g: CanvasRenderingContext2D, points: readonly Point[],
  opts: PointLayerOptions): void {
  const theme = fr.theme();
  g.font = `10px ${theme.fontFamily}`;
  g.textAlign = "left";
  g.textBaseline = "alphabetic";
  for (const p of points) {
    g.beginPath();
    g.arc(p.px, p.py, POINT_RADIUS, 0, 2 * Math.PI);
    g.fillStyle = opts.color(p.index);
    g.fill();
    const ring = opts.ring(p.index);
    if (ring > 0) {
      g.lineWidth = ring;
      g.strokeStyle = theme.accent;
      g.beginPath();
      g.arc(p.px, p.py, POINT_RADIUS + 3, 0, 2 * Math.PI);
      g.stroke();
      g.lineWidth = 1;
    }
    g.fillStyle = theme.foreground;
    g.fillText(fitText(g, opts.names[p.index] ?? String(p.index), 110), p.px + POINT_RADIUS + 2, p.py - POINT_RADIUS);
  }
  canvas.dataset.points = String(points.length);
  canvas.dataset.positions = JSON.stringify(points.map((p) => [p.index, Math.round(p.px), Math.round(p.py)]));
  const at = (event: MouseEvent): Point | null => {
    const box = canvas.getBoundingClientRect();
    return nearestPoint(points, event.clientX - box.left, event.clientY - box.top, POINT_RADIUS + 3);
  };
  canvas.addEventListener("mousemove", (event) => {
    const p = at(event);
    if (!p) return fr.tooltip.hide();
    fr.tooltip.show(opts.describe(p), event.clientX, event.clientY);
  });
  canvas.addEventListener("mouseleave", () => fr.tooltip.hide());
  if (opts.onClick) {
    canvas.style.cursor = "pointer";
    canvas.addEventListener("click", (event) => {
      const p = at(event);
      if (p) opts.onClick?.(p);
    });
  }
}
