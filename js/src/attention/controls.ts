/** Toolbar controls of the attention view (plain DOM; labels set as text). */

import { button as buttonControl, labelled as labelledControl } from "../lib/controls";

export { checkbox, select } from "../lib/controls";

export function labelled(doc: Document, text: string, control: HTMLElement): HTMLLabelElement {
  return labelledControl(doc, text, control, "iw-attn-control");
}

export function button(doc: Document, text: string, onClick: () => void, className = "iw-attn-button"): HTMLButtonElement {
  return buttonControl(doc, text, onClick, className);
}

export const ATTENTION_CSS = `
.iw-attention .iw-attn-toolbar { display: flex; flex-wrap: wrap; gap: 6px 12px; align-items: center; margin-bottom: 6px; }
.iw-attention .iw-attn-tab { border: 1px solid var(--iw-border); background: transparent; color: inherit; padding: 2px 8px; border-radius: 3px; cursor: pointer; }
.iw-attention .iw-attn-tab[aria-pressed="true"] { border-color: var(--iw-accent); font-weight: 600; }
.iw-attention .iw-attn-heads { display: flex; flex-wrap: wrap; gap: 4px; margin-bottom: 6px; }
.iw-attention .iw-attn-head { width: 26px; height: 18px; border: 2px solid transparent; border-radius: 3px; color: #fff; font-size: 10px; cursor: pointer; padding: 0; }
.iw-attention .iw-attn-head[aria-pressed="false"] { opacity: 0.25; }
.iw-attention .iw-attn-error { color: #b00020; border: 1px solid #b00020; padding: 2px 6px; border-radius: 3px; margin-bottom: 4px; }
.iw-attention .iw-attn-note { font-size: 11px; opacity: 0.8; margin-top: 4px; }
.iw-attention .iw-attn-static { font-size: 11px; border-left: 3px solid var(--iw-accent); padding-left: 6px; margin-bottom: 4px; }
.iw-attention canvas { display: block; }
`;
