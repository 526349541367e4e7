// model-lifecycle.ts — the contracts of models loaded and unloaded at run time: a backend's
// model lifecycle (onnx loads its own; a Triton with explicit model control through its
// repository API), and the gateway's repository as the repository APIs (KServe v2, SageMaker
// multi-model) see it. types.ts re-exports them; this file imports nothing.

/** ModelState is where one model (version) of a backend is in its lifecycle. */
export interface ModelState {
  name: string;
  version: string;
  state: 'loading' | 'ready' | 'unavailable' | 'unloading';
  /** Why the model is unavailable (its load error, or "unloaded"). */
  reason?: string;
  /** Seconds the last load took. */
  loadSeconds?: number;
  /** What the loaded model holds in memory, as the backend estimates it (bytes). */
  bytes?: number;
}

/**
 * ModelLifecycle loads and unloads a backend's models at run time: the KServe repository API,
 * SageMaker multi-model endpoints and lazy loading go through it.
 */
export interface ModelLifecycle {
  /** Every model the backend knows: loaded, loading, failed or unloaded. */
  models(): ModelState[];
  /**
   * footprint estimates the bytes `name` will hold once loaded (from `source`, a folder or file,
   * when given; else from the backend's own repository), before loading it. Throws model_not_found.
   */
  footprint(name: string, source?: string): Promise<number>;
  /** load loads `name` (from `source` when given) and resolves when it serves; a second call shares the first. */
  load(name: string, source?: string): Promise<ModelState[]>;
  /** unload stops taking calls for `name`, lets the calls in flight finish, then frees it. */
  unload(name: string): Promise<void>;
}

/** LoadedModel is one model the repository loaded at run time (SageMaker's load model API). */
export interface LoadedModel {
  name: string;
  /** Where it was loaded from (SageMaker's "url"). */
  source: string;
  bytes: number;
}

/** RepositoryEntry is one model in the repository index: its lifecycle state over its targets. */
export interface RepositoryEntry {
  name: string;
  version?: string;
  state: 'LOADING' | 'READY' | 'UNAVAILABLE' | 'UNLOADING';
  reason: string;
}

/**
 * ModelRepository is the gateway's models as the repository APIs see them: the configured ones
 * (loaded and unloaded on their backends) and those loaded at run time from the config's
 * `dynamicModels` template.
 */
export interface ModelRepository {
  /** Every model: configured ones, loaded ones, and those a loadAll backend holds. */
  index(): Promise<RepositoryEntry[]>;
  /** Loads `name`, from `source` when given (a run-time model); 409 model_exists when `exclusive` and loaded. */
  load(name: string, options?: { source?: string; exclusive?: boolean }): Promise<void>;
  /** Unloads `name`: 404 when it is not loaded. */
  unload(name: string): Promise<void>;
  /** The models loaded at run time, by name order. */
  loaded(): LoadedModel[];
  /** Whether run-time loads are configured (a `dynamicModels` block). */
  readonly dynamic: boolean;
}
