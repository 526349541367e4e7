// guard.ts — protects one target's backend: deadline → limit (fixed, then adaptive when
// configured) → breaker → retry → backend, in that order. The deadline goes first so nothing below runs without time left; the limit sheds before
// the breaker so that shed calls never count as backend failures; the breaker wraps the retries,
// so one client request is one breaker call however many attempts it took.

import type { Logger } from 'pino';
import type { BreakerConfig, RetryConfig } from '../config/schema.ts';
import type { Stage } from '../types.ts';
import { createAdaptiveLimit, type AdaptiveConcurrencyConfig } from './adaptive-limit.ts';
import { createBreaker } from './breaker.ts';
import { deadlineStage } from './deadline.ts';
import { createConcurrencyLimit } from './limit.ts';
import { createRetry } from './retry.ts';

export { createGlobalLimit } from './limit.ts';

/** GuardStatus is one target's guard as /admin/status shows it. */
export interface GuardStatus {
  breaker: 'closed' | 'open' | 'half-open' | 'none';
  inFlight: number;
  retries: number;
  retriesRefused: number;
  shed: number;
  /** The adaptive concurrency limit now and its baseline latency, when configured. */
  adaptiveLimit?: { limit: number; baselineMs: number | null };
}

/** Guard is the stage for one target plus what routing and status need from it. */
export interface Guard {
  stage: Stage;
  status(): GuardStatus;
  /** available is false while the breaker is open, so a split can route around the target. */
  available(): boolean;
  close(): void;
}

/** createGuard builds one target's guard; an omitted breaker or retry config leaves that step out. */
export function createGuard(
  config: { breaker?: BreakerConfig; retry?: RetryConfig; maxInFlight?: number; adaptiveConcurrency?: AdaptiveConcurrencyConfig },
  opts: { target: string; backend: string; log: Logger },
): Guard {
  const log = opts.log.child({ target: opts.target, backend: opts.backend });
  const limit = createConcurrencyLimit(config.maxInFlight, { target: opts.target, reason: 'max_in_flight' });
  const breaker = config.breaker === undefined ? undefined : createBreaker(config.breaker, { target: opts.target, log });
  const retry = config.retry === undefined || config.retry.attempts === 0 ? undefined : createRetry(config.retry, { target: opts.target, log });
  const adaptive = config.adaptiveConcurrency === undefined ? undefined : createAdaptiveLimit(config.adaptiveConcurrency, { target: opts.target, log });
  const stages: Stage[] = [deadlineStage(), limit.stage];
  if (adaptive !== undefined) stages.push(adaptive.stage);
  if (breaker !== undefined) stages.push(breaker.stage);
  if (retry !== undefined) stages.push(retry.stage);
  return {
    stage: (next) => stages.reduceRight((inner, stage) => stage(inner), next),
    status: () => ({
      breaker: breaker?.state() ?? 'none',
      inFlight: limit.inFlight(),
      retries: retry?.retries() ?? 0,
      retriesRefused: retry?.refused() ?? 0,
      shed: limit.shed() + (adaptive?.shed() ?? 0),
      ...(adaptive === undefined ? {} : { adaptiveLimit: { limit: adaptive.limit(), baselineMs: adaptive.baselineMs() ?? null } }),
    }),
    available: () => breaker?.available() ?? true,
    close: () => breaker?.close(),
  };
}
