import { afterEach, describe, expect, it } from "vitest";
import widget from "../src/token_strip";
import { FakeModel, float32Payload } from "./helpers";

const HOSTILE = "<img src=x onerror=alert(1)>";

function mount(state: Record<string, unknown>) {
  const model = new FakeModel({ scale: "sequential", selected: -1, label: "p", ...state });
  const el = document.createElement("div");
  document.body.appendChild(el);
  const cleanup = widget.render({ model, el }) as () => void;
  const tokens = () => Array.from(el.querySelectorAll<HTMLElement>(".iw-token"));
  return { model, el, cleanup, tokens };
}

afterEach(() => document.body.replaceChildren());

describe("token_strip view", () => {
  it("renders one coloured text-only element per token", () => {
    const { el, tokens } = mount({ tokens: ["The", " cat", HOSTILE, "\n"], values: float32Payload([0, 1, 2, 3]) });
    const spans = tokens();
    expect(spans.map((s) => s.textContent)).toEqual(["The", "\u2423cat", HOSTILE, "\u21b5"]);
    for (const s of spans) {
      expect(s.childNodes).toHaveLength(1);
      expect(s.firstChild!.nodeType).toBe(Node.TEXT_NODE);
    }
    expect(el.querySelector("img")).toBeNull();
    const colours = spans.map((s) => s.style.backgroundColor);
    expect(new Set(colours).size).toBe(4);
    expect(colours.every((c) => c.startsWith("rgb("))).toBe(true);
    expect(el.querySelector(".iw-caption")!.textContent).toContain("4 tokens");
  });

  it("marks NaN values and uses the diverging scale when asked", () => {
    const { tokens, model } = mount({ tokens: ["a", "b", "c"], values: float32Payload([-1, NaN, 1]) });
    expect(tokens()[1].classList.contains("iw-nan")).toBe(true);
    model.set("scale", "diverging");
    const [neg, , pos] = tokens().map((s) => s.style.backgroundColor);
    const rgb = (c: string) => c.match(/\d+/g)!.map(Number);
    expect(rgb(neg)[2]).toBeGreaterThan(rgb(neg)[0]);
    expect(rgb(pos)[0]).toBeGreaterThan(rgb(pos)[2]);
  });

  it("sets `selected` and saves on click; clicking again clears it", () => {
    const { model, tokens } = mount({ tokens: ["a", "b", "c"], values: float32Payload([1, 2, 3]) });
    tokens()[1].click();
    expect(model.setCalls).toEqual([["selected", 1]]);
    expect(model.saves).toBe(1);
    expect(tokens()[1].classList.contains("iw-selected")).toBe(true);
    tokens()[1].click();
    expect(model.get("selected")).toBe(-1);
    expect(model.saves).toBe(2);
    expect(tokens().some((s) => s.classList.contains("iw-selected"))).toBe(false);
  });

  it("follows `selected` set from Python and moves it with the keyboard", () => {
    const { model, el, tokens } = mount({ tokens: ["a", "b", "c"], values: float32Payload([1, 2, 3]) });
    model.set("selected", 2);
    expect(tokens()[2].classList.contains("iw-selected")).toBe(true);
    const root = el.querySelector(".iw-root")!;
    root.dispatchEvent(new KeyboardEvent("keydown", { key: "ArrowLeft" }));
    expect(model.get("selected")).toBe(1);
    root.dispatchEvent(new KeyboardEvent("keydown", { key: "Escape" }));
    expect(model.get("selected")).toBe(-1);
  });

  it("shows the token text and value in a tooltip on hover", () => {
    const { el, tokens } = mount({ tokens: ["a", HOSTILE], values: float32Payload([0.25, 0.5]) });
    tokens()[1].dispatchEvent(new MouseEvent("mousemove", { bubbles: true, clientX: 5, clientY: 5 }));
    const tip = el.querySelector<HTMLElement>(".iw-tooltip")!;
    expect(tip.hidden).toBe(false);
    expect(tip.textContent).toContain(JSON.stringify(HOSTILE));
    expect(tip.textContent).toContain("p: 0.5");
    expect(tip.querySelector("img")).toBeNull();
    el.querySelector(".iw-strip")!.dispatchEvent(new MouseEvent("mouseleave"));
    expect(tip.hidden).toBe(true);
  });

  it("re-renders when tokens and values change", () => {
    const { model, tokens } = mount({ tokens: ["a", "b"], values: float32Payload([1, 2]) });
    model.state.values = float32Payload([1, 2, 3]);
    model.set("tokens", ["x", "y", "z"]);
    expect(tokens().map((s) => s.textContent)).toEqual(["x", "y", "z"]);
    model.set("values", float32Payload([3, 2, 1]));
    expect(tokens()[0].style.backgroundColor).not.toBe(tokens()[2].style.backgroundColor);
  });

  it("cleans up its listeners and DOM", () => {
    const { model, el, cleanup } = mount({ tokens: ["a"], values: float32Payload([1]) });
    cleanup();
    expect(model.listenerCount()).toBe(0);
    expect(el.children).toHaveLength(0);
  });
});
