// deadline.ts — the first guard step: no backend call starts without time left, and the stage
// answers at the deadline (or client disconnect) even when the call below ignores ctx.signal.

import { GatewayError, toGatewayError } from '../errors.ts';
import type { CallContext, Stage } from '../types.ts';

/** remainingMs gives the milliseconds left before the request's deadline (negative when past). */
export function remainingMs(ctx: Pick<CallContext, 'deadline'>): number {
  return ctx.deadline - performance.now();
}

/** abortReason turns an aborted signal's reason into the GatewayError the client gets. */
export function abortReason(signal: AbortSignal): GatewayError {
  const reason: unknown = signal.reason;
  if (reason instanceof GatewayError) return reason;
  if (reason instanceof Error && reason.name === 'TimeoutError') {
    return new GatewayError('deadline_exceeded', 'the request ran out of time', { cause: reason });
  }
  return new GatewayError('client_closed', 'the request was aborted', { cause: reason });
}

function pastDeadline(ctx: CallContext): GatewayError {
  return new GatewayError('deadline_exceeded', `no time left to call the backend for model "${ctx.model}"`);
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
    return Promise.reject(pastDeadline(ctx));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => { done(); reject(abortReason(ctx.signal)); };
    // The server's signal fires at the deadline too; this timer covers contexts without one.
    const timer = setTimeout(() => {
      done();
      reject(new GatewayError('deadline_exceeded', `no answer within the deadline for model "${ctx.model}"`));
    }, Math.ceil(left));
    const done = (): void => {
      clearTimeout(timer);
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

/**
 * deadlineStage refuses with 504 deadline_exceeded when no time is left before calling next
 * (and with the abort reason when the client has gone), and races next against the deadline.
 */
export function deadlineStage(): Stage {
  return (next) => (req, ctx) => {
    if (ctx.signal.aborted) return Promise.reject(abortReason(ctx.signal));
    if (remainingMs(ctx) <= 0) return Promise.reject(pastDeadline(ctx));
    let work;
    try {
      work = next(req, ctx);
    } catch (err) {
      return Promise.reject(toGatewayError(err));
    }
    return settleBy(work, ctx);
  };
}
