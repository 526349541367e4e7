// scale.ts — the `scale` preprocess step: per-feature scaling of tabular rows before the model,
// with the values a training pipeline exported (sklearn's StandardScaler or MinMaxScaler), so a
// model trained on scaled features can be sent raw ones.
//
// instances (rows in): each instance is an array of numbers, one per feature. inputs (tensors
// in): the chosen input (`input`, default the first), FP32 or FP64, features along its last
// dimension. A row with the wrong number of features is a 400 bad_tensor naming it.

import { z } from 'zod';
import { describeValue, GatewayError } from '../../errors.ts';
import type { Tensor } from '../../tensors/tensor.ts';
import type { StepPlugin, StepRequest, TransformStep } from '../step.ts';
import { assetFile } from './asset-file.ts';
import { maxFeatures, readScalerFile, scalerOf, type Scaler } from './scaler-values.ts';

const values = z.array(z.number().min(-1e300).max(1e300)).min(1).max(maxFeatures);

/** scaleSchema is the `scale` step's config: a file, or the values inline. */
export const scaleSchema = z.strictObject({
  file: z.string().min(1).max(4096).optional().describe(
    'JSON file of sklearn-exported values, relative to the config file. Accepted key sets: ' +
    '{"mean": [...], "scale": [...]} or {"mean": [...], "std": [...]} (StandardScaler: (x − mean) / scale); ' +
    '{"min": [...], "scale": [...]} (MinMaxScaler\'s min_ and scale_: x · scale + min); ' +
    '{"data_min": [...], "data_max": [...]} (MinMaxScaler to [0, 1]: (x − data_min) / (data_max − data_min)). ' +
    'The sklearn attribute names with their trailing underscore (mean_, scale_, min_, data_min_, data_max_) work too; other keys are ignored. ' +
    'Read once when the model is built; a missing or bad file is a config error.'),
  mean: values.optional().describe('Instead of a file: per-feature means, with std: (x − mean) / std.'),
  std: values.optional().describe('Instead of a file: per-feature standard deviations (none 0), with mean.'),
  min: values.optional().describe('Instead of a file: per-feature minimum of the training data, with max: (x − min) / (max − min), to [0, 1].'),
  max: values.optional().describe('Instead of a file: per-feature maximum of the training data, with min.'),
  input: z.string().min(1).max(256).optional().describe('For tensor requests: the input to scale. Omitted = the first input.'),
}).superRefine((c, ctx) => {
  const inline = c.mean !== undefined || c.std !== undefined || c.min !== undefined || c.max !== undefined;
  if (c.file === undefined && !inline) ctx.addIssue({ code: 'custom', message: 'give "file", or "mean" with "std", or "min" with "max"' });
  if (c.file !== undefined && inline) ctx.addIssue({ code: 'custom', message: 'give "file" or inline values, not both' });
  if (c.file !== undefined || !inline) return;
  try {
    inlineScaler(c);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
  }
}).describe('Scales each feature with sklearn StandardScaler or MinMaxScaler values.');

/** ScaleConfig is the parsed `scale` step config. */
export type ScaleConfig = z.infer<typeof scaleSchema>;

/** scale is the `scale` step's registry entry. */
export const scale = {
  key: 'scale',
  schema: scaleSchema,
  files: ['file'],
  create(config, deps): TransformStep {
    const inline = config.file === undefined ? inlineScaler(config) : undefined;
    const file = config.file === undefined ? undefined : assetFile(config.file, readScalerFile, 'scale', deps.log);
    return {
      name: 'scale',
      ...(file?.load === undefined ? {} : { load: file.load }),
      preprocess(req): StepRequest {
        const scaler = inline ?? file!.get();
        if (req.instances !== undefined) return { ...req, instances: req.instances.map((row, i) => scaleRow(row, i, scaler)) };
        if (req.inputs !== undefined && req.inputs.length > 0) {
          const name = config.input ?? req.inputs[0]!.name;
          const at = req.inputs.findIndex((t) => t.name === name);
          if (at < 0) throw new GatewayError('bad_request', `scale: the request has no input "${name}"; its inputs: ${req.inputs.map((t) => `"${t.name}"`).join(', ')}`);
          const inputs = [...req.inputs];
          inputs[at] = scaleTensor(inputs[at]!, scaler);
          return { ...req, inputs };
        }
        throw new GatewayError('bad_request', 'scale: the request has neither instances (rows of numbers) nor input tensors');
      },
    };
  },
} satisfies StepPlugin<ScaleConfig>;

function inlineScaler(c: { mean?: number[]; std?: number[]; min?: number[]; max?: number[] }): Scaler {
  const fail = (why: string): GatewayError => new GatewayError('bad_config', `scale: the inline values ${why}`);
  if ((c.mean !== undefined || c.std !== undefined) && (c.min !== undefined || c.max !== undefined)) throw fail('mix mean/std with min/max; give one pair');
  if (c.mean !== undefined || c.std !== undefined) {
    if (c.mean === undefined || c.std === undefined) throw fail('need both "mean" and "std"');
    return scalerOf({ mean: c.mean, std: c.std }, fail);
  }
  if (c.min === undefined || c.max === undefined) throw fail('need both "min" and "max"');
  return scalerOf({ data_min: c.min, data_max: c.max }, fail);
}

// One feature, by the scaler's formula: the only arithmetic of the step.
function scaled(s: Scaler, x: number, i: number): number {
  return s.kind === 'standard' ? (x - s.center[i]!) / s.divisor[i]! : x * s.factor[i]! + s.offset[i]!;
}

function scaleRow(row: unknown, r: number, s: Scaler): number[] {
  if (!Array.isArray(row)) throw new GatewayError('bad_tensor', `scale: row ${r} is ${describeValue(row)}; expected an array of ${s.features} numbers`);
  if (row.length !== s.features) throw new GatewayError('bad_tensor', `scale: row ${r} has ${row.length} features; the scaler has ${s.features}`);
  const out = new Array<number>(row.length);
  for (let i = 0; i < row.length; i++) {
    const x: unknown = row[i];
    if (typeof x !== 'number') throw new GatewayError('bad_tensor', `scale: row ${r}, feature ${i} is ${describeValue(x)}; expected a number`);
    out[i] = scaled(s, x, i);
  }
  return out;
}

function scaleTensor(t: Tensor, s: Scaler): Tensor {
  if (t.datatype !== 'FP32' && t.datatype !== 'FP64') {
    throw new GatewayError('bad_tensor', `scale: input "${t.name}" is ${t.datatype}; scaling needs FP32 or FP64 features`);
  }
  const width = t.shape.length === 0 ? 1 : t.shape[t.shape.length - 1]!;
  if (width !== s.features) {
    throw new GatewayError('bad_tensor', `scale: input "${t.name}" (shape [${t.shape.join(', ')}]) has ${width} features per row; the scaler has ${s.features}`);
  }
  const src = t.data as Float32Array | Float64Array;
  const data = t.datatype === 'FP32' ? new Float32Array(src.length) : new Float64Array(src.length);
  for (let start = 0; start < src.length; start += width) {
    for (let i = 0; i < width; i++) data[start + i] = scaled(s, src[start + i]!, i);
  }
  return { ...t, shape: [...t.shape], data };
}
