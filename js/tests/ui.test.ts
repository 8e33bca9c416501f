import { afterEach, describe, expect, it, vi } from "vitest";
import { formatNumber } from "../src/lib/format";
import { onChanges } from "../src/lib/model";
import { injectStyles } from "../src/lib/styles";
import { isDarkTheme, themeColors, themeCss, watchTheme } from "../src/lib/theme";
import { Tooltip } from "../src/lib/tooltip";
import { FakeModel } from "./helpers";

afterEach(() => {
  delete document.body.dataset.jpThemeLight;
  document.body.style.removeProperty("--jp-ui-font-color1");
  document.body.replaceChildren();
});

describe("Tooltip", () => {
  it("shows lines as text and hides", () => {
    const host = document.createElement("div");
    document.body.appendChild(host);
    const tip = new Tooltip(host);
    expect(tip.visible).toBe(false);
    tip.show(["<img src=x onerror=alert(1)>", "value: 1"], 10, 20);
    expect(tip.visible).toBe(true);
    expect(tip.element.querySelector("img")).toBeNull();
    expect(Array.from(tip.element.children, (c) => c.textContent)).toEqual([
      "<img src=x onerror=alert(1)>",
      "value: 1",
    ]);
    expect(tip.element.style.left).toBe("22px");
    tip.hide();
    expect(tip.visible).toBe(false);
    tip.destroy();
    expect(host.children).toHaveLength(0);
  });
});

describe("theme", () => {
  it("follows JupyterLab's data-jp-theme-light flag", () => {
    const el = document.createElement("div");
    document.body.appendChild(el);
    document.body.dataset.jpThemeLight = "false";
    expect(isDarkTheme(el)).toBe(true);
    expect(themeColors(el).background).toBe("#1e1e1e");
    document.body.dataset.jpThemeLight = "true";
    expect(isDarkTheme(el)).toBe(false);
    expect(themeColors(el).foreground).toBe("#1f1f1f");
  });

  it("prefers the --jp-* variables when they are set", () => {
    const el = document.createElement("div");
    document.body.appendChild(el);
    el.style.setProperty("--jp-ui-font-color1", "rgb(1, 2, 3)");
    expect(themeColors(el).foreground).toBe("rgb(1, 2, 3)");
  });

  it("watchTheme fires on a theme switch and stops after cleanup", async () => {
    const callback = vi.fn();
    const stop = watchTheme(callback);
    document.body.dataset.jpThemeLight = "false";
    await new Promise((r) => setTimeout(r, 0));
    expect(callback).toHaveBeenCalled();
    stop();
    callback.mockClear();
    document.body.dataset.jpThemeLight = "true";
    await new Promise((r) => setTimeout(r, 0));
    expect(callback).not.toHaveBeenCalled();
  });

  it("themeCss defines --iw-* variables with --jp-* fallbacks", () => {
    const css = themeCss(".x");
    expect(css).toContain("--iw-foreground: var(--jp-ui-font-color1, #1f1f1f)");
    expect(css).toContain('[data-jp-theme-light="false"] .x');
  });

  it("injectStyles adds one stylesheet per document", () => {
    injectStyles(document);
    injectStyles(document);
    expect(document.querySelectorAll("#interp-widgets-style")).toHaveLength(1);
  });
});

describe("formatNumber", () => {
  it("keeps four significant digits", () => {
    expect(formatNumber(0.123456)).toBe("0.1235");
    expect(formatNumber(12.5)).toBe("12.5");
    expect(formatNumber(-3)).toBe("-3");
    expect(formatNumber(0)).toBe("0");
    expect(formatNumber(1.5e-7)).toBe("1.5e-7");
    expect(formatNumber(123456789)).toBe("1.235e+8");
    expect(formatNumber(NaN)).toBe("NaN");
    expect(formatNumber(-Infinity)).toBe("\u2212\u221e");
  });
});

describe("onChanges", () => {
  it("listens to each key and removes exactly its listeners", () => {
    const model = new FakeModel({ a: 1, b: 2 });
    const cb = vi.fn();
    const stop = onChanges(model, ["a", "b"], cb);
    model.set("a", 5);
    model.set("b", 6);
    expect(cb).toHaveBeenCalledTimes(2);
    stop();
    model.set("a", 7);
    expect(cb).toHaveBeenCalledTimes(2);
    expect(model.listenerCount()).toBe(0);
  });
});
