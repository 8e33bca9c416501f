/**
 * TokenStrip view: the tokens of a text, each coloured by one value.
 *
 * Model traits: `tokens` (string[]), `values` (1-D array payload),
 * `scale` ("sequential" | "diverging"), `label` (value name for tooltips),
 * `selected` (token index, -1 for none; set on click and sent to Python).
 */

import { decodeVector, type ArrayPayload } from "./lib/arrays";
import { rgbToCss, scaleFor, textColorOn, type ColorScale, type ScaleKind } from "./lib/colors";
import { formatNumber } from "./lib/format";
import { onChanges, type RenderProps } from "./lib/model";
import { injectStyles, ROOT_CLASS } from "./lib/styles";
import { quotedTokenText, renderTokenStrip, tokenIndexOf } from "./lib/tokens";
import { Tooltip } from "./lib/tooltip";

const SELECTED_CLASS = "iw-selected";

function legendGradient(scale: ColorScale): string {
  const [lo, hi] = scale.domain;
  const stops = [0, 0.25, 0.5, 0.75, 1].map((t) => scale.color(lo + (hi - lo) * t) ?? "transparent");
  return `linear-gradient(to right, ${stops.join(", ")})`;
}

function render({ model, el }: RenderProps): () => void {
  const doc = el.ownerDocument;
  injectStyles(doc);
  const root = doc.createElement("div");
  root.className = `${ROOT_CLASS} iw-token-strip`;
  root.tabIndex = 0;
  const strip = doc.createElement("div");
  strip.className = "iw-strip";
  const caption = doc.createElement("div");
  caption.className = "iw-caption";
  root.append(strip, caption);
  el.appendChild(root);
  const tooltip = new Tooltip(root);

  let tokens: string[] = [];
  let values: Float32Array = new Float32Array(0);
  let spans: HTMLSpanElement[] = [];

  const selected = (): number => Number(model.get("selected") ?? -1);
  const select = (index: number): void => {
    model.set("selected", index);
    model.save_changes();
  };

  const markSelection = (): void => {
    const current = selected();
    spans.forEach((span, i) => span.classList.toggle(SELECTED_CLASS, i === current));
  };

  const draw = (): void => {
    tokens = ((model.get("tokens") as string[] | undefined) ?? []).map(String);
    values = decodeVector(model.get("values") as ArrayPayload);
    const kind = (model.get("scale") as ScaleKind | undefined) ?? "sequential";
    const scale = scaleFor(kind, values);
    spans = renderTokenStrip(strip, tokens);
    spans.forEach((span, i) => {
      const rgb = i < values.length ? scale.rgb(values[i]) : null;
      span.classList.toggle("iw-nan", rgb === null);
      span.style.backgroundColor = rgb ? rgbToCss(rgb) : "transparent";
      span.style.color = rgb ? textColorOn(rgb) : "";
    });
    const label = String(model.get("label") ?? "value");
    const [lo, hi] = scale.domain;
    const bar = doc.createElement("span");
    bar.className = "iw-legend";
    bar.style.cssText = `display:inline-block;width:80px;height:8px;margin:0 6px;vertical-align:middle;background:${legendGradient(scale)}`;
    caption.replaceChildren(
      doc.createTextNode(`${label} ${formatNumber(lo)}`),
      bar,
      doc.createTextNode(`${formatNumber(hi)} (${kind}, ${tokens.length} tokens)`),
    );
    markSelection();
  };

  const onClick = (event: Event): void => {
    const i = tokenIndexOf(event.target);
    if (i >= 0) select(selected() === i ? -1 : i);
  };
  const onMove = (event: MouseEvent): void => {
    const i = tokenIndexOf(event.target);
    if (i < 0) {
      tooltip.hide();
      return;
    }
    const label = String(model.get("label") ?? "value");
    const value = i < values.length ? formatNumber(values[i]) : "\u2014";
    tooltip.show([`#${i} ${quotedTokenText(tokens[i])}`, `${label}: ${value}`], event.clientX, event.clientY);
  };
  const onKey = (event: KeyboardEvent): void => {
    const n = tokens.length;
    if (event.key === "Escape") select(-1);
    else if (event.key === "ArrowRight" && n > 0) select(Math.min(n - 1, selected() + 1));
    else if (event.key === "ArrowLeft" && n > 0) select(Math.max(0, selected() - 1));
    else return;
    event.preventDefault();
  };
  const onLeave = (): void => tooltip.hide();

  strip.addEventListener("click", onClick);
  strip.addEventListener("mousemove", onMove);
  strip.addEventListener("mouseleave", onLeave);
  root.addEventListener("keydown", onKey);
  const stopData = onChanges(model, ["tokens", "values", "scale", "label"], draw);
  const stopSelection = onChanges(model, ["selected"], markSelection);
  draw();

  return () => {
    stopData();
    stopSelection();
    tooltip.destroy();
    root.remove();
  };
}

export default { render };
