/**
 * Token strips: one inline element per token, in order.
 *
 * Token text is only ever inserted with `textContent` (never as HTML), so a
 * token such as `<img src=x onerror=alert(1)>` shows as those characters.
 * Whitespace that would otherwise vanish is made visible: leading/trailing
 * spaces as "␣", newlines as "↵", tabs as "⇥", carriage returns as "␍".
 */

export const TOKEN_CLASS = "iw-token";

const VISIBLE: Record<string, string> = { "\n": "\u21b5", "\t": "\u21e5", "\r": "\u240d" };
const OPEN_BOX = "\u2423";
const DOTTED_CIRCLE = "\u25cc";
const EMPTY_SET = "\u2205";

/** The text shown for a token (see module docs). */
export function visibleTokenText(token: string): string {
  if (token.length === 0) return EMPTY_SET;
  let text = token.replace(/[\n\t\r]/g, (c) => VISIBLE[c]);
  text = text.replace(/^ +| +$/g, (run) => OPEN_BOX.repeat(run.length));
  if (/^\p{M}/u.test(text)) text = DOTTED_CIRCLE + text;
  return text;
}

/** A quoted, escaped form of the raw token for tooltips (`" cat\n"`). */
export function quotedTokenText(token: string): string {
  return JSON.stringify(token);
}

/**
 * Replaces the children of `container` with one `<span class="iw-token">` per
 * token (with `data-index`), followed by a line break after tokens that end in
 * a newline. Returns the token spans in order.
 */
export function renderTokenStrip(container: HTMLElement, tokens: readonly string[]): HTMLSpanElement[] {
  const doc = container.ownerDocument;
  const spans: HTMLSpanElement[] = [];
  const frag = doc.createDocumentFragment();
  tokens.forEach((token, i) => {
    const span = doc.createElement("span");
    span.className = TOKEN_CLASS;
    span.dataset.index = String(i);
    span.dir = "auto";
    span.textContent = visibleTokenText(String(token));
    frag.appendChild(span);
    spans.push(span);
    if (String(token).endsWith("\n")) frag.appendChild(doc.createElement("br"));
  });
  container.replaceChildren(frag);
  return spans;
}

/** Index of the token element at or above `target`, or -1. */
export function tokenIndexOf(target: EventTarget | null): number {
  if (!target || !(target as Node).nodeType) return -1;
  const node = target as Node;
  const start = node.nodeType === 1 ? (node as Element) : node.parentElement;
  const span = start?.closest(`.${TOKEN_CLASS}`) as HTMLElement | null | undefined;
  if (!span || span.dataset.index === undefined) return -1;
  return Number(span.dataset.index);
}
