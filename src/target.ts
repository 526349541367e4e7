// target.ts — one target of a model: its stages over the backend's model endpoint, its live
// readiness (the gateway's health poll writes it), and for a target open to any version
// (`versions: any`) a bounded set of per-version paths made on first use. A reload keeps a
// target's path (its breaker, batcher fit, version paths) when its effective config and its
// backend are the same (`sameTarget`).

import { isDeepStrictEqual } from 'node:util';
import type { Logger } from 'pino';
import { compose, type Composed } from './compose.ts';
import { derive, spanned } from './observe/trace.ts';
import { TargetStats } from './observe/model-stats.ts';
import { createVersionPaths, type VersionPaths } from './routing/version-paths.ts';
import { targetName, type ModelConfig, type TargetConfig } from './schema.ts';
import { rowsOf } from './tensors/shape.ts';
import type { InferResponse, ModelMetadata } from './tensors/tensor.ts';
import type { Backend, Health, Infer, ModelEndpoint, ModelLookup, RoutedTarget, StagePlugin, TargetStageDeps } from './types.ts';

/** PipelineDeps is what the gateway hands each model's pipeline. */
export interface PipelineDeps {
  backends: ReadonlyMap<string, Backend>;
  log: Logger;
  /** The state's model handles, looked up when a call is made: a graph model's steps call them. */
  models?: ModelLookup;
}

/** TargetPath is one target as the gateway keeps it. */
export interface TargetPath extends RoutedTarget {
  backend: string;
  /** The model name on the backend. */
  model: string;
  endpoint: ModelEndpoint;
  /** The last health poll of the target. */
  health: Health;
  /** The path a call takes: the target's own, or the one of a version it does not pin. */
  path(version?: string): Infer;
  /** The endpoint serving `version` (the target's own when undefined or pinned). */
  endpointFor(version?: string): ModelEndpoint;
  status(): Record<string, unknown>;
  /** Builds the target's own stages now, when they are not yet (they are built on first use otherwise). */
  build(): void;
  close(): Promise<void>;
  /** What the path was built from: a reload reuses the path when both are the same. */
  readonly origin: { backend: Backend; settings(): unknown };
  /** Its calls and backend executions as Triton's statistics extension counts them (GET /v2/models/{m}/stats). */
  readonly stats: TargetStats;
}

interface BuiltPath { endpoint: ModelEndpoint; infer: Infer; built: Composed }

/**
 * openTarget makes a target from its config over the model's, with `stages` in order (`known`:
 * its targetSettings, when already computed; `modelLog`: the model's logger, its own made from
 * it). Its stages are built on first use (a call, its availability or its status): a config of
 * 20,000 targets most of which see no traffic soon starts in a fraction of the time and memory.
 * Its endpoint is made at once (the health poll reads it).
 */
export function openTarget(model: string, config: ModelConfig, t: TargetConfig,
  stages: ReadonlyArray<StagePlugin<any, TargetStageDeps>>, deps: PipelineDeps, known?: unknown, modelLog: () => Logger = () => deps.log): TargetPath {
  const backend = deps.backends.get(t.backend)!;
  const backendModel = t.model ?? model;
  const name = targetName(t, model);
  let log: Logger | undefined;
  let stageConfig: Record<string, unknown> | undefined;
  const stats = new TargetStats();
  const build = (endpoint: ModelEndpoint, label: string): BuiltPath => {
    log ??= modelLog().child({ target: name });
    if (stageConfig === undefined) {
      // A target's own keys (batching) override its model's.
      stageConfig = { ...config };
      for (const [key, value] of Object.entries(t)) if (value !== undefined) stageConfig[key] = value;
    }
    const built = compose(stages, stageConfig, {
      model, target: label, backend: t.backend, log, endpoint, health: () => target.health,
      ...(config.metadata?.maxBatchSize === undefined ? {} : { maxBatchSize: config.metadata.maxBatchSize }),
    });
    // Timed twice: the whole target path (a request), and each backend call (an execution: a batch),
    // which is also a client span per attempt when the call is traced.
    const execute = timed(attempt(endpoint.infer, label, t.backend), (ok, rows, ns) => stats.execution(ok, rows, ns));
    return { endpoint, built, infer: timed(built.stage(execute), (ok, rows, ns) => stats.call(ok, rows, ns)) };
  };
  const endpoint = backend.model(backendModel, t.version);
  let built: BuiltPath | undefined;
  let closed = false;
  const own = (): BuiltPath => {
    if (built !== undefined) return built;
    built = build(endpoint, name);
    // Built after the target closed (a call that raced the close): its stages refuse as a closed path's do.
    if (closed) void built.built.close();
    return built;
  };
  // Calls for versions no target pins carry one name: metric labels come from the config only.
  const openLabel = `${name}@any`;
  let settings = known;
  const versions: VersionPaths<BuiltPath> | undefined = t.versions !== 'any' ? undefined : createVersionPaths<BuiltPath>({
    target: name,
    max: t.maxVersions,
    make: (v) => build(backend.model(backendModel, v), openLabel),
    evict: async (v, p) => {
      await p.built.close();
      backend.forget?.(backendModel, v);
    },
  });
  // One literal without spreads or getters, so that 20,000 of them stay fast objects (not dictionaries).
  const target: TargetPath = {
    name, backend: t.backend, model: backendModel, weight: t.weight, endpoint,
    health: { ready: false, reason: 'not checked yet' },
    available: () => own().built.available(),
    path: (version) => (version === undefined || versions === undefined ? own().infer : versions.path(version).infer),
    endpointFor: (version) => (version === undefined || version === t.version || versions === undefined ? endpoint : versions.path(version).endpoint),
    status: () => ({
      name, backend: t.backend, ready: target.health.ready, reason: target.health.reason, ...own().built.status(),
      ...(versions === undefined ? {} : { versions: versions.status() }),
    }),
    build: () => { own(); },
    // A path never built has nothing to close.
    close: async () => {
      closed = true;
      await Promise.allSettled([built?.built.close(), versions?.close()]);
    },
    // Worked out when a reload first compares it (a first build never does).
    origin: { backend, settings: () => (settings ??= targetSettings(model, config, t, stages)) },
    stats,
  };
  if (t.version !== undefined) target.version = t.version;
  if (versions !== undefined) target.versionLabel = () => openLabel;
  return target;
}

/**
 * attempt is the bottom of a target's path: when the call is traced, each backend call (each
 * retry too) is a client span, and the traceparent the backend gets names it; else the call as is.
 */
export function attempt(infer: Infer, target: string, backend: string): Infer {
  return (req, ctx) => {
    const parent = ctx.trace;
    if (parent === undefined) return infer(req, ctx);
    const span = parent.child('backend call', 'client', {
      'infergate.target': target, 'infergate.backend': backend, 'http.request.resend_count': ctx.retry ?? 0,
    });
    return spanned(span, infer(req, derive(ctx, { trace: span, forward: { ...ctx.forward, ...span.headers() } })));
  };
}

// timed calls `done` with the outcome, the rows and the nanoseconds of each call of `infer`.
// performance.now() (a double, in ms to the µs) rather than hrtime.bigint(): two BigInts per
// call, twice per request, were allocations the hot path's profile showed.
function timed(infer: Infer, done: (ok: boolean, rows: number, ns: number) => void): Infer {
  return (req, ctx) => {
    const start = performance.now();
    let work: Promise<InferResponse>;
    try {
      work = infer(req, ctx);
    } catch (err) {
      work = Promise.reject(err);
    }
    return work.then((res) => {
      done(true, rowsOf(req), Math.round((performance.now() - start) * 1e6));
      return res;
    }, (err: unknown) => {
      done(false, rowsOf(req), Math.round((performance.now() - start) * 1e6));
      throw err;
    });
  };
}

// The config keys a list of stages reads, found once per list (a config may hold 20,000 targets).
const stageKeys = new WeakMap<ReadonlyArray<StagePlugin<any, TargetStageDeps>>, Set<string>>();

/**
 * targetSettings is a target's effective config: its own block, and of its model's block the
 * keys its stages read (their schema keys) and the metadata's maxBatchSize. Two targets with
 * equal settings over the same backend object build the same path.
 */
export function targetSettings(model: string, config: ModelConfig, t: TargetConfig,
  stages: ReadonlyArray<StagePlugin<any, TargetStageDeps>>): unknown {
  let keys = stageKeys.get(stages);
  if (keys === undefined) {
    keys = new Set(stages.flatMap((p) => [...Object.keys(p.schema.model ?? {}), ...Object.keys(p.schema.target ?? {})]));
    stageKeys.set(stages, keys);
  }
  const fromModel: Record<string, unknown> = {};
  for (const key of keys) if (Object.hasOwn(config, key)) fromModel[key] = (config as Record<string, unknown>)[key];
  return { model, target: t, fromModel, maxBatchSize: config.metadata?.maxBatchSize };
}

/** sameTarget says whether `previous` may serve as the path of target `t` (over `backend`) as it is. */
export function sameTarget(previous: TargetPath, backend: Backend | undefined, settings: unknown): boolean {
  return previous.origin.backend === backend && isDeepStrictEqual(previous.origin.settings(), settings);
}

/** withOverride gives a backend's model metadata under the gateway's name, with the config's `metadata` overrides. */
export function withOverride(meta: ModelMetadata, override: ModelConfig['metadata'], name: string): ModelMetadata {
  const out: ModelMetadata = { ...meta, name };
  if (override?.inputs) out.inputs = override.inputs as ModelMetadata['inputs'];
  if (override?.outputs) out.outputs = override.outputs as ModelMetadata['outputs'];
  if (override?.maxBatchSize !== undefined) out.maxBatchSize = override.maxBatchSize;
  return out;
}
