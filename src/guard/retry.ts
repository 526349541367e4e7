// retry.ts — retries of calls that cannot have had an effect, with fully jittered exponential
// backoff (Envoy: attempt N waits a random time in [0, (2^N − 1)·base), capped at 10·base), inside
// the request's deadline, and within a budget of extra calls over a rolling window so that
// retries cannot amplify an outage (Envoy's retry_budget: budget_percent, min_retry_concurrency).

import type { Logger } from 'pino';
import type { RetryConfig } from '../config/schema.ts';
import { toGatewayError, type GatewayError } from '../errors.ts';
import { retriesTotal } from '../observe/metrics.ts';
import type { Stage } from '../types.ts';
import { remainingMs, sleepWithin } from './deadline.ts';

// Errno codes that mean the connection never carried the request: nothing can have happened.
const notSentCodes = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);

/**
 * isRetryable says whether a failed call may be sent again: 503 backend_unavailable (the
 * server refused the work), or backend_unreachable whose cause chain carries a connect-phase
 * errno (refused, DNS, no route, connect timeout). A reset after sending is not retried: the
 * backend may have run the request.
 */
export function isRetryable(err: GatewayError): boolean {
  if (err.code === 'backend_unavailable') return err.status === 503;
  if (err.code !== 'backend_unreachable') return false;
  let cause: unknown = err.cause;
  for (let depth = 0; depth < 5 && cause !== undefined && cause !== null; depth++) {
    const code = (cause as { code?: unknown }).code;
    if (typeof code === 'string' && notSentCodes.has(code)) return true;
    cause = (cause as { cause?: unknown }).cause;
  }
  return false;
}

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
        return await next(req, ctx);
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
