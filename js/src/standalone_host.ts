/**
 * Standalone host: runs anywidget modules in a plain page, without Jupyter.
 *
 * `interp_widgets.widgets.save_html` writes a page holding a payload (the
 * widgets' ES modules and states, binary buffers base64-encoded) and a small
 * bootstrap that imports this module and calls `mount`. Each widget gets a
 * `StandaloneModel` implementing the model interface the views use.
 */

import type { Handler, WidgetModel, WidgetModule } from "./lib/model";

export type StatePath = (string | number)[];

export interface SavedWidget {
  /** Key of the widget's ES module in `Payload.modules`. */
  module: string;
  state: Record<string, unknown>;
  buffers: { path: StatePath; data: string }[];
}

/** A two-way link: [[widget index, trait], [widget index, trait]]. */
export type Link = [[number, string], [number, string]];

export interface Payload {
  /** ES module sources, base64-encoded UTF-8. */
  modules: Record<string, string>;
  widgets: SavedWidget[];
  links?: Link[];
}

export function decodeBase64(b64: string): Uint8Array {
  const binary = atob(b64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** Puts each buffer (as a DataView, like Jupyter does) at its path in `state`. */
export function putBuffers(state: Record<string, unknown>, buffers: SavedWidget["buffers"]): void {
  for (const { path, data } of buffers) {
    if (path.length === 0) throw new Error("buffer path must not be empty");
    let node = state as Record<string | number, unknown>;
    for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
    const bytes = decodeBase64(data);
    node[path[path.length - 1]] = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
}

export class StandaloneModel implements WidgetModel {
  /** Number of `save_changes()` calls (a kernel would receive each). */
  saveCount = 0;
  /** Custom messages the view sent; there is no kernel to answer them. */
  readonly sent: unknown[] = [];
  private readonly state: Record<string, unknown>;
  private readonly handlers = new Map<string, Handler[]>();

  constructor(state: Record<string, unknown>) {
    this.state = { ...state };
  }

  get(key: string): unknown {
    return this.state[key];
  }

  set(key: string, value: unknown): void {
    if (this.state[key] === value) return;
    this.state[key] = value;
    this.emit(`change:${key}`, this, value);
    this.emit("change", this);
  }

  on(event: string, callback: Handler): void {
    this.handlers.set(event, [...(this.handlers.get(event) ?? []), callback]);
  }

  off(event?: string | null, callback?: Handler | null): void {
    if (!event) this.handlers.clear();
    else if (!callback) this.handlers.delete(event);
    else this.handlers.set(event, (this.handlers.get(event) ?? []).filter((h) => h !== callback));
  }

  save_changes(): void {
    this.saveCount += 1;
  }

  send(content: unknown): void {
    this.sent.push(content);
  }

  private emit(event: string, ...args: unknown[]): void {
    for (const handler of this.handlers.get(event) ?? []) handler(...args);
  }
}

/** Keeps `a.get(aKey)` and `b.get(bKey)` equal, starting from a's value. */
export function linkModels(a: WidgetModel, aKey: string, b: WidgetModel, bKey: string): void {
  a.on(`change:${aKey}`, () => b.set(bKey, a.get(aKey)));
  b.on(`change:${bKey}`, () => a.set(aKey, b.get(bKey)));
  b.set(bKey, a.get(aKey));
}

/** Imports an ES module from its source text. */
export async function importSource(source: string): Promise<WidgetModule> {
  const url = URL.createObjectURL(new Blob([source], { type: "text/javascript" }));
  try {
    const mod = (await import(/* @vite-ignore */ url)) as { default?: unknown };
    let def: unknown = mod.default ?? mod;
    if (typeof def === "function") def = await (def as () => unknown)();
    return def as WidgetModule;
  } finally {
    URL.revokeObjectURL(url);
  }
}

/** Runs `module`'s initialize and render for one model in `el`. */
export async function renderWidget(module: WidgetModule, model: WidgetModel, el: HTMLElement): Promise<void> {
  const signal = new AbortController().signal;
  await module.initialize?.({ model, signal });
  await module.render?.({ model, el, signal });
}

/** Renders every widget of `payload` into `roots` (one element per widget). */
export async function mount(payload: Payload, roots: HTMLElement[]): Promise<StandaloneModel[]> {
  if (roots.length !== payload.widgets.length) {
    throw new Error(`payload has ${payload.widgets.length} widgets but the page has ${roots.length} roots`);
  }
  const decoder = new TextDecoder();
  const modules = new Map<string, WidgetModule>();
  for (const [key, b64] of Object.entries(payload.modules)) {
    modules.set(key, await importSource(decoder.decode(decodeBase64(b64))));
  }
  const models = payload.widgets.map((w) => {
    const state = { ...w.state };
    putBuffers(state, w.buffers);
    return new StandaloneModel(state);
  });
  for (const [[i, aKey], [j, bKey]] of payload.links ?? []) linkModels(models[i], aKey, models[j], bKey);
  for (const [i, w] of payload.widgets.entries()) {
    const module = modules.get(w.module);
    if (!module) throw new Error(`widget ${i} names module "${w.module}", which the page does not hold`);
    await renderWidget(module, models[i], roots[i]);
  }
  return models;
}
