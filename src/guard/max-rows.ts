// max-rows.ts — a bound on the rows (instances, or dim 0 of the inputs) one request may carry,
// so one client cannot take a whole batch, or a backend's memory, with a single call. Checked
// before the request is routed: a refused request touches no target.

import { z } from 'zod';
import { GatewayError } from '../errors.ts';
import { rowsOf } from '../tensors/shape.ts';
import type { ModelStageDeps, StagePlugin } from '../types.ts';

/** maxRows refuses a request carrying more rows than the model's `maxRowsPerRequest`, with 400. */
export const maxRows = {
  name: 'maxRows',
  schema: {
    model: {
      maxRowsPerRequest: z.coerce.number().int().min(1).optional().describe(
        'Most rows (instances, or dim 0 of the inputs) one request may carry; more → 400 bad_request. Omitted = no bound.'),
    },
  },
  create(config, deps) {
    const max = config.maxRowsPerRequest;
    if (max === undefined) return undefined;
    return {
      stage: (next) => (req, ctx) => {
        const rows = rowsOf(req);
        if (rows > max) {
          return Promise.reject(new GatewayError('bad_request',
            `the request carries ${rows} rows; model "${deps.model}" takes at most ${max} per request (maxRowsPerRequest): send them in smaller requests`));
        }
        return next(req, ctx);
      },
    };
  },
} satisfies StagePlugin<{ maxRowsPerRequest?: number }, ModelStageDeps>;
