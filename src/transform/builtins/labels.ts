// labels.ts — the `labels` postprocess step: class indices and scores in the model's answer
// become class names from a labels file, read once when the model is built.
//
// predictions (rows in): a class index → its label; an array of scores → the label of the
// highest; an object with a numeric "label" → that label named; topk's [{index, score}] (or one
// such object) → each gets a "label". A string is left alone (already a label).
// outputs (tensors in): the chosen output (`output`, default the first) becomes a BYTES tensor
// of labels: a float output is read as scores (the argmax along its last axis; that axis is
// dropped), an integer output as class indices (one label per element, same shape); a BYTES
// output of Triton classification strings ("score:index", from topk) gets ":label" appended;
// other outputs are left as they are.

import { z } from 'zod';
import { describeValue, GatewayError } from '../../errors.ts';
import type { Tensor } from '../../tensors/tensor.ts';
import type { StepPlugin, StepResponse, TransformStep } from '../step.ts';
import { assetFile } from './asset-file.ts';
import { readLabels } from './label-file.ts';
import { argmax, isFloatType, isIntegerType, numbersOf, rowsAlongLastAxis } from './scores.ts';

/** labelsSchema is the `labels` step's config. */
export const labelsSchema = z.strictObject({
  file: z.string().min(1).max(4096).describe(
    'Labels file, relative to the config file: one label per line (line 1 = class 0), or a JSON array of strings. ' +
    'Read once when the model is built; a missing or bad file is a config error. A gs://, s3://, oci:// or https:// file is fetched through the `storage` cache; the model is ready once it has arrived.'),
  output: z.string().min(1).max(256).optional().describe(
    'For tensor answers: the output to turn into labels (a BYTES tensor of the same name). Omitted = the first output.'),
}).describe('Names classes: class indices and scores in the answer become labels from a file.');

/** LabelsConfig is the parsed `labels` step config. */
export type LabelsConfig = z.infer<typeof labelsSchema>;

const utf8 = new TextEncoder();
const utf8Text = new TextDecoder();
const classString = /^([^:]*):(\d+)$/;

/** labels is the `labels` step's registry entry. */
export const labels = {
  key: 'labels',
  schema: labelsSchema,
  files: ['file'],
  create(config, deps): TransformStep {
    const file = assetFile(config.file, (path) => readLabels(path), 'labels', deps.log);
    const nameOf = (index: number): string => {
      const names = file.get();
      if (!Number.isInteger(index) || index < 0 || index >= names.length) {
        throw new GatewayError('transform_failed', `labels: class index ${index} is out of range: ${config.file} holds ${names.length} labels`);
      }
      return names[index]!;
    };
    return {
      name: 'labels',
      ...(file.load === undefined ? {} : { load: file.load }),
      postprocess(res): StepResponse {
        if (res.answer !== undefined) return res;
        if (res.predictions !== undefined) return { ...res, predictions: res.predictions.map((p, i) => labelPrediction(p, i, nameOf)) };
        if (res.outputs !== undefined && res.outputs.length > 0) {
          const name = config.output ?? res.outputs[0]!.name;
          const at = res.outputs.findIndex((t) => t.name === name);
          if (at < 0) {
            throw new GatewayError('transform_failed', `labels: the model answered no output "${name}"; its outputs: ${res.outputs.map((t) => `"${t.name}"`).join(', ')}`);
          }
          const outputs = [...res.outputs];
          outputs[at] = labelTensor(outputs[at]!, nameOf);
          return { ...res, outputs };
        }
        return res;
      },
    };
  },
} satisfies StepPlugin<LabelsConfig>;

function labelPrediction(p: unknown, i: number, nameOf: (index: number) => string): unknown {
  if (typeof p === 'string') return p;
  if (typeof p === 'number') return nameOf(p);
  if (Array.isArray(p)) {
    if (p.length > 0 && p.every((v) => typeof v === 'number')) return nameOf(argmax(p, 0, p.length));
    if (p.length > 0 && p.every(isScored)) return p.map((c) => ({ ...c, label: nameOf(c.index) }));
  } else if (isScored(p)) {
    return { ...p, label: nameOf(p.index) };
  } else if (typeof p === 'object' && p !== null && 'label' in p) {
    const label = (p as { label: unknown }).label;
    if (typeof label === 'string') return p;
    if (typeof label === 'number') return { ...p, label: nameOf(label) };
  }
  throw new GatewayError('transform_failed',
    `labels: prediction ${i} is ${describeValue(p)}; expected a class index, an array of scores, an object with a numeric "label", or topk's [{"index", "score"}]`);
}

function isScored(v: unknown): v is { index: number; score: unknown } {
  return typeof v === 'object' && v !== null && typeof (v as { index?: unknown }).index === 'number' && 'score' in v;
}

function labelTensor(t: Tensor, nameOf: (index: number) => string): Tensor {
  if (isFloatType(t.datatype)) {
    const values = numbersOf(t);
    const { rows, width } = rowsAlongLastAxis(t.shape);
    const data: Uint8Array[] = new Array(rows);
    for (let r = 0; r < rows; r++) data[r] = utf8.encode(nameOf(argmax(values, r * width, width)));
    return { name: t.name, datatype: 'BYTES', shape: t.shape.length <= 1 ? [rows] : t.shape.slice(0, -1), data };
  }
  if (isIntegerType(t.datatype)) {
    const data = Array.from(numbersOf(t), (index) => utf8.encode(nameOf(index)));
    return { name: t.name, datatype: 'BYTES', shape: [...t.shape], data };
  }
  if (t.datatype === 'BYTES') {
    const texts = (t.data as Uint8Array[]).map((b) => utf8Text.decode(b));
    const parsed = texts.map((s) => classString.exec(s));
    if (parsed.length === 0 || parsed.some((m) => m === null)) return t;
    return { ...t, data: parsed.map((m, i) => utf8.encode(`${texts[i]}:${nameOf(Number(m![2]))}`)) };
  }
  return t;
}
