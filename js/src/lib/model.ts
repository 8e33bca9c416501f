/**
 * The part of the anywidget model interface the views use. Jupyter's model
 * and the standalone host (`standalone_host.ts`) both provide it.
 */

export type Handler = (...args: unknown[]) => void;

export interface WidgetModel {
  get(key: string): unknown;
  set(key: string, value: unknown): void;
  on(event: string, callback: Handler): void;
  off(event?: string | null, callback?: Handler | null): void;
  save_changes(): void;
  send(content: unknown, callbacks?: unknown, buffers?: ArrayBuffer[] | ArrayBufferView[]): void;
}

export interface RenderProps {
  model: WidgetModel;
  el: HTMLElement;
  signal?: AbortSignal;
}

export type RenderResult = void | (() => void) | Promise<void | (() => void)>;

export interface WidgetModule {
  initialize?(props: { model: WidgetModel; signal?: AbortSignal }): unknown;
  render?(props: RenderProps): RenderResult;
}

/**
 * Calls `callback` on `change:<key>` for each key; returns a function that
 * removes exactly these listeners.
 */
export function onChanges(model: WidgetModel, keys: readonly string[], callback: () => void): () => void {
  for (const key of keys) model.on(`change:${key}`, callback);
  return () => {
    for (const key of keys) model.off(`change:${key}`, callback);
  };
}
