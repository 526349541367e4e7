// limit.ts — load shedding: a bound on one target's calls in flight. Beyond it the caller gets
// 429 overloaded with Retry-After at once, rather than a queue that grows without bound. It sits
// before the breaker, so shed calls never count as backend failures.

import { z } from 'zod';
import { GatewayError } from '../errors.ts';
import { shedTotal } from '../observe/metrics.ts';
import type { Stage, StagePlugin, TargetStageDeps } from '../types.ts';

/** ConcurrencyLimit is a counting gate in front of the next step. */
export interface ConcurrencyLimit {
  stage: Stage;
  inFlight(): number;
  shed(): number;
}

/**
 * createConcurrencyLimit admits at most `max` calls at once (no bound when max is undefined,
 * but calls are still counted; a function is read per call, for a limit that moves). A slot is
 * freed when the call below settles. `refusal` words the 429 for a limit of another kind.
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
      return Promise.reject(new GatewayError('overloaded',
        opts.refusal?.(bound) ?? `target ${opts.target} has ${inFlight} calls in flight, its limit; retry shortly`,
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

/** limit is the target's `maxInFlight` bound; without one it still counts calls in flight for status. */
export const limit = {
  name: 'limit',
  schema: {
    target: {
      maxInFlight: z.coerce.number().int().min(1).optional().describe('Concurrent calls to this target; beyond it → 429.'),
    },
  },
  create(config, deps) {
    const gate = createConcurrencyLimit(config.maxInFlight, { target: deps.target, reason: 'max_in_flight' });
    return { stage: gate.stage, status: () => ({ inFlight: gate.inFlight(), shed: gate.shed() }) };
  },
} satisfies StagePlugin<{ maxInFlight?: number }, TargetStageDeps>;
