// reload.ts — what a config swap does around the switch itself: start the new backends, refresh
// the kept ones, warm the new targets before they take traffic, and retire the old state once
// every request routed through it has closed.

import type { Logger } from 'pino';
import type { Backend } from '../types.ts';
import type { TargetPath } from '../target.ts';
import { pollHealth } from './health.ts';
import type { State } from './build.ts';

// How long a reload waits for its new targets to become ready before swapping them in anyway.
const warmSeconds = 10;

/** prepare makes `next` ready to take over from `old`: on failure its new backends are closed and the error thrown. */
export async function prepare(next: State, old: State, kept: ReadonlySet<Backend>, log: Logger): Promise<void> {
  const fresh = [...next.backends.values()].filter((b) => !kept.has(b));
  try {
    await Promise.all(fresh.map((b) => b.start()));
    // A kept backend's models may have changed behind it (a new version on the server).
    await Promise.all([...kept].map((b) => b.refresh?.()));
    await warm(next, old, new Set(fresh), log);
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
async function warm(next: State, old: State, fresh: ReadonlySet<Backend>, log: Logger): Promise<void> {
  const keyOf = (model: string, t: TargetPath): string => `${model}\u0000${t.backend}\u0000${t.model}\u0000${t.version ?? ''}`;
  const served = new Set([...old.pipelines.values()].flatMap((p) => p.targets.map((t) => keyOf(p.name, t))));
  const added = [...next.pipelines.values()].flatMap((p) => p.targets
    .filter((t) => t.weight > 0 && (fresh.has(next.backends.get(t.backend)!) || !served.has(keyOf(p.name, t))))
    .map((t) => ({ model: p.name, target: t })));
  const until = performance.now() + warmSeconds * 1000;
  await pollHealth(next, log);
  while (added.some((a) => !a.target.health.ready) && performance.now() < until) {
    await new Promise((r) => setTimeout(r, 200));
    await pollHealth(next, log);
  }
  await Promise.allSettled(added.filter((a) => a.target.health.ready).map((a) => a.target.endpoint.metadata(AbortSignal.timeout(10_000))));
  const cold = added.filter((a) => !a.target.health.ready);
  if (cold.length > 0) {
    log.warn({ targets: cold.map((a) => `${a.model}/${a.target.name}`), reasons: cold.map((a) => a.target.health.reason) },
      `new targets not ready after ${warmSeconds} s; swapped in, and skipped by their splits until they are`);
  }
}

/**
 * retire closes the old state when every request routed through it has closed (counted from
 * the first byte, so a body still uploading is not cut off), or after drainSeconds.
 */
export async function retire(old: State, kept: ReadonlySet<Backend>): Promise<void> {
  const until = performance.now() + old.config.server.drainSeconds * 1000;
  while (old.router.active > 0 && performance.now() < until) await new Promise((r) => setTimeout(r, 50));
  await Promise.allSettled([...old.pipelines.values()].map((p) => p.close()));
  await Promise.allSettled([...old.backends.values()].filter((b) => !kept.has(b)).map((b) => b.close()));
}
