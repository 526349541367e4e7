// softmax.ts — the `softmax` postprocess step: a model's logits become probabilities along the
// last axis, computed the stable way (the row's maximum subtracted before exp, so a large logit
// cannot overflow to Infinity and give NaN).
//
// outputs (tensors in): every float output (FP16, FP32, FP64), or the one named by `output`;
// the answer keeps each tensor's name, shape and datatype. predictions (rows in): each
// prediction that is an array of numbers (or of such arrays: along the innermost) is replaced.

import { z } from 'zod';
import { describeValue, GatewayError } from '../../errors.ts';
import { floatToHalf } from '../../tensors/datatype.ts';
import type { Tensor } from '../../tensors/tensor.ts';
import type { StepPlugin, StepResponse, TransformStep } from '../step.ts';
import { isFloatType, numbersOf, rowsAlongLastAxis } from './scores.ts';

/** softmaxSchema is the `softmax` step's config. */
export const softmaxSchema = z.strictObject({
  output: z.string().min(1).max(256).optional().describe(
    'For tensor answers: the one output to apply it to (FP16, FP32 or FP64). Omitted = every float output; others are left alone.'),
}).describe('Turns logits into probabilities along the last axis (numerically stable).');

/** SoftmaxConfig is the parsed `softmax` step config. */
export type SoftmaxConfig = z.infer<typeof softmaxSchema>;

/** softmax is the `softmax` step's registry entry. */
export const softmax = {
  key: 'softmax',
  schema: softmaxSchema,
  create(config): TransformStep {
    return {
      name: 'softmax',
      postprocess(res): StepResponse {
        if (res.answer !== undefined) return res;
        if (res.predictions !== undefined) return { ...res, predictions: res.predictions.map((p, i) => softmaxPrediction(p, i)) };
        if (res.outputs === undefined) return res;
        const name = config.output;
        if (name !== undefined) {
          const t = res.outputs.find((o) => o.name === name);
          if (t === undefined) {
            throw new GatewayError('transform_failed', `softmax: the model answered no output "${name}"; its outputs: ${res.outputs.map((o) => `"${o.name}"`).join(', ')}`);
          }
          if (!isFloatType(t.datatype)) throw new GatewayError('transform_failed', `softmax: output "${name}" is ${t.datatype}; softmax needs FP16, FP32 or FP64`);
        }
        const outputs = res.outputs.map((t) => ((name === undefined ? isFloatType(t.datatype) : t.name === name) ? softmaxTensor(t) : t));
        return { ...res, outputs };
      },
    };
  },
} satisfies StepPlugin<SoftmaxConfig>;

/** softmaxRow writes the softmax of values[start, start+width) into out at the same places. */
export function softmaxRow(values: ArrayLike<number>, out: { [i: number]: number }, start: number, width: number): void {
  let max = -Infinity;
  for (let i = start; i < start + width; i++) if (values[i]! > max) max = values[i]!;
  let sum = 0;
  const exps = new Float64Array(width);
  for (let i = 0; i < width; i++) {
    exps[i] = Math.exp(values[start + i]! - max);
    sum += exps[i]!;
  }
  for (let i = 0; i < width; i++) out[start + i] = exps[i]! / sum;
}

function softmaxTensor(t: Tensor): Tensor {
  const values = numbersOf(t);
  const { rows, width } = rowsAlongLastAxis(t.shape);
  const result = new Float64Array(values.length);
  for (let r = 0; r < rows; r++) softmaxRow(values, result, r * width, width);
  let data: Tensor['data'];
  if (t.datatype === 'FP16') data = Uint16Array.from(result, floatToHalf);
  else if (t.datatype === 'FP32') data = Float32Array.from(result);
  else data = result;
  return { ...t, shape: [...t.shape], data };
}

function softmaxPrediction(p: unknown, i: number): unknown {
  if (Array.isArray(p) && p.length > 0) {
    if (p.every((v) => typeof v === 'number')) {
      const out = new Array<number>(p.length);
      softmaxRow(p, out, 0, p.length);
      return out;
    }
    if (p.every((v) => Array.isArray(v))) return p.map((row) => softmaxPrediction(row, i));
  }
  throw new GatewayError('transform_failed', `softmax: prediction ${i} is ${describeValue(p)}; expected an array of numbers (scores)`);
}
