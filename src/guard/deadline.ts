// deadline.ts — the request's deadline, made here and nowhere else: the model's timeoutMs, or
// less when the client asks (x-request-timeout-ms) or when the call is a step of a graph whose
// own deadline comes sooner. It is the first stage of a model's path, so the queue wait and every
// backend attempt spend one budget; from here down ctx.signal aborts at the deadline as well as
// when the client leaves, and the stage answers at the deadline even when a call below ignores
// the signal.

import { z } from 'zod';
import { duration } from '../config/units.ts';
import { abortReason, GatewayError, toGatewayError } from '../errors.ts';
import type { CallContext, ModelStageDeps, StagePlugin } from '../types.ts';

/** timeoutHeader is the request header in which a client may ask for a shorter deadline (ms). */
export const timeoutHeader = 'x-request-timeout-ms';

const maxTimerMs = 2 ** 31 - 1;

/** DeadlineConfig is the model's `timeoutMs`. */
export interface DeadlineConfig { timeoutMs: number }

/** deadline is the stage that gives each call its deadline and holds the call to it. */
export const deadline = {
  name: 'deadline',
  schema: {
    model: {
      timeoutMs: duration.prefault('30s').describe('Deadline for one request, queue wait and backend time together; clients may ask for less with x-request-timeout-ms.'),
    },
  },
  create(config) {
    return {
      stage: (next) => (req, ctx) => {
        // A nested call (a graph's step) keeps the deadline it came with when that is sooner.
        const start = performance.now();
        const outer = ctx.deadline === Infinity ? Infinity : Math.max(0, ctx.deadline - start);
        const budget = Math.min(config.timeoutMs, clientTimeout(ctx.headers[timeoutHeader]) ?? Infinity, outer);
        const client = ctx.signal;
        if (client.aborted) return Promise.reject(abortReason(client));
        const controller = new AbortController();
        if (budget !== outer) ctx.deadline = start + budget;
        ctx.signal = controller.signal;
        // One race: the timer and the client's leaving each abort this stage's signal (for the
        // calls below) and settle the stage themselves, so a call below that ignores the signal
        // is still answered. No listener on the stage's own signal: one listener (the client's)
        // per call, where the two it had were a measurable share of the hot path.
        return new Promise((resolve, reject) => {
          let settled = false;
          const settle = (): boolean => {
            if (settled) return false;
            settled = true;
            if (timer !== undefined) clearTimeout(timer);
            client.removeEventListener('abort', onClientGone);
            return true;
          };
          const abortWith = (reason: unknown): void => {
            if (!settle()) return;
            controller.abort(reason);
            reject(abortReason(controller.signal));
          };
          const onClientGone = (): void => abortWith(client.reason);
          // Node's timers fire at once past 2^31 ms (about 24.8 days): such a budget has no timer.
          const timer = budget < maxTimerMs ? setTimeout(() => abortWith(new GatewayError('deadline_exceeded',
            `no answer within ${Math.round(budget)} ms for model "${ctx.model}"`)), budget) : undefined;
          client.addEventListener('abort', onClientGone, { once: true });
          let work;
          try {
            work = next(req, ctx);
          } catch (err) {
            work = Promise.reject(toGatewayError(err));
          }
          work.then((value) => { if (settle()) resolve(value); }, (err: unknown) => { if (settle()) reject(err); });
        });
      },
    };
  },
} satisfies StagePlugin<DeadlineConfig, ModelStageDeps>;

function clientTimeout(value: string | string[] | undefined): number | undefined {
  if (typeof value !== 'string') return undefined;
  const n = Number(value);
  return Number.isFinite(n) && n > 0 ? n : undefined;
}

/** remainingMs gives the milliseconds left before the request's deadline (negative when past). */
export function remainingMs(ctx: Pick<CallContext, 'deadline'>): number {
  return ctx.deadline - performance.now();
}

/**
 * settleBy resolves or rejects with `work`, or rejects at the deadline or when ctx.signal
 * aborts, whichever comes first. `work` always gets a handler, so a late rejection is never
 * an unhandled one (Node would kill the process).
 */
export function settleBy<T>(work: Promise<T>, ctx: CallContext): Promise<T> {
  if (ctx.signal.aborted) {
    work.catch(() => {});
    return Promise.reject(abortReason(ctx.signal));
  }
  const left = remainingMs(ctx);
  if (left <= 0) {
    work.catch(() => {});
    return Promise.reject(new GatewayError('deadline_exceeded', `no time left to call the backend for model "${ctx.model}"`));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => { done(); reject(abortReason(ctx.signal)); };
    // The signal fires at the deadline too; this timer covers contexts without one (tests, a
    // deadline below Node's timer range) and costs nothing for an infinite one.
    const timer = left < maxTimerMs ? setTimeout(() => {
      done();
      reject(new GatewayError('deadline_exceeded', `no answer within the deadline for model "${ctx.model}"`));
    }, Math.ceil(left)) : undefined;
    const done = (): void => {
      if (timer !== undefined) clearTimeout(timer);
      ctx.signal.removeEventListener('abort', onAbort);
    };
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => { done(); resolve(value); },
      (err: unknown) => { done(); reject(err); },
    );
  });
}

/** sleepWithin waits ms, rejecting early with the abort reason when ctx.signal aborts. */
export function sleepWithin(ms: number, ctx: CallContext): Promise<void> {
  if (ctx.signal.aborted) return Promise.reject(abortReason(ctx.signal));
  return new Promise((resolve, reject) => {
    const onAbort = (): void => { clearTimeout(timer); reject(abortReason(ctx.signal)); };
    const timer = setTimeout(() => { ctx.signal.removeEventListener('abort', onAbort); resolve(); }, ms);
    ctx.signal.addEventListener('abort', onAbort, { once: true });
  });
}
