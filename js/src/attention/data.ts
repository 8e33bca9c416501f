/**
 * Slices of attention data, fetched lazily from the kernel or read from the
 * slices embedded in a static page. Protocol (see the Python AttentionView):
 * send `{type: "slice", key}`; the reply is `{type: "slice", key, arrays:
 * {name: {dtype, shape, scale?, offset?}}, names}` with one buffer per name,
 * or `{type: "slice", key, error}`.
 */

import { decodeArray, type ArrayPayload, type NdArray } from "../lib/arrays";
import type { WidgetModel } from "../lib/model";

export type Slice = Record<string, NdArray>;

interface StaticSlices {
  complete?: boolean;
  slices?: Record<string, Record<string, ArrayPayload>>;
}

interface Reply {
  type?: string;
  key?: string;
  error?: string;
  arrays?: Record<string, Omit<ArrayPayload, "data">>;
  names?: string[];
}

export function decodeReply(reply: Reply, buffers: readonly (ArrayBuffer | ArrayBufferView)[]): Slice {
  const out: Slice = {};
  (reply.names ?? []).forEach((name, i) => {
    const meta = reply.arrays?.[name];
    if (!meta) throw new Error(`slice reply names "${name}" but holds no metadata for it`);
    out[name] = decodeArray({ ...meta, data: buffers[i] } as ArrayPayload);
  });
  return out;
}

export class SliceSource {
  readonly staticPage: boolean;
  readonly complete: boolean;
  private readonly embedded: Record<string, Record<string, ArrayPayload>>;
  private readonly cache = new Map<string, Promise<Slice | null>>();
  private readonly waiting = new Map<string, { resolve: (s: Slice | null) => void; reject: (e: Error) => void }>();
  private readonly model: WidgetModel;
  private readonly onMessage: (...args: unknown[]) => void;

  constructor(model: WidgetModel) {
    this.model = model;
    const st = model.get("static_slices") as StaticSlices | undefined | null;
    this.staticPage = Boolean(st && st.slices);
    this.complete = Boolean(st?.complete);
    this.embedded = st?.slices ?? {};
    this.onMessage = (content: unknown, buffers: unknown) => {
      const reply = content as Reply;
      if (!reply || reply.type !== "slice" || !reply.key) return;
      const pending = this.waiting.get(reply.key);
      if (!pending) return;
      this.waiting.delete(reply.key);
      if (reply.error) pending.reject(new Error(reply.error));
      else pending.resolve(decodeReply(reply, (buffers as ArrayBuffer[]) ?? []));
    };
    model.on("msg:custom", this.onMessage);
  }

  /** True when `key` is available without a kernel. */
  has(key: string): boolean {
    return key in this.embedded;
  }

  /** The slice `key`; null on a static page that does not embed it. */
  get(key: string): Promise<Slice | null> {
    const cached = this.cache.get(key);
    if (cached) return cached;
    let promise: Promise<Slice | null>;
    if (this.has(key)) {
      const arrays = this.embedded[key];
      promise = Promise.resolve(Object.fromEntries(Object.entries(arrays).map(([n, p]) => [n, decodeArray(p)])));
    } else if (this.staticPage) {
      promise = Promise.resolve(null);
    } else {
      promise = new Promise<Slice | null>((resolve, reject) => {
        this.waiting.set(key, { resolve, reject });
        this.model.send({ type: "slice", key });
      });
      promise.catch(() => this.cache.delete(key));
    }
    this.cache.set(key, promise);
    return promise;
  }

  destroy(): void {
    this.model.off("msg:custom", this.onMessage);
    this.waiting.clear();
  }
}
