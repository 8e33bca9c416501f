/**
 * Slices of attention data, fetched lazily from the kernel or read from the
 * slices embedded in a static page. Protocol (see the Python AttentionView):
 * send `{type: "slice", key}`; the reply is `{type: "slice", key, arrays:
 * {name: {dtype, shape, scale?, offset?}}, names}` with one buffer per name,
 * or `{type: "slice", key, error}`.
 *
 * Fetched slices are kept in a least-recently-used cache bounded by decoded
 * bytes (MAX_CACHE_BYTES), so browsing every layer of a long input keeps
 * browser memory bounded; an evicted slice is fetched again when needed.
 * Embedded (static page) slices are decoded on demand through the same cache.
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

/** Bytes held by the decoded arrays of a slice. */
export function sliceBytes(slice: Slice | null): number {
  if (!slice) return 0;
  return Object.values(slice).reduce((n, a) => n + a.data.byteLength, 0);
}

/** Cache budget of a SliceSource, in decoded bytes. */
export const MAX_CACHE_BYTES = 64 * 1024 * 1024;

/**
 * Least-recently-used map of slice promises with a byte budget. An entry counts
 * 0 bytes (and is not evicted) until its promise resolves; the entry just
 * resolved is never evicted, so one slice larger than the budget still works.
 */
export class SliceCache {
  private readonly entries = new Map<string, { promise: Promise<Slice | null>; bytes: number }>();
  private total = 0;

  constructor(readonly budget: number = MAX_CACHE_BYTES) {}

  get bytes(): number {
    return this.total;
  }

  get size(): number {
    return this.entries.size;
  }

  keys(): string[] {
    return [...this.entries.keys()];
  }

  get(key: string): Promise<Slice | null> | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.promise;
  }

  set(key: string, promise: Promise<Slice | null>): void {
    this.delete(key);
    const entry = { promise, bytes: 0 };
    this.entries.set(key, entry);
    promise.then(
      (slice) => {
        if (this.entries.get(key) !== entry) return;
        entry.bytes = sliceBytes(slice);
        this.total += entry.bytes;
        this.evict(key);
      },
      () => this.delete(key),
    );
  }

  delete(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.total -= entry.bytes;
    this.entries.delete(key);
  }

  private evict(keep: string): void {
    for (const [key, entry] of [...this.entries]) {
      if (this.total <= this.budget) return;
      if (key !== keep && entry.bytes > 0) this.delete(key);
    }
  }
}

export class SliceSource {
  readonly staticPage: boolean;
  readonly complete: boolean;
  private readonly embedded: Record<string, Record<string, ArrayPayload>>;
  readonly cache: SliceCache;
  private readonly waiting = new Map<string, { resolve: (s: Slice | null) => void; reject: (e: Error) => void }>();
  private readonly model: WidgetModel;
  private readonly onMessage: (...args: unknown[]) => void;

  constructor(model: WidgetModel, budget: number = MAX_CACHE_BYTES) {
    this.model = model;
    this.cache = new SliceCache(budget);
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
    }
    this.cache.set(key, promise);
    return promise;
  }

  destroy(): void {
    this.model.off("msg:custom", this.onMessage);
    this.waiting.clear();
  }
}
