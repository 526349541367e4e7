// gateway.ts — builds backends, one pipeline per model and the router from a validated Config;
// polls readiness; listens; swaps a new config in atomically (reload); drains and closes.

import { isDeepStrictEqual } from 'node:util';
import type { Server } from 'node:http';
import type { Logger } from 'pino';
import { backends as backendRegistry } from './backends/index.ts';
import { closeClients } from './backends/shared/client.ts';
import type { Config } from './config/schema.ts';
import { GatewayError } from './errors.ts';
import { frontends as frontendRegistry } from './frontends/index.ts';
import { reloadsTotal, targetReady } from './observe/metrics.ts';
import { modelPipeline, type ModelPipeline, type TargetState } from './pipeline.ts';
import { guardRoutes, type AccessConfig } from './server/access.ts';
import { adminRoutes } from './server/admin.ts';
import { createHttpServer } from './server/http.ts';
import { Router } from './server/router.ts';
import type { Backend, FrontendDeps, Infer, ModelHandle, RawRoute, Route } from './types.ts';
import type { ModelMetadata } from './tensors/tensor.ts';

// How long a reload waits for its new targets to become ready before swapping them in anyway.
const warmSeconds = 10;

interface State {
  config: Config;
  backends: Map<string, Backend>;
  pipelines: Map<string, ModelPipeline>;
  router: Router;
  adminRouter: Router;
  inFlight: number;
  versionPaths: Map<string, Infer>;
}

export interface GatewayOptions {
  log: Logger;
  /** Reads and validates the config again, for reloads; throws ConfigError. */
  reloadConfig?: () => Config;
}

/** Gateway is the running gateway: state, servers, health polling, reload and shutdown. */
export class Gateway {
  #state: State;
  #log: Logger;
  #options: GatewayOptions;
  #started = false;
  #draining = false;
  #healthTimer: NodeJS.Timeout | undefined;
  #servers: Server[] = [];
  #loadedAt = new Date().toISOString();

  constructor(config: Config, options: GatewayOptions) {
    this.#log = options.log;
    this.#options = options;
    this.#state = this.#build(config, new Map());
  }

  get config(): Config { return this.#state.config; }
  get servers(): Server[] { return this.#servers; }

  /** start starts every backend (spawned processes, ONNX warm-up), then polls health. */
  async start(): Promise<void> {
    await Promise.all([...this.#state.backends.values()].map((b) => b.start()));
    await this.#pollHealth(this.#state);
    this.#started = true;
    this.#scheduleHealth();
  }

  /** listen opens the platform port and, when configured, the admin port. */
  async listen(): Promise<{ port: number; adminPort: number }> {
    const s = this.#state.config.server;
    const make = (router: () => Router): Server => createHttpServer({
      maxBodyBytes: s.maxBodyBytes, maxJsonDepth: s.maxJsonDepth, maxHeaders: s.maxHeaders, bodyIdleTimeoutMs: s.bodyIdleTimeoutMs, headersTimeoutMs: s.headersTimeoutMs, requestTimeoutMs: s.requestTimeoutMs,
      keepAliveTimeoutMs: s.keepAliveTimeoutMs, log: this.#log, router, draining: () => this.#draining,
      maxConcurrentRequests: s.maxConcurrentRequests,
    });
    const main = make(() => this.#state.router);
    const port = await listenOn(main, s.port, s.host);
    this.#servers.push(main);
    let adminPort = port;
    if (s.adminPort !== 'same') {
      const admin = make(() => this.#state.adminRouter);
      adminPort = await listenOn(admin, s.adminPort, s.adminHost);
      this.#servers.push(admin);
    }
    this.#log.info({ port, adminPort, frontends: Object.keys(this.#state.config.frontends) }, 'listening');
    return { port, adminPort };
  }

  /** ready says whether health routes answer 200. */
  ready(): boolean {
    if (!this.#started || this.#draining) return false;
    if (this.#state.config.server.readiness === 'self') return true;
    for (const p of this.#state.pipelines.values()) {
      if (p.targets.some((t) => !t.health.ready && t.weight > 0)) return false;
    }
    return true;
  }

  startDraining(): void { this.#draining = true; }

  #swapping: Promise<unknown> = Promise.resolve();

  /** reload reads the config again and swaps it in; a bad file changes nothing. */
  async reload(): Promise<{ ok: boolean; error?: string }> {
    if (this.#options.reloadConfig === undefined) return { ok: false, error: 'this gateway has no config file to reload' };
    const reloadConfig = this.#options.reloadConfig;
    try {
      // Read the file when this reload's turn comes, so the last of several reloads wins.
      await this.#serially(() => this.#swapNow(reloadConfig()));
      reloadsTotal.inc({ outcome: 'applied' });
      return { ok: true };
    } catch (err) {
      reloadsTotal.inc({ outcome: 'rejected' });
      const error = (err as Error).message;
      this.#log.error({ error }, 'config reload rejected; the running config is unchanged');
      return { ok: false, error };
    }
  }

  /**
   * swap builds the new state (reusing backends whose config did not change), starts and
   * health-checks it, then switches atomically; the old state finishes its in-flight requests.
   */
  swap(config: Config): Promise<void> {
    return this.#serially(() => this.#swapNow(config));
  }

  // One swap at a time (SIGHUP, file change and POST /admin/reload may come together): a swap
  // that overlapped another would replace a state that was never retired, leaking its backends.
  #serially(run: () => Promise<void>): Promise<void> {
    const turn = this.#swapping.then(run);
    this.#swapping = turn.catch(() => undefined);
    return turn;
  }

  async #swapNow(config: Config): Promise<void> {
    const old = this.#state;
    const reuse = new Map<string, Backend>();
    for (const [name, b] of old.backends) {
      if (isDeepStrictEqual(old.config.backends[name], config.backends[name])) reuse.set(name, b);
    }
    const next = this.#build(config, reuse);
    const fresh = [...next.backends.values()].filter((b) => ![...reuse.values()].includes(b));
    try {
      await Promise.all(fresh.map((b) => b.start()));
      // A kept backend's models may have changed behind it (a new version on the server).
      await Promise.all([...reuse.values()].map((b) => b.refresh?.()));
      await this.#warm(next, old, fresh);
    } catch (err) {
      await Promise.allSettled(fresh.map((b) => b.close()));
      throw err;
    }
    this.#state = next;
    this.#loadedAt = new Date().toISOString();
    this.#log.info({ version: config.version }, 'config reloaded');
    void this.#retire(old, new Set(reuse.values()));
  }

  /**
   * warm polls the new state's health and, for targets the old state did not serve (a new
   * backend, model or version), waits up to warmSeconds for them to be ready and fetches their
   * metadata, so they take traffic warm. A target still not ready then is swapped in anyway and
   * skipped by its split until it is (a warning says so): a reload never waits without bound.
   */
  async #warm(next: State, old: State, fresh: Backend[]): Promise<void> {
    const keyOf = (model: string, t: TargetState): string => `${model}\u0000${t.backend}\u0000${t.model}\u0000${t.version ?? ''}`;
    const served = new Set([...old.pipelines.values()].flatMap((p) => p.targets.map((t) => keyOf(p.name, t))));
    const freshNames = new Set([...next.backends].filter(([, b]) => fresh.includes(b)).map(([n]) => n));
    const added = [...next.pipelines.values()].flatMap((p) => p.targets
      .filter((t) => t.weight > 0 && (freshNames.has(t.backend) || !served.has(keyOf(p.name, t))))
      .map((t) => ({ model: p.name, target: t })));
    const until = performance.now() + warmSeconds * 1000;
    await this.#pollHealth(next);
    while (added.some((a) => !a.target.health.ready) && performance.now() < until) {
      await new Promise((r) => setTimeout(r, 200));
      await this.#pollHealth(next);
    }
    await Promise.allSettled(added.filter((a) => a.target.health.ready).map((a) => a.target.endpoint.metadata(AbortSignal.timeout(10_000))));
    const cold = added.filter((a) => !a.target.health.ready);
    if (cold.length > 0) {
      this.#log.warn({ targets: cold.map((a) => `${a.model}/${a.target.name}`), reasons: cold.map((a) => a.target.health.reason) },
        `new targets not ready after ${warmSeconds} s; swapped in, and skipped by their splits until they are`);
    }
  }

  async #retire(old: State, kept: Set<Backend>): Promise<void> {
    const until = performance.now() + old.config.server.drainSeconds * 1000;
    while ((old.inFlight > 0 || old.router.active > 0) && performance.now() < until) await new Promise((r) => setTimeout(r, 50));
    await Promise.allSettled([...old.pipelines.values()].map((p) => p.close()));
    await Promise.allSettled([...old.backends.values()].filter((b) => !kept.has(b)).map((b) => b.close()));
  }

  /** close stops health polling and closes pipelines, backends and HTTP clients. */
  async close(): Promise<void> {
    if (this.#healthTimer !== undefined) clearTimeout(this.#healthTimer);
    this.#healthTimer = undefined;
    const s = this.#state;
    await Promise.allSettled([...s.pipelines.values()].map((p) => p.close()));
    await Promise.allSettled([...s.backends.values()].map((b) => b.close()));
    await closeClients();
  }

  /** status is the /admin/status document. */
  status(): Record<string, unknown> {
    const s = this.#state;
    return {
      version: s.config.version ?? null,
      loadedAt: this.#loadedAt,
      ready: this.ready(),
      draining: this.#draining,
      inFlight: s.inFlight,
      models: Object.fromEntries([...s.pipelines].map(([name, p]) => [name, p.status()])),
      backends: Object.fromEntries([...s.backends].map(([name, b]) => [name, { type: b.type, ...(b.endpoints === undefined ? {} : { endpoints: b.endpoints() }) }])),
    };
  }

  #build(config: Config, reuse: Map<string, Backend>): State {
    const backends = new Map<string, Backend>();
    for (const [name, cfg] of Object.entries(config.backends)) {
      const existing = reuse.get(name);
      if (existing !== undefined) { backends.set(name, existing); continue; }
      const factory = backendRegistry[cfg.type];
      if (factory === undefined) throw new GatewayError('internal', `backend type "${cfg.type}" is not registered`);
      backends.set(name, factory.create(name, cfg, { log: this.#log.child({ backend: name }) }));
    }
    const pipelines = new Map<string, ModelPipeline>();
    for (const [name, model] of Object.entries(config.models)) {
      pipelines.set(name, modelPipeline(name, model, { backends, log: this.#log.child({ model: name }) }));
    }
    const state: State = {
      config, backends, pipelines, inFlight: 0, versionPaths: new Map(),
      router: undefined as unknown as Router, adminRouter: undefined as unknown as Router,
    };
    const deps: FrontendDeps = {
      models: (name, version) => this.#handle(state, name, version),
      modelNames: () => [...pipelines.keys()],
      ready: () => this.ready(),
      backend: (name) => backends.get(name),
      log: this.#log,
    };
    const routes: Array<Route | RawRoute> = [];
    for (const [key, cfg] of Object.entries(config.frontends)) {
      if (cfg === undefined) continue;
      routes.push(...guardRoutes(frontendRegistry[key]!.routes(cfg, deps), cfg as AccessConfig));
    }
    const admin = adminRoutes({ status: () => this.status(), reload: () => this.reload(), token: config.server.adminToken });
    state.adminRouter = new Router(admin);
    state.router = new Router(config.server.adminPort === 'same' ? [...routes, ...admin] : routes);
    return state;
  }

  #handle(state: State, name: string, version?: string): ModelHandle | undefined {
    if (!Object.hasOwn(state.config.models, name)) return undefined;
    const pipeline = state.pipelines.get(name)!;
    const model = state.config.models[name]!;
    let infer: Infer | undefined = pipeline.infer;
    let endpointOf = pipeline.targets[0]!.endpoint;
    if (version !== undefined) {
      const target = pipeline.targets.find((t) => t.version === version);
      infer = pipeline.forVersion(version);
      if (target !== undefined) endpointOf = target.endpoint;
      else if (pipeline.targets.length === 1) {
        // One target and a version the config does not pin: ask that backend for the version.
        const t = pipeline.targets[0]!;
        const key = `${name}@${version}`;
        endpointOf = state.backends.get(t.backend)!.model(t.model, version);
        infer = state.versionPaths.get(key);
        if (infer === undefined) {
          const ep = endpointOf;
          infer = (req, ctx) => { ctx.target = `${t.name}@${version}`; return ep.infer(req, ctx); };
          state.versionPaths.set(key, infer);
        }
      } else return undefined;
    }
    const counted = infer!;
    const endpoint = endpointOf;
    return {
      name, version, timeoutMs: model.timeoutMs,
      infer: async (req, ctx) => {
        state.inFlight++;
        try {
          return await counted(req, ctx);
        } finally {
          state.inFlight--;
        }
      },
      metadata: async () => withOverride(await endpoint.metadata(), model.metadata, name),
      ready: () => (version === undefined ? pipeline.targets : pipeline.targets.filter((t) => t.version === version || pipeline.targets.length === 1))
        .some((t) => t.health.ready),
    };
  }

  async #pollHealth(state: State): Promise<void> {
    const checks: Promise<void>[] = [];
    for (const p of state.pipelines.values()) {
      for (const t of p.targets) {
        checks.push((async () => {
          const before = t.health;
          try {
            t.health = await t.endpoint.health(AbortSignal.timeout(Math.max(1000, state.config.server.healthIntervalMs)));
          } catch (err) {
            t.health = { ready: false, reason: (err as Error).message };
          }
          targetReady.set({ model: p.name, target: t.name }, t.health.ready ? 1 : 0);
          if (before.ready !== t.health.ready || (before.reason !== t.health.reason && !t.health.ready)) {
            const log = t.health.ready ? this.#log.info.bind(this.#log) : this.#log.warn.bind(this.#log);
            log({ model: p.name, target: t.name, ready: t.health.ready, reason: t.health.reason }, t.health.ready ? 'target ready' : 'target not ready');
          }
        })());
      }
    }
    await Promise.all(checks);
  }

  #scheduleHealth(): void {
    this.#healthTimer = setTimeout(() => {
      void this.#pollHealth(this.#state).finally(() => { if (this.#healthTimer !== undefined) this.#scheduleHealth(); });
    }, this.#state.config.server.healthIntervalMs);
    this.#healthTimer.unref();
  }
}

function withOverride(meta: ModelMetadata, override: Config['models'][string]['metadata'], name: string): ModelMetadata {
  const out: ModelMetadata = { ...meta, name };
  if (override?.inputs) out.inputs = override.inputs as ModelMetadata['inputs'];
  if (override?.outputs) out.outputs = override.outputs as ModelMetadata['outputs'];
  if (override?.maxBatchSize !== undefined) out.maxBatchSize = override.maxBatchSize;
  return out;
}

function listenOn(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const addr = server.address();
      resolve(typeof addr === 'object' && addr !== null ? addr.port : port);
    });
  });
}
