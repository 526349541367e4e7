// adaptive-limit.ts — an AIMD concurrency limit that finds a backend's useful concurrency from
// observed latency, in the manner of TCP congestion control and Netflix's concurrency-limits
// AIMD limiter: while calls come back within `latencyTolerance` × the baseline latency (the
// windowed minimum) and the limit is in use, it grows by about one per limit's worth of calls;
// when a call comes back slower than that, or the backend says it is overloaded or times out,
// it shrinks by `backoffRatio`, at most once per round trip. Calls beyond the limit get 429 at
// once, so a saturated backend sees its queue stop growing instead of its latency.

import type { Logger } from 'pino';
import { z } from 'zod';
import { duration } from '../config/units.ts';
import { isCongestion } from '../errors.ts';
import { adaptiveLimitGauge } from '../observe/metrics.ts';
import type { Stage, StagePlugin, TargetStageDeps } from '../types.ts';
import { createConcurrencyLimit } from './limit.ts';

/** adaptiveConcurrencySchema is a target's `adaptiveConcurrency` block. */
export const adaptiveConcurrencySchema = z.strictObject({
  initialLimit: z.coerce.number().int().min(1).default(16).describe('Calls in flight allowed at start.'),
  minLimit: z.coerce.number().int().min(1).default(1).describe('The limit never goes below this.'),
  maxLimit: z.coerce.number().int().min(1).default(1000).describe('The limit never goes above this.'),
  latencyTolerance: z.coerce.number().min(1).default(2).describe('A call slower than this × the baseline (lowest recent latency) counts as congestion.'),
  backoffRatio: z.coerce.number().gt(0).lt(1).default(0.9).describe('The limit is multiplied by this on congestion.'),
  baselineWindowMs: duration.prefault('30s').describe('The baseline is the lowest latency over the last two such windows, so it can follow a backend that got slower.'),
}).superRefine((c, ctx) => {
  if (c.minLimit > c.maxLimit) ctx.addIssue({ code: 'custom', path: ['minLimit'], message: 'minLimit must not exceed maxLimit' });
}).describe('AIMD concurrency limit from observed latency: finds the backend\'s useful concurrency by itself.');

/** adaptiveLimit is the stage plugin of a target's `adaptiveConcurrency`. */
export const adaptiveLimit = {
  name: 'adaptiveLimit',
  schema: { target: { adaptiveConcurrency: adaptiveConcurrencySchema.optional() } },
  create(config, deps) {
    if (config.adaptiveConcurrency === undefined) return undefined;
    const l = createAdaptiveLimit(config.adaptiveConcurrency, { target: deps.target, log: deps.log });
    return {
      stage: l.stage,
      status: () => ({ limit: l.limit(), inFlight: l.inFlight(), shed: l.shed(), baselineMs: l.baselineMs() ?? null }),
    };
  },
} satisfies StagePlugin<{ adaptiveConcurrency?: AdaptiveConcurrencyConfig }, TargetStageDeps>;

export type AdaptiveConcurrencyConfig = z.infer<typeof adaptiveConcurrencySchema>;

/** AdaptiveLimit is the stage and what /admin/status shows. */
export interface AdaptiveLimit {
  stage: Stage;
  limit(): number;
  inFlight(): number;
  shed(): number;
  /** The baseline latency in ms, or undefined before the first call. */
  baselineMs(): number | undefined;
}

/** createAdaptiveLimit builds one target's limit; `now` is for tests. */
export function createAdaptiveLimit(
  config: Partial<AdaptiveConcurrencyConfig>,
  opts: { target: string; log: Logger; now?: () => number },
): AdaptiveLimit {
  const c = adaptiveConcurrencySchema.parse(config);
  const now = opts.now ?? (() => performance.now());
  let limit = Math.min(c.maxLimit, Math.max(c.minLimit, c.initialLimit));
  // Windowed minimum: the current window's and the previous one's.
  let windowStart = now();
  let minCurrent = Infinity;
  let minPrevious = Infinity;
  let lastDecrease = -Infinity;
  adaptiveLimitGauge.set({ target: opts.target }, limit);

  const baseline = (): number => Math.min(minCurrent, minPrevious);

  const observe = (ms: number, congested: boolean, inFlightAtStart: number): void => {
    const t = now();
    if (t - windowStart >= c.baselineWindowMs) {
      // A quiet spell longer than two windows leaves nothing recent to compare with.
      minPrevious = t - windowStart >= 2 * c.baselineWindowMs ? Infinity : minCurrent;
      minCurrent = Infinity;
      windowStart = t;
    }
    if (!congested && ms < minCurrent) minCurrent = ms;
    const base = baseline();
    const slow = Number.isFinite(base) && ms > base * c.latencyTolerance;
    const before = limit;
    if (congested || slow) {
      // One decrease per round trip: the calls already in flight saw the same congestion.
      if (t - lastDecrease >= ms) {
        limit = Math.max(c.minLimit, limit * c.backoffRatio);
        lastDecrease = t;
      }
    } else if (inFlightAtStart + 1 >= limit / 2) {
      // Grow only while the limit is in use: an idle target says nothing about more load.
      limit = Math.min(c.maxLimit, limit + 1 / limit);
    }
    if (Math.floor(before) !== Math.floor(limit)) {
      adaptiveLimitGauge.set({ target: opts.target }, Math.floor(limit));
      if (limit < before) opts.log.debug({ target: opts.target, limit: Math.floor(limit), ms: Math.round(ms), baselineMs: Math.round(base) }, 'adaptive limit lowered');
    }
  };

  // The gate admits and counts; this stage only measures what comes back through it.
  const gate = createConcurrencyLimit(() => Math.floor(limit), {
    target: opts.target, reason: 'adaptive_limit',
    refusal: (max) => `target ${opts.target} is at its adaptive concurrency limit (${max} in flight); retry shortly`,
  });
  const measured: Stage = (next) => (req, ctx) => {
    const atStart = gate.inFlight() - 1; // the gate has counted this call already
    const started = now();
    return next(req, ctx).then((res) => {
      observe(now() - started, false, atStart);
      return res;
    }, (err: unknown) => {
      // Only overload and timeouts speak of capacity: a client that left, a bad request or a
      // broken model says nothing about how many calls the backend can carry.
      if (isCongestion(err)) observe(now() - started, true, atStart);
      throw err;
    });
  };
  const stage: Stage = (next) => gate.stage(measured(next));

  return {
    stage,
    limit: () => Math.floor(limit),
    inFlight: () => gate.inFlight(),
    shed: () => gate.shed(),
    baselineMs: () => (Number.isFinite(baseline()) ? baseline() : undefined),
  };
}
