/** Test helpers: a minimal in-memory model and array payload builders. */

import type { Handler, WidgetModel } from "../src/lib/model";
import type { ArrayPayload } from "../src/lib/arrays";

export class FakeModel implements WidgetModel {
  state: Record<string, unknown>;
  handlers = new Map<string, Handler[]>();
  setCalls: [string, unknown][] = [];
  saves = 0;

  constructor(state: Record<string, unknown>) {
    this.state = { ...state };
  }
  get(key: string): unknown {
    return this.state[key];
  }
  set(key: string, value: unknown): void {
    this.setCalls.push([key, value]);
    this.state[key] = value;
    for (const h of this.handlers.get(`change:${key}`) ?? []) h(this, value);
  }
  on(event: string, cb: Handler): void {
    this.handlers.set(event, [...(this.handlers.get(event) ?? []), cb]);
  }
  off(event?: string | null, cb?: Handler | null): void {
    if (!event) this.handlers.clear();
    else this.handlers.set(event, (this.handlers.get(event) ?? []).filter((h) => cb && h !== cb));
  }
  save_changes(): void {
    this.saves += 1;
  }
  send(_content?: unknown, _callbacks?: unknown, _buffers?: unknown): void {}
  listenerCount(): number {
    let n = 0;
    for (const hs of this.handlers.values()) n += hs.length;
    return n;
  }
}

/** A float32 payload as Jupyter delivers it (a DataView at an odd offset). */
export function float32Payload(values: number[], shape = [values.length]): ArrayPayload {
  const buffer = new ArrayBuffer(values.length * 4 + 3);
  const view = new DataView(buffer, 3, values.length * 4);
  values.forEach((v, i) => view.setFloat32(4 * i, v, true));
  return { dtype: "float32", shape, data: view };
}
