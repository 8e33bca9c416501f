import { describe, expect, it } from "vitest";
import { decodeArray, decodeVector, finiteExtent, halfToFloat, isArrayPayload } from "../src/lib/arrays";
import { float32Payload } from "./helpers";

describe("halfToFloat", () => {
  it("decodes normal, subnormal and special half floats", () => {
    expect(halfToFloat(0x3c00)).toBe(1);
    expect(halfToFloat(0xc000)).toBe(-2);
    expect(halfToFloat(0x3800)).toBe(0.5);
    expect(halfToFloat(0x7bff)).toBe(65504);
    expect(halfToFloat(0x0001)).toBe(2 ** -24);
    expect(halfToFloat(0x8000)).toBe(-0);
    expect(halfToFloat(0x7c00)).toBe(Infinity);
    expect(halfToFloat(0xfc00)).toBe(-Infinity);
    expect(halfToFloat(0x7e00)).toBeNaN();
    expect(halfToFloat(0x3555)).toBeCloseTo(1 / 3, 3);
  });
});

describe("decodeArray", () => {
  it("decodes float32 from a DataView at an unaligned offset", () => {
    const arr = decodeArray(float32Payload([1.5, -2, 3.25, 0, 7, 8], [2, 3]));
    expect(arr.shape).toEqual([2, 3]);
    expect(Array.from(arr.data)).toEqual([1.5, -2, 3.25, 0, 7, 8]);
  });

  it("decodes float16 little-endian", () => {
    const bytes = new Uint8Array([0x00, 0x3c, 0x00, 0xc0, 0x00, 0x7e]);
    const arr = decodeArray({ dtype: "float16", shape: [3], data: bytes.buffer });
    expect(arr.data[0]).toBe(1);
    expect(arr.data[1]).toBe(-2);
    expect(arr.data[2]).toBeNaN();
  });

  it("dequantises uint8 with scale and offset", () => {
    const data = new Uint8Array([0, 128, 255]);
    const arr = decodeArray({ dtype: "uint8", shape: [3], data, scale: 0.5, offset: -10 });
    expect(Array.from(arr.data)).toEqual([-10, 54, 117.5]);
  });

  it("treats missing scale/offset on uint8 as the identity", () => {
    const arr = decodeArray({ dtype: "uint8", shape: [2], data: new Uint8Array([3, 250]) });
    expect(Array.from(arr.data)).toEqual([3, 250]);
  });

  it("accepts empty arrays", () => {
    const arr = decodeArray({ dtype: "float32", shape: [0], data: new ArrayBuffer(0) });
    expect(arr.data.length).toBe(0);
  });

  it("rejects a byte length that does not match the shape", () => {
    expect(() => decodeArray({ dtype: "float32", shape: [3], data: new ArrayBuffer(8) })).toThrow(
      /needs 12 bytes, got 8/,
    );
  });

  it("rejects bad shapes and non-payloads", () => {
    expect(() => decodeArray({ dtype: "uint8", shape: [-1], data: new ArrayBuffer(0) })).toThrow(RangeError);
    expect(() => decodeArray({ dtype: "int64", shape: [1], data: new ArrayBuffer(8) } as never)).toThrow(
      TypeError,
    );
    expect(() => decodeArray([1, 2, 3] as never)).toThrow(/array payload/);
  });
});

describe("helpers", () => {
  it("recognises payloads", () => {
    expect(isArrayPayload(float32Payload([1]))).toBe(true);
    expect(isArrayPayload({ dtype: "float32", shape: [1], data: [1] })).toBe(false);
    expect(isArrayPayload(null)).toBe(false);
  });

  it("decodeVector insists on one dimension", () => {
    expect(Array.from(decodeVector(float32Payload([1, 2])))).toEqual([1, 2]);
    expect(() => decodeVector(float32Payload([1, 2], [1, 2]))).toThrow(/1-D/);
  });

  it("finiteExtent skips NaN and infinities", () => {
    expect(finiteExtent([3, NaN, -1, Infinity, 2])).toEqual([-1, 3]);
    expect(finiteExtent([NaN])).toEqual([0, 0]);
    expect(finiteExtent([])).toEqual([0, 0]);
  });
});
