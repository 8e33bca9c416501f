/** Pieces shared by the output-analysis views: their frame, string traits, labelled points with hover and click. */

import { fitText } from "../lib/canvas";
import type { RenderProps, WidgetModel } from "../lib/model";
import { nearestPoint, type Point } from "../analysis_views/logic";
import { frame, type Frame } from "../analysis_views/ui";

/** The view's frame (root class `iw-<name>`), with the view's ``css`` added to the document once. */
export function outputFrame(props: RenderProps, name: string, css: string): Frame {
  const fr = frame(props, name);
  const id = `iw-${name}-style`;
  if (!fr.doc.getElementById(id)) {
    const style = fr.doc.createElement("style");
    style.id = id;
    style.textContent = css;
    fr.doc.head.appendChild(style);
  }
  return fr;
}

/** A list-of-strings trait (empty when unset). */
export function stringList(model: WidgetModel, key: string): string[] {
  return ((model.get(key) as string[] | undefined) ?? []).map(String);
}

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
  g.textBaseline = "alphabetic";
  const width = parseFloat(canvas.style.width) || canvas.width;
  points.forEach((p, k) => {
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
    // names beside their points, towards the middle of the canvas; points drawn on top of one
    // another get their names stacked
    const stacked = points.slice(0, k).filter((q) => Math.hypot(q.px - p.px, q.py - p.py) < 2 * POINT_RADIUS).length;
    const right = p.px > width / 2;
    g.fillStyle = theme.foreground;
    g.textAlign = right ? "right" : "left";
    g.fillText(fitText(g, opts.names[p.index] ?? String(p.index), 110), p.px + (right ? -1 : 1) * (POINT_RADIUS + 2),
      p.py - POINT_RADIUS + 11 * stacked);
  });
  g.textAlign = "left";
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
