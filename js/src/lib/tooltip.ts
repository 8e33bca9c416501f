/**
 * A small tooltip: one absolutely positioned box inside a host element.
 * Lines are inserted as text, never as HTML.
 */

export const TOOLTIP_CLASS = "iw-tooltip";

export class Tooltip {
  readonly element: HTMLDivElement;
  private readonly host: HTMLElement;

  constructor(host: HTMLElement) {
    this.host = host;
    this.element = host.ownerDocument.createElement("div");
    this.element.className = TOOLTIP_CLASS;
    this.element.setAttribute("role", "tooltip");
    this.element.hidden = true;
    host.appendChild(this.element);
  }

  /** Shows `lines` near the viewport point (clientX, clientY). */
  show(lines: readonly string[], clientX: number, clientY: number): void {
    const rows = lines.map((line) => {
      const row = this.host.ownerDocument.createElement("div");
      row.textContent = line;
      return row;
    });
    this.element.replaceChildren(...rows);
    this.element.hidden = false;
    const box = this.host.getBoundingClientRect();
    this.element.style.left = `${Math.max(0, clientX - box.left + 12)}px`;
    this.element.style.top = `${Math.max(0, clientY - box.top + 14)}px`;
  }

  hide(): void {
    this.element.hidden = true;
  }

  get visible(): boolean {
    return !this.element.hidden;
  }

  /** The tooltip's lines as shown. */
  get lines(): string[] {
    return Array.from(this.element.children, (row) => row.textContent ?? "");
  }

  destroy(): void {
    this.element.remove();
  }
}
