// gateway.ts — the running gateway: builds its state from a validated Config (gateway/build.ts),
// listens, polls health (gateway/health.ts), swaps a new config in atomically on reload
// (gateway/reload.ts), reports /admin/status, drains and closes. Reloads that arrive while one
// runs join the next one (one at most waits), so a burst of them applies at most twice.

import { isDeepStrictEqual } from 'node:util';
import type { Server } from 'node:http';
import type { Logger } from 'pino';
import { answerBudget } from './backends/shared/budget.ts';
import { PortRange } from './config/port-range.ts';
import { closeClients } from './backends/shared/client.ts';
import { buildModelsInSlices, buildState, buildStateInSlices, portHost, type Carry, type State, type StateHooks } from './gateway/build.ts';
import { HealthPoller, pollHealth } from './gateway/health.ts';
import { loadPlugins } from './gateway/plugins.ts';
import { discard, keptBy, prepare, retire } from './gateway/reload.ts';
import { reloadsTotal, revisionInfo } from './observe/metrics.ts';
import type { Config } from './schema.ts';
import type { GrpcConfig } from './frontends/grpc.ts';
import type { AccessConfig } from './server/access.ts';
import type { GrpcListener } from './server/grpc.ts';
import { createHttpServer } from './server/http.ts';
import { freePort, listenOn } from './server/listen.ts';
import type { Listener } from './server/lifecycle.ts';
import type { Router } from './server/router.ts';
import { storageStatus } from './storage/progress.ts';
import { configureStorage } from './storage/store.ts';
import type { Backend } from './types.ts';

export interface GatewayOptions {
  log: Logger;
  /** Reads and validates the config again, for reloads; throws ConfigError. */
  reloadConfig?: () => Config | Promise<Config>;
}

/** Gateway is the running gateway: state, servers, health polling, reload and shutdown. */
export class Gateway {
  #state: State;
  #log: Logger;
  #options: GatewayOptions;
  #started = false;
  #draining = false;
  #health: HealthPoller;
  #servers: Server[] = [];
  #grpc: GrpcListener | undefined;
  // Where gRPC calls arriving on the platform port over h2c are relayed (Cloud Run gives one port).
  #grpcPort: number | undefined;
  #loadedAt = new Date().toISOString();
  #swapping: Promise<unknown> = Promise.resolve();
  /** The reload running now, and the one waiting for it (which later callers join). */
  #reloadRunning: Promise<ReloadResult> | undefined;
  #reloadWaiting: Promise<ReloadResult> | undefined;
  /** Old states still finishing their requests; close() ends them at once. */
  #retiring = new Set<Promise<void>>();
  #lastRetire: Promise<void> | undefined;
  #closing = new AbortController();
  /** server.portRange as the gateway hands it out (the admin port, {port} backends). */
  #ports: PortRange | undefined;

  constructor(config: Config, options: GatewayOptions) {
    this.#log = options.log;
    this.#options = options;
    const range = config.server.portRange;
    this.#ports = range === undefined ? undefined : new PortRange(range);
    // With a port range (SageMaker), each {port} backend's first process listens on a port of it.
    const ports = new Map<string, number>();
    if (this.#ports !== undefined) {
      for (const [name, cfg] of Object.entries(config.backends)) if (portHost(name, cfg) !== undefined) ports.set(name, this.#ports.take());
    }
    this.#state = this.#build(config, new Map(), { ports });
    this.#health = new HealthPoller(() => this.#state, this.#log);
    if (config.server.revision !== '') revisionInfo.set({ revision: config.server.revision }, 1);
  }

  get config(): Config { return this.#state.config; }
  get servers(): Server[] { return this.#servers; }
  /** Every listener to drain on SIGTERM: the HTTP servers and, when configured, the gRPC one. */
  get listeners(): Listener[] { return this.#grpc === undefined ? this.#servers : [...this.#servers, this.#grpc]; }

  /** start starts every backend (spawned processes, ONNX warm-up), then polls health. */
  async start(): Promise<void> {
    await Promise.all([...this.#state.backends.values()].map((b) => b.start()));
    await pollHealth(this.#state, this.#log);
    this.#started = true;
    this.#health.start();
  }

  /** listen opens the platform port and, when configured, the admin port. */
  async listen(): Promise<{ port: number; adminPort: number; grpcPort?: number }> {
    const s = this.#state.config.server;
    const make = (router: () => Router, platform: boolean): Server => createHttpServer({
      maxBodyBytes: s.maxBodyBytes, maxJsonDepth: s.maxJsonDepth, maxHeaders: s.maxHeaders, bodyIdleTimeoutMs: s.bodyIdleTimeoutMs,
      headersTimeoutMs: s.headersTimeoutMs, requestTimeoutMs: s.requestTimeoutMs, keepAliveTimeoutMs: s.keepAliveTimeoutMs,
      log: this.#log, router, draining: () => this.#draining, maxConcurrentRequests: s.maxConcurrentRequests,
      // h2c is the platform port's (Cloud Run speaks it to the container); the admin port stays HTTP/1.1.
      ...(platform && s.h2c ? { h2c: { maxConcurrentStreams: s.http2MaxConcurrentStreams, grpcPort: () => this.#grpcPort } } : {}),
      ...(s.logFormat === 'cloud-logging' ? { cloudLogging: { project: s.traceProject } } : {}),
    });
    const main = make(() => this.#state.router, true);
    const port = await listenOn(main, s.port, s.host);
    this.#servers.push(main);
    let adminPort = port;
    if (s.adminPort !== 'same') {
      const admin = make(() => this.#state.adminRouter, false);
      const wanted = s.adminPort ?? (this.#ports === undefined ? defaultAdminPort : await this.#ports.takeFree(s.adminHost));
      adminPort = await listenOn(admin, wanted, s.adminHost);
      this.#servers.push(admin);
    }
    const grpcBlock = (): GrpcBlock | undefined => this.#state.config.frontends.grpc as GrpcBlock | undefined;
    const g = grpcBlock();
    let grpcPort: number | undefined;
    if (g !== undefined) {
      // Opened once, like the HTTP port: a reload changes what it serves (models, auth), not where.
      // grpc-js and the .proto files load only for a config that serves gRPC (a cold start costs less).
      const { GrpcListener } = await import('./server/grpc.ts');
      this.#grpc = new GrpcListener({
        initial: g, host: g.host ?? s.host, maxBodyBytes: s.maxBodyBytes, maxConcurrentRequests: s.maxConcurrentRequests,
        config: grpcBlock, deps: () => this.#state.frontendDeps, adminToken: () => this.#state.config.server.adminToken, log: this.#log,
      });
      grpcPort = this.#grpcPort = await this.#grpc.listen();
    }
    this.#log.info({ port, adminPort, ...(grpcPort === undefined ? {} : { grpcPort }), frontends: Object.keys(this.#state.config.frontends) }, 'listening');
    return { port, adminPort, ...(grpcPort === undefined ? {} : { grpcPort }) };
  }

  /** ready says whether health routes answer 200. */
  ready(): boolean {
    if (!this.#started || this.#draining) return false;
    const server = this.#state.config.server;
    if (server.readiness === 'self') return true;
    let any = false;
    for (const p of this.#state.pipelines.values()) {
      // A model stage that refuses every call (a transform still loading, or whose load failed) too.
      const ready = p.ready() && !p.targets.some((t) => !t.health.ready && t.weight > 0);
      if (!ready && server.readyWhen === 'all') return false;
      any ||= ready;
    }
    // readyWhen any: one ready model is enough (a config of run-time models only is ready once started).
    return server.readyWhen === 'all' || any || this.#state.pipelines.size === 0;
  }
  startDraining(): void { this.#draining = true; }

  /**
   * reload reads the config again and swaps it in; a bad file changes nothing. A reload asked
   * for while one runs joins the one waiting to run next (it reads the file when it starts, so
   * the last write wins) and answers with its result.
   */
  reload(): Promise<ReloadResult> {
    if (this.#reloadWaiting !== undefined) return this.#reloadWaiting;
    const before = this.#reloadRunning;
    let turn!: Promise<ReloadResult>;
    turn = (async () => {
      await before;
      if (this.#reloadWaiting === turn) this.#reloadWaiting = undefined;
      this.#reloadRunning = turn;
      try {
        return await this.#reloadOnce();
      } finally {
        if (this.#reloadRunning === turn) this.#reloadRunning = undefined;
      }
    })();
    this.#reloadWaiting = turn;
    return turn;
  }

  async #reloadOnce(): Promise<ReloadResult> {
    if (this.#options.reloadConfig === undefined) return { ok: false, error: 'this gateway has no config file to reload' };
    const reloadConfig = this.#options.reloadConfig;
    try {
      // Read the file when this reload's turn comes, so the last of several reloads wins.
      await this.#serially(async () => this.#swapNow(await reloadConfig()));
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
    this.#log.info({ version: config.version, models: Object.keys(config.models).length }, 'building the new config');
    const old = this.#state;
    const reuse = new Map<string, Backend>();
    for (const [name, b] of old.backends) {
      if (!isDeepStrictEqual(old.config.backends[name], config.backends[name])) continue;
      // Same config, but its model changed at the source (a new generation in the bucket): rebuilt.
      const changed = await b.changed?.().catch((err: Error) => {
        this.#log.warn({ backend: name, error: err.message }, `cannot check whether the model of backend "${name}" changed; keeping the loaded one`);
        return false;
      });
      if (changed === true) this.#log.info({ backend: name }, `the model of backend "${name}" changed at its source; loading the new one`);
      else reuse.set(name, b);
    }
    // A changed backend with {port} starts its new process on a free port, beside the old one,
    // which keeps serving (and cannot answer the new one's health check) until the swap.
    const ports = new Map<string, number>();
    for (const [name, cfg] of Object.entries(config.backends)) {
      if (reuse.has(name)) continue;
      const host = portHost(name, cfg);
      if (host !== undefined) ports.set(name, this.#ports === undefined ? await freePort(host) : await this.#ports.takeFree(host));
      else if ((cfg as { spawn?: unknown }).spawn !== undefined && old.backends.has(name)) {
        this.#log.warn({ backend: name }, `backend "${name}" changed and its spawn block has no {port}: the new process ` +
          'binds the same port as the old one, which is still running, so it cannot start until the old one stops; ' +
          'put {port} in spawn.command (or env) for a reload without a gap');
      }
    }
    const next = await this.#rebuild(config, reuse, { previous: old, ports });
    const kept = keptBy(next, old);
    try {
      await prepare(next, old, kept, this.#log);
    } catch (err) {
      await discard(next, kept);
      throw err;
    }
    this.#state = next;
    // A run-time model store the new state did not keep unloads its models now (each after its
    // calls in flight): unloading later, in the retirement, would unload a model of the same name
    // that the new store loaded meanwhile on the same backend.
    if (old.store !== undefined && !kept.store) await old.store.close();
    this.#loadedAt = new Date().toISOString();
    this.#log.info({ version: config.version, keptModels: kept.pipelines.size, keptTargets: kept.targets.size }, 'config reloaded');
    const retiring = retire(old, kept, this.#closing.signal, this.#lastRetire).finally(() => this.#retiring.delete(retiring));
    this.#retiring.add(retiring);
    this.#lastRetire = retiring;
  }

  /** close stops health polling and closes pipelines, backends and HTTP clients. */
  async close(): Promise<void> {
    this.#health.stop();
    this.#grpc?.closeAllConnections();
    this.#closing.abort();
    await Promise.allSettled([...this.#retiring]);
    const s = this.#state;
    await Promise.allSettled([...s.pipelines.values()].map((p) => p.close()));
    await s.store?.close();
    await Promise.allSettled([...s.backends.values()].map((b) => b.close()));
    await closeClients();
  }

  /** status is the /admin/status document. */
  status(): Record<string, unknown> {
    const s = this.#state;
    return {
      version: s.config.version ?? null,
      ...(s.config.server.revision === '' ? {} : { revision: s.config.server.revision }),
      loadedAt: this.#loadedAt,
      ready: this.ready(),
      draining: this.#draining,
      inFlight: s.router.active,
      models: Object.fromEntries([...s.pipelines].map(([name, p]) => [name, p.status()])),
      backends: Object.fromEntries([...s.backends].map(([name, b]) => [name, {
        type: b.type, ...(b.endpoints === undefined ? {} : { endpoints: b.endpoints() }), ...(b.lifecycle === undefined ? {} : { models: b.lifecycle.models() }),
      }])),
      ...(s.store === undefined ? {} : { dynamicModels: s.store.status() }),
      storage: { downloads: storageStatus() },
    };
  }

  #build(config: Config, reuse: Map<string, Backend>, carry: Carry = {}): State {
    answerBudget.setLimit(config.server.maxBufferedBytes);
    configureStorage(config.storage);
    return buildState(config, reuse, this.#hooks(), carry);
  }

  // A reload builds in slices, so the running state keeps answering while a large config builds.
  async #rebuild(config: Config, reuse: Map<string, Backend>, carry: Carry): Promise<State> {
    await loadPlugins(config); // a reload may name a backend type or a frontend the running config does not
    answerBudget.setLimit(config.server.maxBufferedBytes);
    configureStorage(config.storage);
    return buildStateInSlices(config, reuse, this.#hooks(), carry);
  }

  // /admin/status shows every model's stages: those no call has built yet are built first, in slices.
  #hooks(): StateHooks {
    return { log: this.#log, ready: () => this.ready(), status: async () => { await buildModelsInSlices(this.#state); return this.status(); }, reload: () => this.reload() };
  }
}

type ReloadResult = { ok: boolean; error?: string };
type GrpcBlock = GrpcConfig & AccessConfig;

/** The admin port when the config names none and has no port range. */
const defaultAdminPort = 9090;
