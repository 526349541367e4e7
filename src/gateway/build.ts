// build.ts — turns a validated Config into the gateway's state: the backends (reusing those a
// reload keeps), one pipeline per model, and the routers over the frontends' routes. Frontends
// reach models only through the handles made here. On a reload, a model whose config and
// backends did not change keeps its whole pipeline (rollback decision, live weights, shadow),
// and a changed model keeps the paths of its unchanged targets (breaker, batcher fit, version
// paths). A supervised backend with `{port}` in its spawn block runs on the port it is given.

import { isDeepStrictEqual } from 'node:util';

import type { Logger } from 'pino';
import { backendFactory } from '../backends/index.ts';
import { usesPort, withPort, type SpawnConfig } from '../backends/shared/spawn.ts';
import { GatewayError } from '../errors.ts';
import { frontendFactory } from '../frontends/index.ts';
import { modelPipeline, type ModelPipeline } from '../pipeline.ts';
import { rebuiltOnReload, takesPayload } from '../transform/stage.ts';
import type { Config, ModelConfig } from '../schema.ts';
import { guardRoutes, type AccessConfig } from '../server/access.ts';
import { adminRoutes, behindAdminToken, statusPageRoute } from '../server/admin.ts';
import { Router } from '../server/router.ts';
import { withOverride, type TargetPath } from '../target.ts';
import { tritonModelConfig } from '../codecs/triton-config.ts';
import { modelConfigOf, modelStatsOf } from './triton-views.ts';
import type { Backend, FrontendDeps, Health, ModelHandle, RawRoute, Route } from '../types.ts';
import { ModelStore } from './model-store.ts';
import { createRepository } from './repository.ts';

/** State is everything one config version runs on; a reload builds a new one and swaps it in. */
export interface State {
  config: Config;
  backends: Map<string, Backend>;
  pipelines: Map<string, ModelPipeline>;
  /** The models loaded at run time (dynamicModels), when configured; a reload that keeps its block and backend keeps it. */
  store: ModelStore | undefined;
  router: Router;
  adminRouter: Router;
  /** What the frontends reach models through (the gRPC listener reads it per call). */
  frontendDeps: FrontendDeps;
}

/** StateHooks are what the routes need of the running gateway. */
export interface StateHooks {
  log: Logger;
  ready(): boolean;
  status(): unknown;
  reload(): Promise<{ ok: boolean; error?: string }>;
}

/** Carry is what a reload hands over from the running state. */
export interface Carry {
  /** The running state: its unchanged pipelines and target paths are taken over. */
  previous?: State;
  /** The port each new `{port}` backend runs on; absent: the port of its url. */
  ports?: ReadonlyMap<string, number>;
}

/** buildState builds a state from `config`, taking the backends in `reuse` as they are. */
export function buildState(config: Config, reuse: ReadonlyMap<string, Backend>, hooks: StateHooks, carry: Carry = {}): State {
  const steps = buildSteps(config, reuse, hooks, carry);
  for (;;) {
    const step = steps.next();
    if (step.done === true) return step.value;
  }
}

/**
 * buildStateInSlices is buildState for a reload: it lets the event loop run between slices of
 * models, so requests and health checks are answered while a large config is built.
 */
export async function buildStateInSlices(config: Config, reuse: ReadonlyMap<string, Backend>, hooks: StateHooks, carry: Carry = {}): Promise<State> {
  const steps = buildSteps(config, reuse, hooks, carry);
  for (;;) {
    const step = steps.next();
    if (step.done === true) return step.value;
    await new Promise((r) => setImmediate(r));
  }
}

// Models built per slice.
const buildSlice = 500;

/**
 * buildModelsInSlices builds the stages of the models of `state` that no call has built yet
 * (they are built on first use), a slice of models per turn of the event loop.
 */
export async function buildModelsInSlices(state: State): Promise<void> {
  let built = 0;
  for (const p of state.pipelines.values()) {
    p.build();
    if (++built % buildSlice === 0) await new Promise((r) => setImmediate(r));
  }
}

function* buildSteps(config: Config, reuse: ReadonlyMap<string, Backend>, hooks: StateHooks, carry: Carry): Generator<void, State> {
  const backends = new Map<string, Backend>();
  for (const [name, given] of Object.entries(config.backends)) {
    const existing = reuse.get(name);
    if (existing !== undefined) { backends.set(name, existing); continue; }
    const factory = backendFactory(given.type);
    if (factory === undefined) throw new GatewayError('internal', `backend type "${given.type}" is not loaded (gateway/plugins.ts loads a config's before its build)`);
    const cfg = portHost(name, given) === undefined ? given : onPort(given, carry.ports?.get(name));
    backends.set(name, factory.create(name, cfg, { log: hooks.log.child({ backend: name }), modelLoadErrors: config.server.modelLoadErrors }));
  }
  const dynamic = config.dynamicModels;
  const prevStore = carry.previous?.store;
  const store = dynamic === undefined ? undefined
    : prevStore !== undefined && isDeepStrictEqual(carry.previous!.config.dynamicModels, dynamic) && prevStore.backend === backends.get(dynamic.backend)
      ? prevStore : new ModelStore(dynamic, backends.get(dynamic.backend)!, hooks.log.child({ dynamicModels: dynamic.backend }));
  const pipelines = new Map<string, ModelPipeline>();
  const prev = carry.previous;
  // A graph model's steps call this state's handles, looked up per call. A model's own handle is
  // made on its first lookup and kept; a versioned one per call (versions are client-chosen).
  const handles = new Map<string, ModelHandle>();
  const models = (name: string): ModelHandle | undefined => {
    let handle = handles.get(name);
    if (handle === undefined && pipelines.has(name)) handles.set(name, handle = handleFor(config, pipelines, name)!);
    return handle;
  };
  for (const [name, model] of Object.entries(config.models)) {
    const old = prev?.pipelines.get(name);
    // Built anew on a reload: a graph model (the old one calls the old state's handles, which retire
    // with it) and a model with a transform module (so that a reload re-imports the user's code).
    const same = old !== undefined && model.graph === undefined && !rebuiltOnReload(model.transform) && isDeepStrictEqual(prev!.config.models[name], model) &&
      backendsOf(model).every((b) => backends.get(b) === prev!.backends.get(b));
    pipelines.set(name, same ? old : modelPipeline(name, model, { backends, log: hooks.log, models }, old?.targets ?? []));
    if (pipelines.size % buildSlice === 0) yield;
  }
  const deps: FrontendDeps = {
    // A name the config does not have may be a model loaded at run time (which has no versions).
    models: (name, version) => (Object.hasOwn(config.models, name) ? (version === undefined ? models(name) : handleFor(config, pipelines, name, version))
      : version === undefined ? store?.handle(name) : undefined),
    modelNames: () => [...pipelines.keys(), ...(store?.loaded().map((m) => m.name) ?? [])],
    repository: createRepository(pipelines, backends, store),
    ready: hooks.ready,
    backend: (name) => backends.get(name),
    log: hooks.log,
  };
  const routes: Array<Route | RawRoute> = [];
  for (const [key, cfg] of Object.entries(config.frontends)) {
    if (cfg === undefined) continue;
    const factory = frontendFactory(key);
    if (factory === undefined) throw new GatewayError('internal', `frontend "${key}" is not loaded (gateway/plugins.ts loads a config's before its build)`);
    routes.push(...guardRoutes(behindAdminToken(factory.routes(cfg, deps), config.server.adminToken), cfg as AccessConfig));
  }
  const admin = adminRoutes({ status: hooks.status, reload: hooks.reload, token: config.server.adminToken });
  return {
    config, backends, pipelines, store, frontendDeps: deps,
    adminRouter: new Router([...admin, statusPageRoute]),
    router: new Router(config.server.adminPort === 'same' ? [...routes, ...admin] : routes),
  };
}

/**
 * portHost is the host a backend's `{port}` is picked on, when its spawn block has `{port}`; a
 * backend with several urls cannot say which one the process listens on (bad_config).
 */
export function portHost(name: string, cfg: Config['backends'][string]): string | undefined {
  const c = cfg as { spawn?: SpawnConfig; url?: string; urls?: string[] };
  if (c.spawn === undefined || !usesPort(c.spawn)) return undefined;
  if (c.url === undefined) {
    throw new GatewayError('bad_config', `backend "${name}": "{port}" in its spawn block needs a single url (the process's), not urls`);
  }
  return new URL(c.url).hostname.replace(/^\[|\]$/g, '');
}

// onPort gives a `{port}` backend's config for one process: {port} filled in, the url on that port
// (the url's own port when none was picked: the first start).
function onPort<C extends Config['backends'][string]>(cfg: C, picked: number | undefined): C {
  const c = cfg as C & { spawn: SpawnConfig; url: string };
  const u = new URL(c.url);
  const port = picked ?? (u.port === '' ? (u.protocol === 'https:' ? 443 : 80) : Number(u.port));
  u.port = String(port);
  return { ...c, url: `${u.protocol}//${u.host}${u.pathname === '/' ? '' : u.pathname}`, spawn: withPort(c.spawn, port) };
}

// backendsOf names the backends a model's pipeline calls: its targets' and its shadow's.
function backendsOf(model: ModelConfig): string[] {
  const shadow = (model as { shadow?: { backend: string } }).shadow;
  return [...model.targets.map((t) => t.backend), ...(shadow === undefined ? [] : [shadow.backend])];
}

// speaksOf names the API all of a model's targets speak, when it is one a frontend uses.
function speaksOf(config: Config, targets: ReadonlyArray<{ backend: string }> | undefined): { speaks?: 'openai' | 'triton' | 'onnx' } {
  if (targets === undefined || targets.length === 0) return {};
  const types = new Set(targets.map((t) => config.backends[t.backend]?.type));
  const only = types.size === 1 ? [...types][0] : undefined;
  return only === 'openai' || only === 'triton' || only === 'onnx' ? { speaks: only } : {};
}

// handleFor gives a frontend the model (and version) it names: a version is served when a
// target pins it or a target is open to any version; anything else is unknown (404).
function handleFor(config: Config, pipelines: ReadonlyMap<string, ModelPipeline>, name: string, version?: string): ModelHandle | undefined {
  if (!Object.hasOwn(config.models, name)) return undefined;
  const pipeline = pipelines.get(name)!;
  // A model is looked up before its call's deadline starts: its first call's building is not spent from it.
  pipeline.build();
  const model = config.models[name]!;
  // A body that is not rows or tensors goes on as bytes when the transform reads any body, or
  // every target's backend takes raw bodies (openai, or http with `raw: true`).
  const payload = takesPayload(model.transform) || (model.targets !== undefined && model.targets.length > 0 &&
    model.targets.every((t) => {
      const cfg = config.backends[t.backend];
      return cfg !== undefined && backendFactory(cfg.type)?.takesPayload?.(cfg) === true;
    }));
  const transform = {
    ...(model.transform === undefined ? {} : { transform: { takesPayload: takesPayload(model.transform) } }),
    ...(payload ? { takesPayload: true } : {}),
    ...speaksOf(config, model.targets),
  };
  const graph = pipeline.graph;
  if (graph !== undefined) {
    // A graph has no versions of its own: a client naming one gets 404.
    if (version !== undefined) return undefined;
    return {
      name,
      infer: (req, ctx) => {
        ctx.model = name;
        return pipeline.infer(req, ctx);
      },
      metadata: async () => withOverride(await graph.metadata(), model.metadata, name),
      config: async () => tritonModelConfig(withOverride(await graph.metadata(), model.metadata, name), { platform: 'ensemble' }),
      ready: () => graph.ready() && pipeline.ready(),
      health: async () => (graph.ready() && pipeline.ready() ? { ready: true } : { ready: false, reason: 'a step model or a model stage is not ready' }),
      ...transform,
    };
  }
  const serving = servingTargets(pipeline.targets, version);
  if (serving.length === 0) return undefined;
  return {
    name,
    ...(version === undefined ? {} : { version }),
    infer: (req, ctx) => {
      ctx.model = name;
      if (version !== undefined) ctx.version = version;
      return pipeline.infer(req, ctx);
    },
    metadata: async () => withOverride(await serving[0]!.endpointFor(version).metadata(), model.metadata, name),
    config: () => modelConfigOf(name, model, serving[0]!, version, async () => withOverride(await serving[0]!.endpointFor(version).metadata(), model.metadata, name)),
    stats: () => modelStatsOf(name, serving, version),
    ready: () => serving.some((t) => t.health.ready) && pipeline.ready(),
    health: () => healthOf(pipeline, serving, version),
    ...transform,
  };
}

// healthOf is a model's (or version's) readiness now: a version no target pins is asked of the
// backend (an open target's poll covers only its own version), so a version route answers for
// exactly the versions served.
async function healthOf(pipeline: ModelPipeline, serving: TargetPath[], version: string | undefined): Promise<Health> {
  if (!pipeline.ready()) return { ready: false, reason: 'a model stage is not ready (a transform loading, or failed to load)' };
  if (version === undefined || serving.some((t) => t.version === version)) {
    return serving.some((t) => t.health.ready) ? { ready: true } : { ready: false, reason: serving[0]?.health.reason ?? 'not ready' };
  }
  const checks = await Promise.all(serving.map((t) => t.endpointFor(version).health(AbortSignal.timeout(5000))
    .catch((err: unknown): Health => ({ ready: false, reason: (err as Error).message }))));
  return checks.find((h) => h.ready) ?? checks[0] ?? { ready: false, reason: 'not served' };
}

function servingTargets(targets: TargetPath[], version: string | undefined): TargetPath[] {
  if (version === undefined) return targets;
  const pinned = targets.filter((t) => t.version === version);
  return pinned.length > 0 ? pinned : targets.filter((t) => t.versionLabel !== undefined);
}
