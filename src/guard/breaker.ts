// breaker.ts — the circuit breaker per target, the only file that imports opossum. It decides
// which failures count (Envoy's origin split: the backend's fault, never the client's) and works
// around opossum 10's pitfalls (see shared/reference/reliability.md §2a):
// - opossum's own timeout is off (it does not cancel the call); the guard's deadline race is used;
// - no `capacity` (its rejections count as failures); limit.ts sheds before the breaker;
// - no shared abortController; each call has the request's own ctx.signal;
// - while open we refuse before calling opossum, so refusals never count as fires;
// - a filtered error during half-open would close the breaker: a client abort re-opens it instead;
// - stats are not reset on close, so one failure after recovery would re-open at once: a fresh
//   opossum breaker (fresh window) replaces the old one on every close.

import CircuitBreaker from 'opossum';
import type { Logger } from 'pino';
import { z } from 'zod';
import { duration } from '../config/units.ts';
import { abortReason, GatewayError, isBackendFault, toGatewayError } from '../errors.ts';
import { breakerState } from '../observe/metrics.ts';
import type { CallContext, Stage, StagePlugin, TargetStageDeps } from '../types.ts';
import type { InferResponse } from '../tensors/tensor.ts';
import { remainingMs, settleBy } from './deadline.ts';

export type BreakerState = 'closed' | 'open' | 'half-open';

/** TargetBreaker is one target's circuit: a Stage plus its state for routing and status. */
export interface TargetBreaker {
  stage: Stage;
  state(): BreakerState;
  /** available is false while open or while the half-open probe is in flight. */
  available(): boolean;
  close(): void;
}

/** breakerSchema is a model's `breaker` block. */
export const breakerSchema = z.strictObject({
  errorThresholdPercentage: z.coerce.number().min(1).max(100).default(50).describe('Failure percentage in the rolling window that opens the breaker.'),
  volumeThreshold: z.coerce.number().int().min(1).default(20).describe('Calls in the window before the breaker may open.'),
  rollingCountTimeoutMs: duration.prefault('10s').describe('Length of the rolling window.'),
  resetTimeoutMs: duration.prefault('10s').describe('Time open before one probe is let through (half-open).'),
}).describe('Circuit breaker per target.');

export type BreakerConfig = z.infer<typeof breakerSchema>;

/** breaker is the stage plugin of a model's `breaker` block, one circuit per target. */
export const breaker = {
  name: 'breaker',
  schema: { model: { breaker: breakerSchema.optional().describe('Circuit breaker per target; omitted = none.') } },
  create(config, deps) {
    if (config.breaker === undefined) return undefined;
    const b = createBreaker(config.breaker, { target: deps.target, log: deps.log });
    return { stage: b.stage, status: () => ({ state: b.state() }), available: b.available, close: b.close };
  },
} satisfies StagePlugin<{ breaker?: BreakerConfig }, TargetStageDeps>;

const stateValue: Record<BreakerState, number> = { closed: 0, 'half-open': 1, open: 2 };
type Call = () => Promise<InferResponse>;

/** createBreaker builds the circuit for one target from its config. */
export function createBreaker(config: BreakerConfig, opts: { target: string; log: Logger }): TargetBreaker {
  let openedAt = 0;
  let closed = false;
  let breaker = fresh();
  breakerState.set({ target: opts.target }, 0);

  function fresh(): CircuitBreaker<[Call], InferResponse> {
    const b = new CircuitBreaker<[Call], InferResponse>((call) => call(), {
      timeout: false,
      errorThresholdPercentage: config.errorThresholdPercentage,
      // opossum opens on the first failure with volumeThreshold 0; the schema keeps it ≥ 1.
      volumeThreshold: Math.max(1, config.volumeThreshold),
      rollingCountTimeout: config.rollingCountTimeoutMs,
      rollingCountBuckets: 10,
      resetTimeout: config.resetTimeoutMs,
      enableSnapshots: false,
      rollingPercentilesEnabled: false,
      errorFilter: (err: unknown) => {
        const e = toGatewayError(err);
        if (isBackendFault(e)) return false;
        // A client abort says nothing about the backend: it must neither count nor close a
        // half-open circuit (opossum reports filtered errors as successes); wait another reset.
        if (e.code === 'client_closed' && b.halfOpen) b.open();
        return true;
      },
    });
    b.on('open', () => {
      openedAt = performance.now();
      breakerState.set({ target: opts.target }, 2);
      opts.log.warn({ target: opts.target, breaker: 'open', resetTimeoutMs: config.resetTimeoutMs }, `circuit for target ${opts.target} opened`);
    });
    b.on('halfOpen', () => {
      breakerState.set({ target: opts.target }, 1);
      opts.log.info({ target: opts.target, breaker: 'half-open' }, `circuit for target ${opts.target} is half-open: one probe goes through`);
    });
    b.on('close', () => {
      breakerState.set({ target: opts.target }, 0);
      opts.log.info({ target: opts.target, breaker: 'closed' }, `circuit for target ${opts.target} closed`);
      // Start the closed state with an empty window (see the header); not inside opossum's emit.
      queueMicrotask(() => {
        if (closed || breaker !== b) return;
        b.shutdown();
        breaker = fresh();
      });
    });
    return b;
  }

  function state(): BreakerState {
    if (breaker.opened) return 'open';
    if (breaker.halfOpen) return 'half-open';
    return 'closed';
  }

  function refusal(): GatewayError {
    if (breaker.halfOpen) {
      return new GatewayError('circuit_open', `target ${opts.target} is failing; a probe is testing it now`, { retryAfter: 1 });
    }
    const left = Math.max(0, config.resetTimeoutMs - (performance.now() - openedAt));
    return new GatewayError('circuit_open', `target ${opts.target} is failing; its circuit is open for ${Math.ceil(left / 1000)} s more`,
      { retryAfter: Math.max(1, Math.ceil(left / 1000)) });
  }

  const stage: Stage = (next) => (req, ctx: CallContext) => {
    // Refuse without touching opossum while open, or while half-open with its probe in flight.
    if (breaker.opened || (breaker.halfOpen && !breaker.pendingClose)) return Promise.reject(refusal());
    // No time left: no call, and nothing to count (the deadline passed in the queue or above).
    if (ctx.signal.aborted) return Promise.reject(abortReason(ctx.signal));
    if (remainingMs(ctx) <= 0) return Promise.reject(new GatewayError('deadline_exceeded', `no time left to call target ${opts.target}`));
    return breaker.fire(() => settleBy(next(req, ctx), ctx)).catch((err: unknown) => {
      throw toGatewayError(err);
    });
  };

  return {
    stage,
    state,
    available: () => breaker.closed || (breaker.halfOpen && breaker.pendingClose),
    close: () => {
      closed = true;
      breaker.shutdown();
    },
  };
}
