import { describe, expect, it, vi } from "vitest";
import { decodeBase64, linkModels, putBuffers, renderWidget, StandaloneModel } from "../src/standalone_host";

describe("StandaloneModel", () => {
  it("gets, sets and fires change events like the anywidget model", () => {
    const model = new StandaloneModel({ selected: -1 });
    const onKey = vi.fn();
    const onAny = vi.fn();
    model.on("change:selected", onKey);
    model.on("change", onAny);
    model.set("selected", 3);
    expect(model.get("selected")).toBe(3);
    expect(onKey).toHaveBeenCalledWith(model, 3);
    expect(onAny).toHaveBeenCalledTimes(1);
    model.set("selected", 3);
    expect(onKey).toHaveBeenCalledTimes(1);
    model.off("change:selected", onKey);
    model.set("selected", 4);
    expect(onKey).toHaveBeenCalledTimes(1);
    model.off();
    model.set("selected", 5);
    expect(onAny).toHaveBeenCalledTimes(2);
  });

  it("counts save_changes and records sent messages", () => {
    const model = new StandaloneModel({});
    model.save_changes();
    model.send({ kind: "fetch" });
    expect(model.saveCount).toBe(1);
    expect(model.sent).toEqual([{ kind: "fetch" }]);
  });
});

describe("buffers", () => {
  it("decodes base64 and puts DataViews at nested paths", () => {
    expect(Array.from(decodeBase64("AAEC/w=="))).toEqual([0, 1, 2, 255]);
    const state: Record<string, unknown> = { values: { dtype: "uint8", shape: [4] }, list: [{}, {}] };
    putBuffers(state, [
      { path: ["values", "data"], data: "AAEC/w==" },
      { path: ["list", 1, "data"], data: "AQ==" },
    ]);
    const view = (state.values as { data: DataView }).data;
    expect(view).toBeInstanceOf(DataView);
    expect(view.getUint8(3)).toBe(255);
    expect(((state.list as unknown[])[1] as { data: DataView }).data.byteLength).toBe(1);
    expect(() => putBuffers(state, [{ path: [], data: "" }])).toThrow(/empty/);
  });
});

describe("links and rendering", () => {
  it("keeps linked traits equal in both directions", () => {
    const a = new StandaloneModel({ selected: 2 });
    const b = new StandaloneModel({ selected: -1 });
    linkModels(a, "selected", b, "selected");
    expect(b.get("selected")).toBe(2);
    b.set("selected", 0);
    expect(a.get("selected")).toBe(0);
    a.set("selected", 1);
    expect(b.get("selected")).toBe(1);
  });

  it("runs initialize then render with model and element", async () => {
    const calls: string[] = [];
    const model = new StandaloneModel({ x: 1 });
    const el = document.createElement("div");
    await renderWidget(
      {
        initialize: ({ model: m }) => calls.push(`init ${m.get("x")}`),
        render: ({ model: m, el: e }) => {
          e.textContent = String(m.get("x"));
          calls.push("render");
        },
      },
      model,
      el,
    );
    expect(calls).toEqual(["init 1", "render"]);
    expect(el.textContent).toBe("1");
  });
});
