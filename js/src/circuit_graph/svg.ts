/** SVG building for the circuit-graph view: elements with inline presentation attributes (so an
 * exported file looks like the page), text always set as text content. */

export const SVG_NS = "http://www.w3.org/2000/svg";

export function svgEl<K extends keyof SVGElementTagNameMap>(doc: Document, tag: K,
  attrs: Record<string, string | number> = {}, text?: string): SVGElementTagNameMap[K] {
  const el = doc.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, typeof v === "number" ? String(Math.round(v * 100) / 100) : v);
  if (text !== undefined) el.textContent = text;
  return el;
}

/** A node marker: circle (feature), square (token), diamond (error), hexagon (logit). */
export function marker(doc: Document, kind: number, x: number, y: number, r: number,
  attrs: Record<string, string | number>): SVGElement {
  if (kind === 1) return svgEl(doc, "circle", { cx: x, cy: y, r, ...attrs });
  if (kind === 0) return svgEl(doc, "rect", { x: x - r, y: y - r, width: 2 * r, height: 2 * r, ...attrs });
  const n = kind === 2 ? 4 : 6;
  const pts = Array.from({ length: n }, (_, k) => {
    const a = (2 * Math.PI * k) / n + (kind === 2 ? 0 : Math.PI / 6);
    return `${(x + r * 1.15 * Math.cos(a)).toFixed(2)},${(y + r * 1.15 * Math.sin(a)).toFixed(2)}`;
  });
  return svgEl(doc, "polygon", { points: pts.join(" "), ...attrs });
}

/** The SVG as a standalone document string. */
export function serialize(svg: SVGSVGElement): string {
  const copy = svg.cloneNode(true) as SVGSVGElement;
  copy.setAttribute("xmlns", SVG_NS);
  return new XMLSerializer().serializeToString(copy);
}

/** Renders the SVG onto a canvas (2× scale) and encodes it as PNG; works offline. */
export function svgToPng(svg: SVGSVGElement, background: string): Promise<Blob> {
  const doc = svg.ownerDocument;
  const width = Number(svg.getAttribute("width"));
  const height = Number(svg.getAttribute("height"));
  const url = URL.createObjectURL(new Blob([serialize(svg)], { type: "image/svg+xml" }));
  return new Promise((resolve, reject) => {
    const img = new Image();
    img.onload = () => {
      const canvas = doc.createElement("canvas");
      canvas.width = 2 * width;
      canvas.height = 2 * height;
      const g = canvas.getContext("2d");
      if (!g) return reject(new Error("this browser cannot draw on a 2-D canvas"));
      g.fillStyle = background;
      g.fillRect(0, 0, canvas.width, canvas.height);
      g.scale(2, 2);
      g.drawImage(img, 0, 0);
      URL.revokeObjectURL(url);
      canvas.toBlob((b) => (b ? resolve(b) : reject(new Error("the canvas could not be encoded"))), "image/png");
    };
    img.onerror = () => reject(new Error("the graph could not be rendered to an image"));
    img.src = url;
  });
}
