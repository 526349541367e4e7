// weights.ts — one model's live target weights: the config's weights, until a rollback drops a
// canary to 0 or a promotion moves all the traffic to it; a reload brings the config's back.

import type { Logger } from 'pino';
import { GatewayError } from '../errors.ts';
import type { TargetWeights } from '../types.ts';

/** createWeights holds the weights of `targets` for model `model`. */
export function createWeights(targets: Array<{ name: string; weight: number }>, opts: { model: string; log: Logger }): TargetWeights {
  const weights = new Map(targets.map((t) => [t.name, t.weight]));
  const reasons = new Map<string, string>();
  let epoch = 0;
  return {
    get: (name) => weights.get(name) ?? 0,
    reason: (name) => reasons.get(name),
    get epoch() { return epoch; },
    set(name, weight, reason) {
      const from = weights.get(name);
      if (from === undefined) throw new GatewayError('internal', `model ${opts.model} has no target ${name}`);
      if (!Number.isFinite(weight) || weight < 0) throw new GatewayError('internal', `weight ${weight} for ${name} is not a non-negative number`);
      opts.log.info({ model: opts.model, target: name, from, to: weight, reason }, 'target weight changed');
      weights.set(name, weight);
      if (reason === undefined) reasons.delete(name);
      else reasons.set(name, reason);
      epoch++;
    },
  };
}
