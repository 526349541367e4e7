// model-store.ts — the models loaded at run time from the config's `dynamicModels` template
// (SageMaker's load model API, KServe repository loads of models the config does not name):
// each is one pipeline over the template's backend, counted against the memory budget, and the
// least recently used is unloaded to make room (or the load is refused with 507). An unloaded
// model stops being found at once; the calls already in it finish before its sessions go.
// Caller-chosen names never become metric labels: every such model is "_runtime" in metrics.

import type { Logger } from 'pino';
import { GatewayError } from '../errors.ts';
import { modelEvictions } from '../observe/metrics.ts';
import { modelPipeline, type ModelPipeline } from '../pipeline.ts';
import { targetSchema, type DynamicModelsConfig, type ModelConfig } from '../schema.ts';
import { withOverride } from '../target.ts';
import type { Backend, Health, LoadedModel, ModelHandle, ModelLifecycle } from '../types.ts';

/** runtimeModel is the model (and target) name of every run-time model in metrics and logs' metric fields. */
export const runtimeModel = '_runtime';

interface Dynamic {
  name: string;
  source: string;
  bytes: number;
  pipeline: ModelPipeline;
  handle: ModelHandle;
  lastUsed: number;
  inFlight: number;
  drained: Array<() => void>;
}

/** ModelStore holds the models loaded at run time; one per dynamicModels block, kept over reloads that keep it. */
export class ModelStore {
  readonly config: DynamicModelsConfig;
  readonly backend: Backend;
  #log: Logger;
  #models = new Map<string, Dynamic>();
  // Loads in progress, with the bytes they hold back from the budget.
  #pending = new Map<string, { bytes: number; done: Promise<void> }>();
  // Unloads in progress: a load of the same name waits for its unload to finish.
  #unloading = new Map<string, Promise<void>>();
  #clock = 0;

  constructor(config: DynamicModelsConfig, backend: Backend, log: Logger) {
    if (backend.lifecycle === undefined) {
      throw new GatewayError('bad_config', `dynamicModels.backend "${backend.name}" is a ${backend.type} backend, which does not load models itself; use an onnx backend, or a triton one with modelControl: true`);
    }
    this.config = config;
    this.backend = backend;
    this.#log = log;
  }

  get #lifecycle(): ModelLifecycle { return this.backend.lifecycle!; }

  /** handle gives a loaded model's handle (a loadAll backend's repository model gets one on first ask). */
  handle(name: string): ModelHandle | undefined {
    const m = this.#models.get(name);
    if (m !== undefined) return m.handle;
    // Loading, or being unloaded (its backend model still serves the calls in flight): not one to adopt.
    if (this.#pending.has(name) || this.#unloading.has(name)) return undefined;
    // A loadAll backend's repository model that no configured model names: served by the template.
    const held = this.#lifecycle.models().filter((s) => s.name === name && s.state === 'ready');
    if (held.length === 0) return undefined;
    return this.#register(name, name, held.reduce((a, s) => a + (s.bytes ?? 0), 0)).handle;
  }

  has(name: string): boolean { return this.#models.has(name) || this.#pending.has(name); }

  /** loaded lists the loaded models by name. */
  loaded(): LoadedModel[] {
    return [...this.#models.values()].map((m) => ({ name: m.name, source: m.source, bytes: m.bytes })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** usedBytes is what the loaded models and the loads in progress hold. */
  usedBytes(): number {
    let used = 0;
    for (const m of this.#models.values()) used += m.bytes;
    for (const p of this.#pending.values()) used += p.bytes;
    return used;
  }

  /**
   * load loads `name` from `source` (a folder or file; the backend's repository when absent):
   * 409 model_exists when it is loaded or loading, 507 insufficient_memory when it cannot fit.
   */
  async load(name: string, source?: string): Promise<void> {
    if (this.has(name)) throw new GatewayError('model_exists', `model "${name}" is already loaded`);
    // Taken at once, so a load of the same name arriving meanwhile is 409, not a second load.
    let finish!: () => void;
    const pending = { bytes: 0, done: new Promise<void>((r) => { finish = r; }) };
    this.#pending.set(name, pending);
    let loading = false;
    try {
      await this.#unloading.get(name);
      const bytes = await this.#lifecycle.footprint(name, source);
      await this.#makeRoom(name, bytes);
      pending.bytes = bytes;
      loading = true;
      await this.#lifecycle.load(name, source);
      const entry = this.#register(name, source ?? name, pending.bytes);
      const target = entry.pipeline.targets[0]!;
      // Registered: from here the model is loaded, whatever its first health check says.
      loading = false;
      target.health = await target.endpoint.health().catch((err: unknown) => ({ ready: false, reason: (err as Error).message }));
      this.#log.info({ model: name, source: entry.source, bytes: entry.bytes, usedBytes: this.usedBytes() }, `model ${name} loaded at run time`);
    } catch (err) {
      // A failed load leaves nothing behind (the backend may hold a failed slot); a name the
      // backend already had (model_exists) is not this load's to unload.
      if (loading && !(err instanceof GatewayError && err.code === 'model_exists')) await this.#lifecycle.unload(name).catch(() => {});
      throw err;
    } finally {
      this.#pending.delete(name);
      finish();
    }
  }

  /** unload stops finding `name` now, lets its calls in flight finish, then frees it; 404 when not loaded. */
  async unload(name: string): Promise<void> {
    const m = this.#models.get(name);
    if (m === undefined) {
      const pending = this.#pending.get(name);
      if (pending === undefined) throw new GatewayError('model_not_found', `model "${name}" is not loaded`);
      await pending.done;
      return this.unload(name);
    }
    this.#models.delete(name);
    const done = (async () => {
      if (m.inFlight > 0) await new Promise<void>((resolve) => m.drained.push(resolve));
      await m.pipeline.close();
      await this.#lifecycle.unload(name).catch((err: unknown) => this.#log.warn({ model: name, err: (err as Error).message }, 'unloading a run-time model failed'));
    })();
    this.#unloading.set(name, done);
    try {
      await done;
    } finally {
      if (this.#unloading.get(name) === done) this.#unloading.delete(name);
    }
    this.#log.info({ model: name }, `model ${name} unloaded`);
  }

  /** pollHealth refreshes each loaded model's target health (the ready stage reads it). */
  async pollHealth(): Promise<void> {
    await Promise.all([...this.#models.values()].map(async (m) => {
      const t = m.pipeline.targets[0]!;
      try {
        t.health = await t.endpoint.health(AbortSignal.timeout(5000));
      } catch (err) {
        t.health = { ready: false, reason: (err as Error).message };
      }
    }));
  }

  status(): Record<string, unknown> {
    return {
      backend: this.backend.name, usedBytes: this.usedBytes(), maxModelsMemory: this.config.maxModelsMemory ?? null,
      models: Object.fromEntries([...this.#models.values()].map((m) => [m.name, { source: m.source, bytes: m.bytes, inFlight: m.inFlight }])),
    };
  }

  /** close unloads every model at once (the gateway is closing, or a reload replaced the store). */
  async close(): Promise<void> {
    await Promise.allSettled([...this.#models.keys()].map((n) => this.unload(n)));
  }

  // makeRoom evicts least recently used models until `bytes` (and one more model) fit, or throws 507.
  async #makeRoom(name: string, bytes: number): Promise<void> {
    const budget = this.config.maxModelsMemory;
    // The pending entries include this load's own (holding no bytes yet).
    const fits = (): boolean => (budget === undefined || this.usedBytes() + bytes <= budget) && this.#models.size + this.#pending.size <= this.config.maxModels;
    if (budget !== undefined && bytes > budget) {
      throw new GatewayError('insufficient_memory', `model "${name}" needs about ${bytes} bytes, more than the whole budget (maxModelsMemory ${budget})`);
    }
    while (!fits()) {
      const idle = [...this.#models.values()].sort((a, b) => a.lastUsed - b.lastUsed)[0];
      if (this.config.whenFull === 'refuse' || idle === undefined) {
        throw new GatewayError('insufficient_memory', `model "${name}" (about ${bytes} bytes) does not fit: ${this.usedBytes()} of ${budget ?? 'unbounded'} bytes and ` +
          `${this.#models.size} of ${this.config.maxModels} models are in use; unload a model first`);
      }
      modelEvictions.inc();
      this.#log.info({ model: idle.name, for: name }, `unloading ${idle.name}, the least recently used model, to make room for ${name}`);
      await this.unload(idle.name);
    }
  }

  #register(name: string, source: string, bytes: number): Dynamic {
    const pipeline = modelPipeline(runtimeModel, this.#modelConfig(name), { backends: new Map([[this.backend.name, this.backend]]), log: this.#log });
    // Loaded just now: ready until the next health poll says otherwise.
    pipeline.targets[0]!.health = { ready: true };
    const entry: Dynamic = { name, source, bytes, pipeline, handle: undefined!, lastUsed: ++this.#clock, inFlight: 0, drained: [] };
    entry.handle = this.#handleOf(entry);
    this.#models.set(name, entry);
    return entry;
  }

  #modelConfig(name: string): ModelConfig {
    const target = targetSchema.parse({ name: 'runtime', backend: this.backend.name, model: name });
    return { ...this.config.template, targets: [target] } as ModelConfig;
  }

  #handleOf(m: Dynamic): ModelHandle {
    const target = m.pipeline.targets[0]!;
    return {
      name: m.name,
      infer: async (req, ctx) => {
        ctx.model = runtimeModel;
        m.lastUsed = ++this.#clock;
        m.inFlight++;
        try {
          return await m.pipeline.infer(req, ctx);
        } finally {
          m.inFlight--;
          if (m.inFlight === 0) for (const done of m.drained.splice(0)) done();
        }
      },
      metadata: async () => withOverride(await target.endpoint.metadata(), this.config.template.metadata, m.name),
      ready: () => target.health.ready && m.pipeline.ready(),
      health: async (): Promise<Health> => target.endpoint.health(),
    };
  }
}
