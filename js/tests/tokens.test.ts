import { describe, expect, it } from "vitest";
import { quotedTokenText, renderTokenStrip, tokenIndexOf, visibleTokenText } from "../src/lib/tokens";

const HOSTILE = ["<img src=x onerror=alert(1)>", "</script><script>alert(2)</script>", "&amp;", "<b>bold</b>"];

describe("visibleTokenText", () => {
  it("shows leading and trailing spaces, newlines and tabs", () => {
    expect(visibleTokenText(" cat")).toBe("\u2423cat");
    expect(visibleTokenText("  a b ")).toBe("\u2423\u2423a b\u2423");
    expect(visibleTokenText("\n")).toBe("\u21b5");
    expect(visibleTokenText("a\tb\r\n")).toBe("a\u21e5b\u240d\u21b5");
    expect(visibleTokenText(" ")).toBe("\u2423");
  });

  it("marks empty tokens and lone combining marks", () => {
    expect(visibleTokenText("")).toBe("\u2205");
    expect(visibleTokenText("\u0301")).toBe("\u25cc\u0301");
    expect(visibleTokenText("e\u0301")).toBe("e\u0301");
  });

  it("leaves other text, including markup characters, unchanged", () => {
    for (const t of HOSTILE) expect(visibleTokenText(t)).toBe(t);
    expect(visibleTokenText("日本語")).toBe("日本語");
    expect(visibleTokenText("שלום")).toBe("שלום");
  });

  it("quotes raw text for tooltips", () => {
    expect(quotedTokenText(" a\n")).toBe('" a\\n"');
  });
});

describe("renderTokenStrip", () => {
  it("creates one span per token holding only a text node", () => {
    const el = document.createElement("div");
    const tokens = ["The", " cat", ...HOSTILE, "日本語", "\n", "end"];
    const spans = renderTokenStrip(el, tokens);
    expect(spans).toHaveLength(tokens.length);
    expect(el.querySelectorAll(".iw-token")).toHaveLength(tokens.length);
    spans.forEach((span, i) => {
      expect(span.childNodes).toHaveLength(1);
      expect(span.firstChild!.nodeType).toBe(Node.TEXT_NODE);
      expect(span.dataset.index).toBe(String(i));
    });
    expect(el.querySelector("img, script, b")).toBeNull();
    expect(spans[2].textContent).toBe(HOSTILE[0]);
    expect(el.querySelectorAll("br")).toHaveLength(1);
  });

  it("replaces the previous strip", () => {
    const el = document.createElement("div");
    renderTokenStrip(el, ["a", "b", "c"]);
    renderTokenStrip(el, ["x"]);
    expect(el.textContent).toBe("x");
  });

  it("finds the token index from an event target", () => {
    const el = document.createElement("div");
    const spans = renderTokenStrip(el, ["a", "b"]);
    expect(tokenIndexOf(spans[1])).toBe(1);
    expect(tokenIndexOf(spans[1].firstChild)).toBe(1);
    expect(tokenIndexOf(el)).toBe(-1);
    expect(tokenIndexOf(null)).toBe(-1);
  });
});
