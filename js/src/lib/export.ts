/**
 * Export of the current view: PNG from a canvas, SVG built element by element
 * (text inserted as text nodes, so token strings never become markup).
 */

const SVG_NS = "http://www.w3.org/2000/svg";

/** Starts a download of `blob` named `filename`. */
export function download(doc: Document, blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  const a = doc.createElement("a");
  a.href = url;
  a.download = filename;
  doc.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export function canvasToPng(canvas: HTMLCanvasElement): Promise<Blob> {
  return new Promise((resolve, reject) =>
    canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error("the canvas could not be encoded"))), "image/png"),
  );
}

export type SvgItem =
  | { kind: "line"; x1: number; y1: number; x2: number; y2: number; stroke: string; opacity: number; width: number }
  | { kind: "text"; x: number; y: number; text: string; anchor: "start" | "end"; fill: string; size: number }
  | { kind: "image"; x: number; y: number; width: number; height: number; href: string };

/** An SVG document (as text) of `items` on a width × height page. */
export function buildSvg(doc: Document, width: number, height: number, items: readonly SvgItem[]): string {
  const svg = doc.createElementNS(SVG_NS, "svg");
  svg.setAttribute("xmlns", SVG_NS);
  svg.setAttribute("width", String(width));
  svg.setAttribute("height", String(height));
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  for (const item of items) {
    const el = doc.createElementNS(SVG_NS, item.kind);
    if (item.kind === "line") {
      for (const key of ["x1", "y1", "x2", "y2"] as const) el.setAttribute(key, item[key].toFixed(2));
      el.setAttribute("stroke", item.stroke);
      el.setAttribute("stroke-opacity", item.opacity.toFixed(3));
      el.setAttribute("stroke-width", String(item.width));
    } else if (item.kind === "text") {
      el.setAttribute("x", item.x.toFixed(2));
      el.setAttribute("y", item.y.toFixed(2));
      el.setAttribute("text-anchor", item.anchor);
      el.setAttribute("fill", item.fill);
      el.setAttribute("font-size", String(item.size));
      el.setAttribute("font-family", "sans-serif");
      el.textContent = item.text;
    } else {
      for (const key of ["x", "y", "width", "height"] as const) el.setAttribute(key, String(item[key]));
      el.setAttribute("href", item.href);
    }
    svg.appendChild(el);
  }
  return new XMLSerializer().serializeToString(svg);
}
