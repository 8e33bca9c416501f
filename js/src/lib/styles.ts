/**
 * Shared stylesheet for every view, injected once per document.
 * Colours come from theme variables (see `theme.ts`).
 */

import { themeCss } from "./theme";

export const ROOT_CLASS = "iw-root";
const STYLE_ID = "interp-widgets-style";

const CSS = `
${themeCss(`.${ROOT_CLASS}`)}
.${ROOT_CLASS} { position: relative; color: var(--iw-foreground); font-family: var(--iw-fontFamily); font-size: 13px; }
.iw-strip { font-family: var(--iw-monoFontFamily); line-height: 1.9; white-space: normal; padding: 4px 0; }
.iw-token { display: inline-block; white-space: pre; unicode-bidi: isolate; padding: 0 2px; margin: 1px 1px;
  border-radius: 3px; border: 1px solid transparent; cursor: pointer; min-width: 0.6em; text-align: center; }
.iw-token:hover { border-color: var(--iw-foreground); }
.iw-token.iw-selected { outline: 2px solid var(--iw-accent); outline-offset: 1px; }
.iw-token.iw-nan { background-image: repeating-linear-gradient(45deg, transparent 0 3px, rgba(128,128,128,0.35) 3px 5px); }
.iw-tooltip { position: absolute; z-index: 10; pointer-events: none; max-width: 32em; padding: 4px 8px;
  background: var(--iw-background); color: var(--iw-foreground); border: 1px solid var(--iw-border);
  border-radius: 4px; box-shadow: 0 2px 6px rgba(0,0,0,0.2); font-family: var(--iw-monoFontFamily);
  white-space: pre-wrap; overflow-wrap: anywhere; }
.iw-caption { font-size: 11px; opacity: 0.75; }
`;

/** Adds a <style id=`id`> with `css` to `doc` unless one with that id is already there. */
export function addStylesheet(doc: Document, id: string, css: string): void {
  if (doc.getElementById(id)) return;
  const style = doc.createElement("style");
  style.id = id;
  style.textContent = css;
  doc.head.appendChild(style);
}

/** Adds the shared stylesheet to `doc` unless it is already there. */
export function injectStyles(doc: Document): void {
  addStylesheet(doc, STYLE_ID, CSS);
}
