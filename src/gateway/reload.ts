// reload.ts — what a config swap does around the switch itself: start the new backends, refresh
// the kept ones, warm the new targets before they take traffic, and retire the old state once
// every request routed through it has closed (bounded by how long a request may live, not by
// drainSeconds, which is SIGTERM's). What the new state took over (backends, pipelines, target
// paths) is never closed with the old one.

import type { Logger } from 'pino';
import type { ModelPipeline } from '../pipeline.ts';
import type { Config } from '../schema.ts';
import type { Backend } from '../types.ts';
import type { TargetPath } from '../target.ts';
import { pollHealth } from './health.ts';
import type { State } from './build.ts';

// How long a reload waits for its new targets to become ready before swapping them in anyway.
const warmSeconds = 10;

// Models closed when a state retires, or new targets' metadata asked when one warms, per turn of the event loop.
const perTurn = 500;

/** prepare makes `next` ready to take over from `old`: on failure its new backends are closed and the error thrown. */
export async function prepare(next: State, old: State, kept: Kept, log: Logger): Promise<void> {
  const fresh = [...next.backends.values()].filter((b) => !kept.backends.has(b));
  try {
    await Promise.all(fresh.map((b) => b.start()));
    // A kept backend's models may have changed behind it (a new version on the server).
    await Promise.all([...kept.backends].map((b) => b.refresh?.()));
    await warm(next, old, new Set(fresh), kept.targets, log);
  } catch (err) {
    await Promise.allSettled(fresh.map((b) => b.close()));
    throw err;
  }
}

/**
 * warm polls the new state's health and, for targets the old state did not serve (a new
 * backend, model or version), waits up to warmSeconds for them to be ready and fetches their
 * metadata, so they take traffic warm. A target still not ready then is swapped in anyway and
 * skipped by its split until it is (a warning says so): a reload never waits without bound.
 */
async function warm(next: State, old: State, fresh: ReadonlySet<Backend>, keptTargets: ReadonlySet<TargetPath>, log: Logger): Promise<void> {
  const keyOf = (model: string, t: TargetPath): string => `${model}\u0000${t.backend}\u0000${t.model}\u0000${t.version ?? ''}`;
  // A kept target was served by the old state under the same model; only the others are looked
  // up by key, in a set made when first needed (a reload that keeps 20,000 targets makes none).
  let served: Set<string> | undefined;
  const servedBefore = (model: string, t: TargetPath): boolean => {
    if (keptTargets.has(t)) return true;
    if (served === undefined) {
      served = new Set();
      for (const p of old.pipelines.values()) for (const o of p.targets) served.add(keyOf(p.name, o));
    }
    return served.has(keyOf(model, t));
  };
  const added: Array<{ model: string; target: TargetPath }> = [];
  // A model built anew whose stages are not ready yet (a transform module still loading) is waited
  // for too: the old one goes on answering meanwhile.
  const oldPipelines = new Set(old.pipelines.values());
  const loading: ModelPipeline[] = [];
  for (const p of next.pipelines.values()) {
    if (!oldPipelines.has(p)) loading.push(p);
    for (const t of p.targets) {
      if (t.weight > 0 && (fresh.has(next.backends.get(t.backend)!) || !servedBefore(p.name, t))) added.push({ model: p.name, target: t });
    }
  }
  const until = performance.now() + warmSeconds * 1000;
  await pollHealth(next, log);
  while ((added.some((a) => !a.target.health.ready) || loading.some((p) => !p.ready())) && performance.now() < until) {
    await new Promise((r) => setTimeout(r, 200));
    await pollHealth(next, log);
  }
  // Asked a slice at a time: 20,000 new targets would otherwise start 20,000 calls in one turn.
  const fetching: Array<Promise<unknown>> = [];
  for (const a of added) {
    if (!a.target.health.ready) continue;
    fetching.push(a.target.endpoint.metadata(AbortSignal.timeout(10_000)).catch(() => undefined));
    if (fetching.length % perTurn === 0) await new Promise((r) => setImmediate(r));
  }
  await Promise.all(fetching);
  const unready = loading.filter((p) => !p.ready());
  if (unready.length > 0) log.warn({ models: unready.map((p) => p.name) }, `models whose stages are not ready after ${warmSeconds} s (a transform loading or failed); swapped in`);
  const cold = added.filter((a) => !a.target.health.ready);
  if (cold.length > 0) {
    log.warn({ targets: cold.map((a) => `${a.model}/${a.target.name}`), reasons: cold.map((a) => a.target.health.reason) },
      `new targets not ready after ${warmSeconds} s; swapped in, and skipped by their splits until they are`);
  }
}

/** Kept is what a new state shares with the one it replaces. */
export interface Kept {
  backends: ReadonlySet<Backend>;
  pipelines: ReadonlySet<ModelPipeline>;
  targets: ReadonlySet<TargetPath>;
  /** Whether the new state kept the old one's run-time model store. */
  store: boolean;
}

/** keptBy lists what `next` took over from `old`. */
export function keptBy(next: State, old: State): Kept {
  const oldBackends = new Set(old.backends.values());
  const oldPipelines = new Set(old.pipelines.values());
  const oldTargets = new Set<TargetPath>();
  for (const p of old.pipelines.values()) for (const t of p.targets) oldTargets.add(t);
  const pipelines = new Set<ModelPipeline>();
  const targets = new Set<TargetPath>();
  // Loops, not spreads: a config of 20,000 models would copy arrays of that length several times.
  for (const p of next.pipelines.values()) {
    if (oldPipelines.has(p)) pipelines.add(p);
    for (const t of p.targets) if (oldTargets.has(t)) targets.add(t);
  }
  return {
    backends: new Set([...next.backends.values()].filter((b) => oldBackends.has(b))),
    pipelines, targets,
    store: old.store !== undefined && next.store === old.store,
  };
}

/** discard closes what a state that was never swapped in built for itself (a failed reload). */
export async function discard(next: State, kept: Kept): Promise<void> {
  await Promise.allSettled([...next.pipelines.values()].filter((p) => !kept.pipelines.has(p)).map((p) => p.close(kept.targets)));
}

// A request answered this long after its body is read would have met its deadline long before.
const graceMs = 5_000;
// With server.requestTimeoutMs 0 (no upload bound), the old config waits at most this long.
const unboundedUploadMs = 3_600_000;

/**
 * lifetimeMs bounds how long a request that started under `config` may still be running: its
 * upload (server.requestTimeoutMs), then its call (the longest model timeoutMs), and a grace.
 */
export function lifetimeMs(config: Config): number {
  const upload = config.server.requestTimeoutMs > 0 ? config.server.requestTimeoutMs : unboundedUploadMs;
  const call = Math.max(0, ...Object.values(config.models).map((m) => m.timeoutMs));
  return upload + call + graceMs;
}

/**
 * retire closes the old state when every request routed through it has closed (counted from
 * the first byte, so a body still uploading is not cut off), whatever drainSeconds is, at most
 * lifetimeMs after the swap, or at once when `hurry` aborts (the gateway is closing). What the
 * new state kept stays open. `earlier` is the retirement of the state before `old`: a path `old`
 * had kept from it may still carry that state's requests, so it is closed only after that one.
 */
export async function retire(old: State, kept: Kept, hurry?: AbortSignal, earlier?: Promise<void>): Promise<void> {
  const until = performance.now() + lifetimeMs(old.config);
  while (old.router.active > 0 && performance.now() < until && hurry?.aborted !== true) {
    await new Promise((r) => setTimeout(r, 50));
  }
  await earlier;
  // In slices, letting requests through between them: closing 20,000 models takes most of a second.
  const closing = [...old.pipelines.values()].filter((p) => !kept.pipelines.has(p));
  for (let i = 0; i < closing.length; i += perTurn) {
    await Promise.allSettled(closing.slice(i, i + perTurn).map((p) => p.close(kept.targets)));
    await new Promise((r) => setImmediate(r));
  }
  // A store the new state did not keep unloads its models before its backend closes.
  if (old.store !== undefined && !kept.store) await old.store.close();
  await Promise.allSettled([...old.backends.values()].filter((b) => !kept.backends.has(b)).map((b) => b.close()));
}
