/**
 * GenerationView: the prompt (grey) followed by the generated tokens, each on a background
 * coloured by its probability; hover a generated token for its alternatives and the entropy;
 * click one to have the kernel attribute it over its prefix, drawn as a second strip below
 * (diverging colours, 0 = white).
 *
 * Traits: prompt_tokens, tokens, vocab, title, method, probs / entropy [step], topk_probs /
 * topk_index [step, k]; state: selected; from the kernel: relevance [prompt + selected] (or
 * null), relevance_step, error.
 */

import { decodeVector, type ArrayPayload } from "./lib/arrays";
import { divergingScale, sequentialScale, textColorOn, type ColorScale } from "./lib/colors";
import { formatNumber } from "./lib/format";
import type { RenderProps } from "./lib/model";
import { quotedTokenText, renderTokenStrip, tokenIndexOf } from "./lib/tokens";
import { alternatives, maxAbs, prefixRelevance } from "./hidden/logic";
import { frame, redrawOn } from "./analysis_views/ui";

const CSS = `
.iw-generation .iw-gen-prompt { color: #8a8a8a; background: transparent; cursor: default; }
.iw-generation .iw-gen-relevance { border-top: 1px dashed var(--iw-border); margin-top: 6px; }
.iw-generation .iw-gen-label { font-size: 11px; opacity: 0.8; margin-top: 4px; }
`;

function paint(span: HTMLElement, scale: ColorScale, value: number): void {
  const rgb = scale.rgb(value);
  if (!rgb) {
    span.classList.add("iw-nan");
    return;
  }
  span.style.background = `rgb(${rgb.join(", ")})`;
  span.style.color = textColorOn(rgb);
}

function render(props: RenderProps): () => void {
  const { model } = props;
  const fr = frame(props, "generation", CSS);
  const { doc } = fr;
  const { strings } = fr;
  const prompt = strings("prompt_tokens");
  const tokens = strings("tokens");
  const vocab = strings("vocab");
  const probs = decodeVector(model.get("probs") as ArrayPayload);
  const entropy = decodeVector(model.get("entropy") as ArrayPayload);
  const topProbs = fr.array("topk_probs");
  const topIndex = fr.array("topk_index");
  const method = String(model.get("method") ?? "");
  const nPrompt = prompt.length;
  const probScale = sequentialScale(0, 1);

  const title = doc.createElement("div");
  title.textContent = String(model.get("title") ?? "");
  const error = doc.createElement("div");
  error.className = "iw-av-error";
  fr.toolbar.replaceChildren(title, error);
  const text = doc.createElement("div");
  text.className = "iw-strip iw-gen-text";
  const spans = renderTokenStrip(text, [...prompt, ...tokens]);
  spans.forEach((span, i) => {
    if (i < nPrompt) span.classList.add("iw-gen-prompt");
    else {
      span.classList.add("iw-gen-token");
      paint(span, probScale, probs[i - nPrompt]);
    }
  });
  const relLabel = doc.createElement("div");
  relLabel.className = "iw-gen-label";
  const relStrip = doc.createElement("div");
  relStrip.className = "iw-strip iw-gen-relevance";
  relStrip.hidden = true;
  fr.content.style.display = "block";
  fr.content.replaceChildren(text, relLabel, relStrip);

  const stepOf = (target: EventTarget | null): number => {
    if (!text.contains(target as Node)) return -1;
    const i = tokenIndexOf(target);
    return i >= nPrompt ? i - nPrompt : -1;
  };
  text.addEventListener("mousemove", (event) => {
    const s = stepOf(event.target);
    if (s < 0) return fr.tooltip.hide();
    fr.tooltip.show([`step ${s}: ${quotedTokenText(tokens[s])}  p = ${formatNumber(probs[s])}`,
      `entropy ${formatNumber(entropy[s])} nats`,
      ...alternatives(topProbs, topIndex, vocab, s).map((a, i) => `${i + 1}. ${quotedTokenText(a.token)}  ${formatNumber(a.prob)}`)],
    event.clientX, event.clientY);
  });
  text.addEventListener("mouseleave", () => fr.tooltip.hide());
  text.addEventListener("click", (event) => {
    const s = stepOf(event.target);
    if (s < 0) return;
    model.set("selected", s === Number(model.get("selected") ?? -1) ? -1 : s);
    model.save_changes();
  });

  const draw = (): void => {
    const selected = Number(model.get("selected") ?? -1);
    spans.forEach((span, i) => span.classList.toggle("iw-selected", i - nPrompt === selected && selected >= 0));
    error.textContent = String(model.get("error") ?? "");
    const payload = model.get("relevance") as ArrayPayload | null | undefined;
    const relevance = prefixRelevance(payload ? decodeVector(payload) : null, Number(model.get("relevance_step") ?? -1), nPrompt, selected);
    relStrip.hidden = relevance === null;
    relStrip.dataset.step = String(relevance ? selected : -1);
    if (selected < 0) {
      relLabel.textContent = method ? "click a generated token to attribute it over its prefix" : "";
      relStrip.replaceChildren();
      return;
    }
    if (!relevance) {
      relLabel.textContent = `step ${selected} ${quotedTokenText(tokens[selected])}: attribution is computed by the Python kernel`
        + (method ? " (waiting for it)" : " (open the view with show(model=...))");
      relStrip.replaceChildren();
      return;
    }
    const scale = divergingScale(maxAbs(relevance));
    relLabel.textContent = `${method} relevance of each prefix token for the logit of step ${selected} ${quotedTokenText(tokens[selected])} (blue < 0 < red, \u00b1${formatNumber(maxAbs(relevance))})`;
    const prefix = [...prompt, ...tokens.slice(0, selected)];
    renderTokenStrip(relStrip, prefix).forEach((span, i) => {
      paint(span, scale, relevance[i]);
      span.title = `${quotedTokenText(prefix[i])}: ${formatNumber(relevance[i])}`;
    });
  };
  return redrawOn(fr, model, ["selected", "relevance", "relevance_step", "error"], draw);
}

export default { render };
