// ready.ts — the first stage of a target's path: a target that is not ready (its backend down,
// its model not loaded, still warming up) answers 503 at once instead of queueing rows for a
// backend that cannot take them. The readiness is the gateway's last health poll of the target.

import { GatewayError } from '../errors.ts';
import type { StagePlugin, TargetStageDeps } from '../types.ts';

/** ready refuses calls to a target its last health poll found not ready; a split routes around it. */
export const ready = {
  name: 'ready',
  schema: {},
  create(_config, deps) {
    return {
      stage: (next) => (req, ctx) => {
        const health = deps.health();
        if (!health.ready) {
          return Promise.reject(new GatewayError('backend_unavailable', `target ${deps.target} is not ready: ${health.reason ?? 'unknown'}`));
        }
        return next(req, ctx);
      },
      available: () => deps.health().ready,
    };
  },
} satisfies StagePlugin<unknown, TargetStageDeps>;
