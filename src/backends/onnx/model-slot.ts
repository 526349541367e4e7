// model-slot.ts — one ONNX model's lifecycle: unloaded → loading → ready, or unavailable with
// the load error; ready → unloading → unloaded. Concurrent first calls share one load; an
// unload stops new calls at once and frees the sessions only once the calls in flight have
// finished, so no accepted call is cut off.

import { GatewayError } from '../../errors.ts';
import type { ModelState } from '../../types.ts';
import type { ModelFile } from './repository.ts';

/** SlotState is a model's lifecycle state; "unloaded" is not loaded yet (lazy) or unloaded on request. */
export type SlotState = 'unloaded' | 'loading' | 'ready' | 'unavailable' | 'unloading';

/** Loader finds the files of a model (when not known yet), loads them, and says what they hold and how to free them. */
export type Loader<L> = (files: ModelFile[] | undefined) => Promise<{ files: ModelFile[]; loaded: L[]; bytes: number; close(): Promise<void> }>;

/** ModelSlot holds one model name's versions through their lifecycle. */
export class ModelSlot<L> {
  readonly name: string;
  /** The files the model loads (its versions under the version policy), once known. */
  files: ModelFile[] | undefined;
  /** Where it was loaded from at run time (SageMaker's url), when it was. */
  readonly source: string | undefined;
  state: SlotState = 'unloaded';
  reason: string | undefined;
  loadSeconds: number | undefined;
  bytes: number | undefined;
  #loaded: L[] = [];
  #close: (() => Promise<void>) | undefined;
  #loading: Promise<void> | undefined;
  #inFlight = 0;
  #drained: Array<() => void> = [];
  #loader: Loader<L>;

  constructor(name: string, files: ModelFile[] | undefined, loader: Loader<L>, source?: string) {
    this.name = name;
    this.files = files;
    this.#loader = loader;
    this.source = source;
  }

  get inFlight(): number { return this.#inFlight; }
  get loaded(): readonly L[] { return this.#loaded; }

  /** load loads the model unless it is loaded or loading (then it joins that load); throws its load error. */
  load(): Promise<void> {
    if (this.state === 'ready') return Promise.resolve();
    if (this.#loading !== undefined) return this.#loading;
    if (this.state === 'unloading') return Promise.reject(new GatewayError('backend_unavailable', `model "${this.name}" is being unloaded`));
    this.state = 'loading';
    this.reason = undefined;
    const started = performance.now();
    this.#loading = this.#loader(this.files).then((r) => {
      this.files = r.files;
      this.#loaded = r.loaded;
      this.#close = r.close;
      this.bytes = r.bytes;
      this.state = 'ready';
      this.loadSeconds = (performance.now() - started) / 1000;
    }, (err: unknown) => {
      this.state = 'unavailable';
      this.reason = (err as Error).message;
      this.loadSeconds = (performance.now() - started) / 1000;
      throw err;
    }).finally(() => { this.#loading = undefined; });
    return this.#loading;
  }

  /**
   * acquire counts a call in: it waits for a load in progress (or starts one when `lazy` and the
   * model is not loaded), and refuses with 503 while the model is unavailable or unloading.
   * The caller must release() once the call has ended.
   */
  async acquire(lazy: boolean): Promise<void> {
    // A model unloaded on request stays unloaded until loaded again on request.
    if (this.state === 'loading' || (this.state === 'unloaded' && lazy && this.reason !== 'unloaded')) await this.load();
    if (this.state !== 'ready') {
      const why = this.state === 'unloading' ? 'is being unloaded' : this.state === 'unloaded' ? 'is not loaded' : `failed to load: ${this.reason ?? 'unknown'}`;
      throw new GatewayError('backend_unavailable', `model "${this.name}" ${why}`);
    }
    this.#inFlight++;
  }

  release(): void {
    this.#inFlight--;
    if (this.#inFlight === 0) for (const done of this.#drained.splice(0)) done();
  }

  /** unload refuses new calls now, waits for those in flight, then frees the sessions. */
  async unload(): Promise<void> {
    if (this.#loading !== undefined) await this.#loading.catch(() => {});
    if (this.state !== 'ready') {
      this.state = 'unloaded';
      return;
    }
    this.state = 'unloading';
    if (this.#inFlight > 0) await new Promise<void>((resolve) => this.#drained.push(resolve));
    const close = this.#close;
    this.#loaded = [];
    this.#close = undefined;
    try {
      await close?.();
    } finally {
      this.state = 'unloaded';
      this.reason = 'unloaded';
    }
  }

  /** close frees the sessions at once (backend shutdown: the pools fail what they still hold). */
  async close(): Promise<void> {
    const close = this.#close;
    this.#loaded = [];
    this.#close = undefined;
    this.state = 'unloaded';
    await close?.();
  }

  /** states gives one entry per version, as the repository index lists them. */
  states(): ModelState[] {
    const state: ModelState['state'] = this.state === 'unloaded' ? 'unavailable' : this.state;
    const reason = this.state === 'unloaded' ? (this.reason ?? 'not loaded yet (loads on first use)') : this.reason;
    return (this.files ?? [{ name: this.name, version: '', path: '' }]).map((f) => ({
      name: this.name, version: f.version, state,
      ...(reason === undefined ? {} : { reason }),
      ...(this.loadSeconds === undefined ? {} : { loadSeconds: this.loadSeconds }),
      ...(this.bytes === undefined || this.state !== 'ready' ? {} : { bytes: Math.round(this.bytes / (this.files?.length ?? 1)) }),
    }));
  }
}
