// metadata.ts — model metadata as a backend learns it: fetched from the server once (at start,
// or on first use), cached, with the reason kept when the fetch fails so health can report it,
// and fields the config overrides laid on top. Used by the triton, tfserving and torchserve backends.

import type { Logger } from 'pino';
import { z } from 'zod';
import { GatewayError, toGatewayError } from '../../errors.ts';
import { tensorSpecSchema } from '../../tensors/spec.ts';
import type { ModelMetadata } from '../../tensors/tensor.ts';
import type { ModelEndpoint } from '../../types.ts';

/** metadataOverrideSchema is the per-model `metadata` block: what to use instead of what the server reports. */
export const metadataOverrideSchema = z.record(z.string(), z.strictObject({
  inputs: z.array(tensorSpecSchema).optional(),
  outputs: z.array(tensorSpecSchema).optional(),
  maxBatchSize: z.coerce.number().int().min(0).optional(),
})).describe('Per model name: inputs, outputs and maxBatchSize to use instead of what the server reports.');

export type MetadataOverride = z.infer<typeof metadataOverrideSchema>[string];

/** MetadataCache holds one model's metadata: loaded once, shared by concurrent callers, retried after a failure. */
export class MetadataCache {
  #load: (signal: AbortSignal) => Promise<ModelMetadata>;
  #override: MetadataOverride | undefined;
  #value: ModelMetadata | undefined;
  #pending: Promise<ModelMetadata> | undefined;
  #failure: string | undefined;

  constructor(load: (signal: AbortSignal) => Promise<ModelMetadata>, override?: MetadataOverride) {
    this.#load = load;
    this.#override = override;
  }

  /** known gives the cached metadata without fetching. */
  get known(): ModelMetadata | undefined { return this.#value; }

  /** failure gives why the last fetch failed, while no metadata is cached. */
  get failure(): string | undefined { return this.#value === undefined ? this.#failure : undefined; }

  /** get resolves the metadata, fetching it when not cached yet; the fetch is shared and not cancelled by one caller. */
  get(signal?: AbortSignal): Promise<ModelMetadata> {
    if (this.#value !== undefined) return Promise.resolve(this.#value);
    this.#pending ??= this.#fetch();
    const pending = this.#pending;
    if (signal === undefined) return pending;
    return new Promise((resolve, reject) => {
      if (signal.aborted) return reject(toGatewayError(signal.reason));
      const onAbort = (): void => reject(toGatewayError(signal.reason));
      signal.addEventListener('abort', onAbort, { once: true });
      pending.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
    });
  }

  /**
   * refresh fetches the metadata again (a reload: the model may have changed behind an
   * unchanged backend config); on failure the cached metadata stays and the error is thrown.
   */
  async refresh(): Promise<void> {
    if (this.#value === undefined) {
      await this.get();
      return;
    }
    this.#value = applyOverride(await this.#load(AbortSignal.timeout(10_000)), this.#override);
  }

  async #fetch(): Promise<ModelMetadata> {
    try {
      const meta = applyOverride(await this.#load(AbortSignal.timeout(10_000)), this.#override);
      this.#value = meta;
      this.#failure = undefined;
      return meta;
    } catch (err) {
      const e = toGatewayError(err, 'metadata fetch');
      this.#failure = e.message;
      // A model or version the server does not have is the client's 404, not a 503 to retry.
      throw new GatewayError(e.code === 'not_found' || e.code === 'model_not_found' ? 'model_not_found' : 'backend_unavailable',
        `model metadata is not available: ${e.message}`, { cause: err });
    } finally {
      this.#pending = undefined;
    }
  }
}

/**
 * ModelTable keeps a metadata-discovering backend's endpoints, one per model and version, each
 * with its MetadataCache. Metadata is fetched for every endpoint when the backend starts, and at
 * once for an endpoint made later (a reload); a failed fetch is logged and retried on use.
 */
export class ModelTable {
  #entries = new Map<string, { endpoint: ModelEndpoint; cache: MetadataCache; model: string }>();
  #started = false;
  #backend: string;
  #log: Logger;

  constructor(backend: string, log: Logger) {
    this.#backend = backend;
    this.#log = log;
  }

  /** endpoint gives the model's endpoint, making it (and its cache) on first use. */
  endpoint(model: string, version: string | undefined, make: () => { endpoint: ModelEndpoint; cache: MetadataCache }): ModelEndpoint {
    const key = keyOf(model, version);
    let entry = this.#entries.get(key);
    if (entry === undefined) {
      entry = { ...make(), model };
      this.#entries.set(key, entry);
      if (this.#started) this.#prefetch(entry.cache, model);
    }
    return entry.endpoint;
  }

  /**
   * forget drops the model's endpoint and its cached metadata (the gateway no longer serves
   * that version): a later endpoint() for it makes a new one, which fetches the metadata again.
   */
  forget(model: string, version: string | undefined): void {
    this.#entries.delete(keyOf(model, version));
  }

  /** start fetches the metadata of every endpoint made so far. */
  start(): void {
    this.#started = true;
    for (const { cache, model } of this.#entries.values()) this.#prefetch(cache, model);
  }

  /** refresh fetches every endpoint's metadata again; a failure keeps what was cached and is logged. */
  async refresh(): Promise<void> {
    await Promise.all([...this.#entries.values()].map(({ cache, model }) => cache.refresh().catch((err: unknown) => {
      this.#log.warn({ backend: this.#backend, model, err: (err as Error).message }, 'model metadata not refreshed; keeping what was cached');
    })));
  }

  /** firstModel names some model served, for servers whose health is asked per model. */
  firstModel(): string | undefined {
    return this.#entries.values().next().value?.model;
  }

  #prefetch(cache: MetadataCache, model: string): void {
    cache.get().catch((err: unknown) => this.#log.warn({ backend: this.#backend, model, err: (err as Error).message }, 'model metadata not available'));
  }
}

function keyOf(model: string, version: string | undefined): string {
  return `${model}\u0000${version ?? ''}`;
}

/** applyOverride lays the configured inputs, outputs and maxBatchSize over the fetched metadata. */
export function applyOverride(meta: ModelMetadata, override: MetadataOverride | undefined): ModelMetadata {
  if (override === undefined) return meta;
  return {
    ...meta,
    ...(override.inputs === undefined ? {} : { inputs: override.inputs }),
    ...(override.outputs === undefined ? {} : { outputs: override.outputs }),
    ...(override.maxBatchSize === undefined ? {} : { maxBatchSize: override.maxBatchSize }),
  };
}
