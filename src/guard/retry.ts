// retry.ts — retries of calls that cannot have had an effect, with fully jittered exponential
// backoff (Envoy: attempt N waits a random time in [0, (2^N − 1)·base), capped at 10·base), inside
// the request's deadline, and within a budget of extra calls over a rolling window so that
// retries cannot amplify an outage (Envoy's retry_budget: budget_percent, min_retry_concurrency).

import type { Logger } from 'pino';
import { z } from 'zod';
import { duration } from '../config/units.ts';
import { isRetryable, toGatewayError } from '../errors.ts';
import { retriesTotal } from '../observe/metrics.ts';
import { derive } from '../observe/trace.ts';
import type { Stage, StagePlugin, TargetStageDeps } from '../types.ts';
import { remainingMs, sleepWithin } from './deadline.ts';

/** retrySchema is a model's `retry` block. */
export const retrySchema = z.strictObject({
  attempts: z.coerce.number().int().min(0).max(5).default(1).describe('Extra attempts for calls that cannot have had an effect.'),
  budgetPercent: z.coerce.number().min(0).max(100).default(20).describe('Retries allowed as a share of calls over the rolling window.'),
  backoffMs: duration.prefault('25ms').describe('Base of the jittered backoff.'),
  budgetWindowMs: duration.prefault('10s').describe('Rolling window over which the retry budget is counted.'),
  minRetries: z.coerce.number().int().min(0).default(3).describe('Retries always allowed in the window, whatever budgetPercent gives at low traffic.'),
}).describe('Retries with a budget.');

export type RetryConfig = z.infer<typeof retrySchema>;

/** backoffMs gives the fully jittered wait before retry number `attempt` (1-based). */
export function backoffMs(attempt: number, baseMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min((2 ** attempt - 1) * baseMs, 10 * baseMs);
  return random() * ceiling;
}

/**
 * RetryBudget counts first attempts and retries in a rolling window of ten buckets; a retry is
 * allowed while retries stay under max(minRetries, budgetPercent % of the calls in the window).
 */
export class RetryBudget {
  #bucketMs: number;
  #percent: number;
  #min: number;
  #calls = new Array<number>(10).fill(0);
  #retries = new Array<number>(10).fill(0);
  #epoch = new Array<number>(10).fill(-1);
  #now: () => number;

  constructor(windowMs: number, percent: number, minRetries: number, now: () => number = () => performance.now()) {
    this.#bucketMs = Math.max(1, windowMs / 10);
    this.#percent = percent;
    this.#min = minRetries;
    this.#now = now;
  }

  #bucket(): number {
    const epoch = Math.floor(this.#now() / this.#bucketMs);
    const i = epoch % 10;
    if (this.#epoch[i] !== epoch) {
      this.#epoch[i] = epoch;
      this.#calls[i] = 0;
      this.#retries[i] = 0;
    }
    return i;
  }

  #sum(counts: number[]): number {
    const oldest = Math.floor(this.#now() / this.#bucketMs) - 9;
    let total = 0;
    for (let i = 0; i < 10; i++) if (this.#epoch[i]! >= oldest) total += counts[i]!;
    return total;
  }

  /** call records a first attempt. */
  call(): void { this.#calls[this.#bucket()]!++; }

  /** tryRetry takes one retry from the budget, or says no. */
  tryRetry(): boolean {
    const i = this.#bucket();
    const allowed = Math.max(this.#min, (this.#percent / 100) * this.#sum(this.#calls));
    if (this.#sum(this.#retries) + 1 > allowed) return false;
    this.#retries[i]!++;
    return true;
  }
}

/** TargetRetry is the retry stage of one target with its counters. */
export interface TargetRetry {
  stage: Stage;
  retries(): number;
  refused(): number;
}

/** createRetry builds the retry stage for one target. */
export function createRetry(config: RetryConfig, opts: { target: string; log: Logger; random?: () => number }): TargetRetry {
  const budget = new RetryBudget(config.budgetWindowMs, config.budgetPercent, config.minRetries);
  let retries = 0;
  let refused = 0;
  const stage: Stage = (next) => async (req, ctx) => {
    budget.call();
    for (let attempt = 1; ; attempt++) {
      try {
        // A traced call tells its attempt span which retry it is.
        return await next(req, attempt === 1 || ctx.trace === undefined ? ctx : derive(ctx, { retry: attempt - 1 }));
      } catch (err) {
        const e = toGatewayError(err);
        if (attempt > config.attempts || !isRetryable(e) || ctx.signal.aborted) throw e;
        const wait = backoffMs(attempt, config.backoffMs, opts.random);
        // A retry that cannot finish before the deadline only adds load: answer now.
        if (remainingMs(ctx) <= wait + 1) throw e;
        if (!budget.tryRetry()) {
          refused++;
          retriesTotal.inc({ target: opts.target, outcome: 'refused' });
          throw e;
        }
        retries++;
        retriesTotal.inc({ target: opts.target, outcome: 'made' });
        ctx.log.debug({ target: opts.target, attempt, waitMs: Math.round(wait), code: e.code }, 'retrying backend call');
        await sleepWithin(wait, ctx);
      }
    }
  };
  return { stage, retries: () => retries, refused: () => refused };
}

/** retry is the stage plugin of a model's `retry` block, one budget per target. */
export const retry = {
  name: 'retry',
  schema: { model: { retry: retrySchema.optional().describe('Retries; omitted = none.') } },
  create(config, deps) {
    if (config.retry === undefined || config.retry.attempts === 0) return undefined;
    const r = createRetry(config.retry, { target: deps.target, log: deps.log });
    return { stage: r.stage, status: () => ({ retries: r.retries(), refused: r.refused() }) };
  },
} satisfies StagePlugin<{ retry?: RetryConfig }, TargetStageDeps>;
