// build.ts — turns a validated Config into the gateway's state: the backends (reusing those a
// reload keeps), one pipeline per model, and the routers over the frontends' routes. Frontends
// reach models only through the handles made here.

import type { Logger } from 'pino';
import { backends as backendRegistry } from '../backends/index.ts';
import { GatewayError } from '../errors.ts';
import { frontends as frontendRegistry } from '../frontends/index.ts';
import { modelPipeline, type ModelPipeline } from '../pipeline.ts';
import type { Config, ModelConfig } from '../schema.ts';
import { guardRoutes, type AccessConfig } from '../server/access.ts';
import { adminRoutes } from '../server/admin.ts';
import { Router } from '../server/router.ts';
import type { TargetPath } from '../target.ts';
import type { ModelMetadata } from '../tensors/tensor.ts';
import type { Backend, FrontendDeps, ModelHandle, RawRoute, Route } from '../types.ts';

/** State is everything one config version runs on; a reload builds a new one and swaps it in. */
export interface State {
  config: Config;
  backends: Map<string, Backend>;
  pipelines: Map<string, ModelPipeline>;
  router: Router;
  adminRouter: Router;
}

/** StateHooks are what the routes need of the running gateway. */
export interface StateHooks {
  log: Logger;
  ready(): boolean;
  status(): unknown;
  reload(): Promise<{ ok: boolean; error?: string }>;
}

/** buildState builds a state from `config`, taking the backends in `reuse` as they are. */
export function buildState(config: Config, reuse: ReadonlyMap<string, Backend>, hooks: StateHooks): State {
  const backends = new Map<string, Backend>();
  for (const [name, cfg] of Object.entries(config.backends)) {
    const existing = reuse.get(name);
    if (existing !== undefined) { backends.set(name, existing); continue; }
    const factory = backendRegistry[cfg.type];
    if (factory === undefined) throw new GatewayError('internal', `backend type "${cfg.type}" is not registered`);
    backends.set(name, factory.create(name, cfg, { log: hooks.log.child({ backend: name }) }));
  }
  const pipelines = new Map<string, ModelPipeline>();
  for (const [name, model] of Object.entries(config.models)) pipelines.set(name, modelPipeline(name, model, { backends, log: hooks.log }));
  // A model's own handle is made once; a versioned one per call (versions are client-chosen).
  const handles = new Map([...pipelines.keys()].map((name) => [name, handleFor(config, pipelines, name)!]));
  const deps: FrontendDeps = {
    models: (name, version) => (version === undefined ? (Object.hasOwn(config.models, name) ? handles.get(name) : undefined) : handleFor(config, pipelines, name, version)),
    modelNames: () => [...pipelines.keys()],
    ready: hooks.ready,
    backend: (name) => backends.get(name),
    log: hooks.log,
  };
  const routes: Array<Route | RawRoute> = [];
  for (const [key, cfg] of Object.entries(config.frontends)) {
    if (cfg === undefined) continue;
    routes.push(...guardRoutes(frontendRegistry[key]!.routes(cfg, deps), cfg as AccessConfig));
  }
  const admin = adminRoutes({ status: hooks.status, reload: hooks.reload, token: config.server.adminToken });
  return {
    config, backends, pipelines,
    adminRouter: new Router(admin),
    router: new Router(config.server.adminPort === 'same' ? [...routes, ...admin] : routes),
  };
}

// handleFor gives a frontend the model (and version) it names: a version is served when a
// target pins it or a target is open to any version; anything else is unknown (404).
function handleFor(config: Config, pipelines: ReadonlyMap<string, ModelPipeline>, name: string, version?: string): ModelHandle | undefined {
  if (!Object.hasOwn(config.models, name)) return undefined;
  const pipeline = pipelines.get(name)!;
  const model = config.models[name]!;
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
    ready: () => serving.some((t) => t.health.ready),
  };
}

function servingTargets(targets: TargetPath[], version: string | undefined): TargetPath[] {
  if (version === undefined) return targets;
  const pinned = targets.filter((t) => t.version === version);
  return pinned.length > 0 ? pinned : targets.filter((t) => t.versionLabel !== undefined);
}

function withOverride(meta: ModelMetadata, override: ModelConfig['metadata'], name: string): ModelMetadata {
  const out: ModelMetadata = { ...meta, name };
  if (override?.inputs) out.inputs = override.inputs as ModelMetadata['inputs'];
  if (override?.outputs) out.outputs = override.outputs as ModelMetadata['outputs'];
  if (override?.maxBatchSize !== undefined) out.maxBatchSize = override.maxBatchSize;
  return out;
}
