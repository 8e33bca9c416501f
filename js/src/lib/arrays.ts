/**
 * Decoding of the binary array payloads sent by the Python `ArrayTrait`.
 *
 * Wire format: `{dtype, shape, data, scale?, offset?}` where `data` is a
 * little-endian binary buffer (a DataView in Jupyter, an ArrayBuffer or typed
 * array elsewhere). `uint8` payloads are quantised: value = offset + scale * q.
 */

export type WireDType = "float32" | "float16" | "uint8";

export interface ArrayPayload {
  dtype: WireDType;
  shape: number[];
  data: DataView | ArrayBuffer | ArrayBufferView;
  scale?: number;
  offset?: number;
}

/** A decoded array: row-major float32 values plus their shape. */
export interface NdArray {
  shape: number[];
  data: Float32Array;
}

const ITEM_SIZE: Record<WireDType, number> = { float32: 4, float16: 2, uint8: 1 };

export function isArrayPayload(value: unknown): value is ArrayPayload {
  if (value === null || typeof value !== "object") return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.dtype === "string" &&
    v.dtype in ITEM_SIZE &&
    Array.isArray(v.shape) &&
    (v.data instanceof ArrayBuffer || ArrayBuffer.isView(v.data))
  );
}

/** Converts one IEEE 754 half-precision bit pattern to a number. */
export function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction ? NaN : sign * Infinity;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

function asBytes(data: ArrayPayload["data"]): Uint8Array {
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

export function elementCount(shape: readonly number[]): number {
  return shape.reduce((n, d) => n * d, 1);
}

/** Decodes a payload into float32 values, checking dtype, shape and size. */
export function decodeArray(payload: ArrayPayload): NdArray {
  if (!isArrayPayload(payload)) {
    throw new TypeError(
      "expected an array payload {dtype: 'float32'|'float16'|'uint8', shape, data: binary buffer}",
    );
  }
  const { dtype, shape } = payload;
  if (!shape.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new RangeError(`array shape must hold non-negative integers, got [${shape.join(", ")}]`);
  }
  const count = elementCount(shape);
  const bytes = asBytes(payload.data);
  const expected = count * ITEM_SIZE[dtype];
  if (bytes.byteLength !== expected) {
    throw new RangeError(
      `array of shape [${shape.join(", ")}] and dtype ${dtype} needs ${expected} bytes, got ${bytes.byteLength}`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(count);
  if (dtype === "float32") {
    for (let i = 0; i < count; i++) out[i] = view.getFloat32(4 * i, true);
  } else if (dtype === "float16") {
    for (let i = 0; i < count; i++) out[i] = halfToFloat(view.getUint16(2 * i, true));
  } else {
    const scale = payload.scale ?? 1;
    const offset = payload.offset ?? 0;
    for (let i = 0; i < count; i++) out[i] = offset + scale * bytes[i];
  }
  return { shape: [...shape], data: out };
}

/** Decodes a payload that must be one-dimensional (one value per token, ...). */
export function decodeVector(payload: ArrayPayload): Float32Array {
  const arr = decodeArray(payload);
  if (arr.shape.length !== 1) {
    throw new RangeError(`expected a 1-D array, got shape [${arr.shape.join(", ")}]`);
  }
  return arr.data;
}

/** Finite minimum and maximum of `values`; [0, 0] when none is finite. */
export function finiteExtent(values: ArrayLike<number>): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (Number.isFinite(v)) {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  return lo <= hi ? [lo, hi] : [0, 0];
}
