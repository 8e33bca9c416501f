import { describe, expect, it } from "vitest";
import { SliceCache, SliceSource, sliceBytes, type Slice } from "../src/attention/data";
import { edgeShown } from "../src/attention/logic";
import { FakeModel } from "./helpers";

const slice = (n: number): Slice => ({ a: { shape: [n], data: new Float32Array(n) } });
const settle = () => new Promise((r) => setTimeout(r, 0));

describe("slice cache", () => {
  it("counts decoded bytes", () => {
    expect(sliceBytes(slice(10))).toBe(40);
    expect(sliceBytes(null)).toBe(0);
  });

  it("evicts least recently used slices beyond its byte budget", async () => {
    const cache = new SliceCache(100);
    cache.set("a", Promise.resolve(slice(10)));
    cache.set("b", Promise.resolve(slice(10)));
    await settle();
    expect(cache.bytes).toBe(80);
    cache.get("a"); // a is now the most recently used
    cache.set("c", Promise.resolve(slice(10)));
    await settle();
    expect(cache.keys()).toEqual(["a", "c"]);
    expect(cache.bytes).toBe(80);
  });

  it("keeps one slice larger than the budget and drops failed fetches", async () => {
    const cache = new SliceCache(16);
    cache.set("big", Promise.resolve(slice(100)));
    const failed = Promise.reject(new Error("no"));
    cache.set("bad", failed);
    await failed.catch(() => undefined);
    await settle();
    expect(cache.keys()).toEqual(["big"]);
    expect(cache.bytes).toBe(400);
  });

  it("never evicts a pending fetch", async () => {
    const cache = new SliceCache(40);
    cache.set("pending", new Promise(() => undefined));
    cache.set("x", Promise.resolve(slice(20)));
    await settle();
    expect(cache.keys()).toEqual(["pending", "x"]);
  });
});

describe("slice source with a kernel", () => {
  it("refetches an evicted slice and keeps memory within the budget", async () => {
    const model = new FakeModel({});
    const sent: string[] = [];
    model.send = (content: unknown) => {
      const key = (content as { key: string }).key;
      sent.push(key);
      const reply = { type: "slice", key, arrays: { a: { dtype: "float32", shape: [25] } }, names: ["a"] };
      queueMicrotask(() => (model.handlers.get("msg:custom") ?? []).forEach((h) => h(reply, [new Float32Array(25).buffer])));
    };
    const source = new SliceSource(model, 250);
    for (const key of ["edges:0", "edges:1", "edges:0", "edges:2", "edges:0"]) {
      const s = await source.get(key);
      expect(s?.a.shape).toEqual([25]);
      await settle();
      expect(source.cache.bytes).toBeLessThanOrEqual(250);
    }
    expect(sent).toEqual(["edges:0", "edges:1", "edges:2"]);
    await source.get("edges:1");
    expect(sent).toEqual(["edges:0", "edges:1", "edges:2", "edges:1"]);
    source.destroy();
  });
});

describe("head view hover", () => {
  it("isolates the lines of the hovered token on its side", () => {
    expect(edgeShown(1, 2, -1, "")).toBe(true);
    expect(edgeShown(1, 2, 1, "q")).toBe(true);
    expect(edgeShown(1, 2, 2, "q")).toBe(false);
    expect(edgeShown(1, 2, 2, "k")).toBe(true);
    expect(edgeShown(1, 2, 1, "k")).toBe(false);
  });
});
