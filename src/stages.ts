// stages.ts — the stage registry, in path order. A stage is one file exporting a StagePlugin and
// one line here: src/pipeline.ts composes these lists, src/schema.ts puts their config fields
// into the model and target blocks, and src/reference.ts documents them from the same lists.

import { batcher } from './batching/batcher.ts';
import { adaptiveLimit } from './guard/adaptive-limit.ts';
import { breaker } from './guard/breaker.ts';
import { deadline } from './guard/deadline.ts';
import { limit } from './guard/limit.ts';
import { maxRows } from './guard/max-rows.ts';
import { ready } from './guard/ready.ts';
import { retry } from './guard/retry.ts';
import { rollback } from './routing/rollback.ts';
import { shadow } from './routing/shadow.ts';
import { split } from './routing/split.ts';
import { classification } from './transform/classification.ts';
import { transform } from './transform/stage.ts';

/** modelStages wrap a model's path once, outermost first; the last, the split, names the target. */
export const modelStages = [
  deadline, // the request's deadline: queue wait and every attempt spend one budget
  transform, // pre- and post-processing: built-in steps and user modules (on worker threads)
  classification, // Triton's "classification" output parameter, for every backend
  maxRows, //  maxRowsPerRequest: too many rows in one request → 400
  shadow, //   copies a share of answered calls to a shadow target and compares
  rollback, // watches the canary against the primary; drops its weight when worse
  split, //    picks the target: version, override, sticky key, weights
] as const;

/**
 * graphModelStages are the model stages of a graph model (`graph` instead of `targets`): those
 * that do not route to targets. The graph takes the split's place at the end of the path.
 */
export const graphModelStages = modelStages.filter((s) => s.name !== 'shadow' && s.name !== 'rollback' && s.name !== 'split');

/** targetStages wrap each target's backend model, outermost first. */
export const targetStages = [
  ready, //         a target its health poll found down answers 503 at once
  batcher, //       merges rows of many calls into one backend call
  limit, //         maxInFlight: sheds with 429 beyond it
  adaptiveLimit, // AIMD limit from observed latency
  breaker, //       opens on backend faults; routes around the target
  retry, //         retries what cannot have run, within a budget
] as const;
