// limit.ts — load shedding: a bound on calls in flight, per target and gateway-wide. Beyond it the
// caller gets 429 overloaded with Retry-After at once, rather than a queue that grows without bound.

import { GatewayError } from '../errors.ts';
import { shedTotal } from '../observe/metrics.ts';
import type { Stage } from '../types.ts';

/** ConcurrencyLimit is a counting gate in front of the next step. */
export interface ConcurrencyLimit {
  stage: Stage;
  inFlight(): number;
  shed(): number;
}

/**
 * createConcurrencyLimit admits at most `max` calls at once (no bound when max is undefined,
 * but calls are still counted; a function is read per call, for a limit that moves). A slot is
 * freed when the call below settles; the guard's deadline race settles it at the deadline even
 * if the backend call hangs. `refusal` words the 429 for a limit of another kind.
 */
export function createConcurrencyLimit(max: number | undefined | (() => number),
  opts: { target: string; reason: string; refusal?: (max: number) => string }): ConcurrencyLimit {
  let inFlight = 0;
  let shed = 0;
  const stage: Stage = (next) => (req, ctx) => {
    const bound = typeof max === 'function' ? max() : max;
    if (bound !== undefined && inFlight >= bound) {
      shed++;
      shedTotal.inc({ target: opts.target, reason: opts.reason });
      return Promise.reject(new GatewayError('overloaded', opts.refusal?.(bound) ??
        `${opts.target === '*' ? 'the gateway' : `target ${opts.target}`} has ${inFlight} calls in flight, its limit; retry shortly`,
        { retryAfter: 1 }));
    }
    inFlight++;
    let work;
    try {
      work = next(req, ctx);
    } catch (err) {
      inFlight--;
      return Promise.reject(err);
    }
    return work.finally(() => { inFlight--; });
  };
  return { stage, inFlight: () => inFlight, shed: () => shed };
}

/**
 * createGlobalLimit is gateway-wide shedding: one counter shared by every path the returned
 * stage wraps (apply the same Stage to every model); 429 overloaded beyond maxInFlight.
 * Undefined means no limit (the stage passes calls through untouched).
 */
export function createGlobalLimit(maxInFlight: number | undefined): Stage {
  if (maxInFlight === undefined) return (next) => next;
  return createConcurrencyLimit(maxInFlight, { target: '*', reason: 'global_max_in_flight' }).stage;
}
