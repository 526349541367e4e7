// health.ts — polls every target's health (backend up, model ready, metadata known) on an
// interval, records it for the ready stage, the splits and the readiness routes, and logs each
// change once.

import type { Logger } from 'pino';
import { targetReady } from '../observe/metrics.ts';
import type { Health, ModelEndpoint } from '../types.ts';
import type { TargetPath } from '../target.ts';
import type { State } from './build.ts';

// Targets whose answer is recorded per turn of the event loop: a check shared by 20,000 targets
// answers them all at once, and recording that in one go would hold up requests meanwhile.
const recordSlice = 1000;

/** pollHealth asks every target of `state` once, concurrently. */
export async function pollHealth(state: State, log: Logger): Promise<void> {
  const timeoutMs = Math.max(1000, state.config.server.healthIntervalMs);
  // Endpoints that share one check (an http backend's models all ask its health path) are asked
  // once per poll: 20,000 models over one server are one request, not 20,000. A prototype's
  // method may read `this`, so only a check the endpoint holds itself is shared.
  const groups = new Map<unknown, { endpoint: ModelEndpoint; targets: Array<{ model: string; target: TargetPath }> }>();
  for (const p of state.pipelines.values()) {
    for (const t of p.targets) {
      const key = Object.hasOwn(t.endpoint, 'health') ? t.endpoint.health : t;
      let group = groups.get(key);
      if (group === undefined) groups.set(key, group = { endpoint: t.endpoint, targets: [] });
      group.targets.push({ model: p.name, target: t });
    }
  }
  const checks = [...groups.values()].map(async ({ endpoint, targets }) => {
    let health: Health;
    try {
      health = await endpoint.health(AbortSignal.timeout(timeoutMs));
    } catch (err) {
      health = { ready: false, reason: (err as Error).message };
    }
    for (let i = 0; i < targets.length; i++) {
      if (i > 0 && i % recordSlice === 0) await new Promise((r) => setImmediate(r));
      record(targets[i]!.model, targets[i]!.target, health, log);
    }
  });
  // Run-time models are polled too, with no metric: their names are not the config's.
  if (state.store !== undefined) checks.push(state.store.pollHealth());
  await Promise.all(checks);
}

// record sets a target's health and its metric, and logs a change.
function record(model: string, t: TargetPath, health: Health, log: Logger): void {
  const before = t.health;
  t.health = health;
  targetReady.set({ model, target: t.name }, health.ready ? 1 : 0);
  if (before.ready !== health.ready || (before.reason !== health.reason && !health.ready)) {
    const fields = { model, target: t.name, ready: health.ready, reason: health.reason };
    if (health.ready) log.info(fields, 'target ready');
    else log.warn(fields, 'target not ready');
  }
}

/** HealthPoller polls the current state every server.healthIntervalMs until stopped. */
export class HealthPoller {
  #timer: NodeJS.Timeout | undefined;
  #state: () => State;
  #log: Logger;

  constructor(state: () => State, log: Logger) {
    this.#state = state;
    this.#log = log;
  }

  start(): void {
    this.#timer = setTimeout(() => {
      void pollHealth(this.#state(), this.#log).finally(() => { if (this.#timer !== undefined) this.start(); });
    }, this.#state().config.server.healthIntervalMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
