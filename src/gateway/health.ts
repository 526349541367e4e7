// health.ts — polls every target's health (backend up, model ready, metadata known) on an
// interval, records it for the ready stage, the splits and the readiness routes, and logs each
// change once.

import type { Logger } from 'pino';
import { targetReady } from '../observe/metrics.ts';
import type { Health, ModelEndpoint } from '../types.ts';
import type { State } from './build.ts';

/** pollHealth asks every target of `state` once, concurrently. */
export async function pollHealth(state: State, log: Logger): Promise<void> {
  const timeoutMs = Math.max(1000, state.config.server.healthIntervalMs);
  const checks: Promise<void>[] = [];
  // Endpoints that share one check (an http backend's models all ask its health path) are asked
  // once per poll: 20,000 models over one server are one request, not 20,000.
  const asked = new Map<ModelEndpoint['health'], Promise<Health>>();
  const ask = (endpoint: ModelEndpoint): Promise<Health> => {
    const check = endpoint.health;
    // A prototype's method may read `this`: only a check the endpoint holds itself is shared.
    if (!Object.hasOwn(endpoint, 'health')) return endpoint.health(AbortSignal.timeout(timeoutMs));
    let answer = asked.get(check);
    if (answer === undefined) asked.set(check, answer = endpoint.health(AbortSignal.timeout(timeoutMs)));
    return answer;
  };
  for (const p of state.pipelines.values()) {
    for (const t of p.targets) {
      checks.push((async () => {
        const before = t.health;
        try {
          t.health = await ask(t.endpoint);
        } catch (err) {
          t.health = { ready: false, reason: (err as Error).message };
        }
        targetReady.set({ model: p.name, target: t.name }, t.health.ready ? 1 : 0);
        if (before.ready !== t.health.ready || (before.reason !== t.health.reason && !t.health.ready)) {
          const fields = { model: p.name, target: t.name, ready: t.health.ready, reason: t.health.reason };
          if (t.health.ready) log.info(fields, 'target ready');
          else log.warn(fields, 'target not ready');
        }
      })());
    }
  }
  // Run-time models are polled too, with no metric: their names are not the config's.
  if (state.store !== undefined) checks.push(state.store.pollHealth());
  await Promise.all(checks);
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
