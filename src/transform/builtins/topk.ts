// topk.ts — the `topk` postprocess step: the k best classes of each answer.
//
// predictions (rows in): each prediction that is an array of scores becomes an array of
// {index, score}, highest score first (ties: the lower index first), at most k long.
// outputs (tensors in): the chosen output (`output`, default the first float output) becomes
// Triton's classification form, a BYTES tensor of "score:index" strings (triton-classes.ts); a
// `labels` step after this one appends ":label" to them. Other outputs are left alone.

import { z } from 'zod';
import { describeValue, GatewayError } from '../../errors.ts';
import type { StepPlugin, StepResponse, TransformStep } from '../step.ts';
import { isFloatType, isNumericType, topOrder } from './scores.ts';
import { classificationTensor } from './triton-classes.ts';

/** maxTopK bounds k, as the classification stage bounds Triton's "classification" count. */
export const maxTopK = 1000;

/** topkSchema is the `topk` step's config. */
export const topkSchema = z.strictObject({
  k: z.number().int().min(1).max(maxTopK).default(5).describe(`How many classes to keep per answer, 1..${maxTopK}; fewer when the model has fewer.`),
  output: z.string().min(1).max(256).optional().describe(
    'For tensor answers: the output to rank (any numeric datatype). Omitted = the first FP16/FP32/FP64 output.'),
}).describe('Keeps the k highest-scoring classes: [{index, score}] per prediction, or Triton classification strings for a tensor.');

/** TopkConfig is the parsed `topk` step config. */
export type TopkConfig = z.infer<typeof topkSchema>;

/** topk is the `topk` step's registry entry. */
export const topk = {
  key: 'topk',
  schema: topkSchema,
  create(config): TransformStep {
    const { k } = config;
    return {
      name: 'topk',
      postprocess(res): StepResponse {
        if (res.answer !== undefined) return res;
        if (res.predictions !== undefined) return { ...res, predictions: res.predictions.map((p, i) => topPrediction(p, i, k)) };
        if (res.outputs === undefined) return res;
        const list = res.outputs.map((t) => `"${t.name}" (${t.datatype})`).join(', ');
        const at = config.output === undefined
          ? res.outputs.findIndex((t) => isFloatType(t.datatype))
          : res.outputs.findIndex((t) => t.name === config.output);
        if (at < 0) {
          throw new GatewayError('transform_failed', config.output === undefined
            ? `topk: the model answered no float output to rank; its outputs: ${list} (name one with "output")`
            : `topk: the model answered no output "${config.output}"; its outputs: ${list}`);
        }
        const chosen = res.outputs[at]!;
        if (!isNumericType(chosen.datatype)) throw new GatewayError('transform_failed', `topk: output "${chosen.name}" is ${chosen.datatype}; topk ranks numbers`);
        const outputs = [...res.outputs];
        outputs[at] = classificationTensor(chosen, k);
        return { ...res, outputs };
      },
    };
  },
} satisfies StepPlugin<TopkConfig>;

function topPrediction(p: unknown, i: number, k: number): Array<{ index: number; score: number }> {
  if (!Array.isArray(p) || p.length === 0 || !p.every((v) => typeof v === 'number')) {
    throw new GatewayError('transform_failed', `topk: prediction ${i} is ${describeValue(p)}; expected an array of scores`);
  }
  return topOrder(p, 0, p.length, k).map((index) => ({ index, score: p[index] as number }));
}
