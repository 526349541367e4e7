// shape.ts — shape arithmetic and checks over the canonical tensors.

import { GatewayError } from '../errors.ts';
import { instanceCount } from './row-block.ts';
import type { InferRequest, InferResponse, Tensor, TensorSpec } from './tensor.ts';

/** elementCount gives the number of elements of a shape (1 for a scalar). */
export function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** isValidShape says whether every dimension is a non-negative safe integer. */
export function isValidShape(shape: unknown): shape is number[] {
  return Array.isArray(shape) && shape.every((d) => Number.isSafeInteger(d) && d >= 0);
}

/** checkShape throws bad_tensor when the data length does not match the declared shape. */
export function checkShape(tensor: Tensor): void {
  const want = elementCount(tensor.shape);
  if (tensor.data.length !== want) {
    throw new GatewayError('bad_tensor',
      `tensor "${tensor.name}": shape [${tensor.shape.join(', ')}] holds ${want} elements, data has ${tensor.data.length}`);
  }
}

/**
 * rowsOf gives the number of rows (dim 0) a request or response carries: the instance count
 * for rows, dim 0 of the first tensor otherwise. All inputs must agree.
 */
export function rowsOf(msg: InferRequest | InferResponse): number {
  const instances = instanceCount(msg as InferRequest); // a response has none
  if (instances !== undefined) return instances;
  if ('predictions' in msg && msg.predictions !== undefined) return msg.predictions.length;
  const tensors = ('inputs' in msg ? msg.inputs : undefined) ?? ('outputs' in msg ? (msg as InferResponse).outputs : undefined) ?? [];
  const first = tensors[0];
  if (first === undefined || first.shape.length === 0) return 1;
  return first.shape[0]!;
}

/** shapeMatches says whether a concrete shape fits a spec whose -1 dims are free. */
export function shapeMatches(shape: readonly number[], spec: readonly number[]): boolean {
  if (shape.length !== spec.length) return false;
  return spec.every((d, i) => d < 0 || d === shape[i]);
}

/** checkAgainstSpec throws bad_tensor naming what was expected when inputs do not fit the model. */
export function checkAgainstSpec(inputs: readonly Tensor[], specs: readonly TensorSpec[], model: string): void {
  const want = (s: TensorSpec): string => `${s.name} ${s.datatype} [${s.shape.join(', ')}]`;
  const expected = specs.map(want).join(', ');
  for (const t of inputs) {
    const spec = specs.find((s) => s.name === t.name);
    if (spec === undefined) {
      throw new GatewayError('bad_tensor', `model "${model}" has no input "${t.name}"; expected inputs: ${expected}`);
    }
    if (spec.datatype !== t.datatype) {
      throw new GatewayError('bad_tensor', `input "${t.name}" of model "${model}" is ${spec.datatype}, got ${t.datatype}`);
    }
    if (!shapeMatches(t.shape, spec.shape)) {
      throw new GatewayError('bad_tensor',
        `input "${t.name}" of model "${model}" has shape [${spec.shape.join(', ')}] (-1 = any), got [${t.shape.join(', ')}]`);
    }
  }
  for (const s of specs) {
    if (!inputs.some((t) => t.name === s.name)) {
      throw new GatewayError('bad_tensor', `model "${model}" needs input "${s.name}"; expected inputs: ${expected}`);
    }
  }
}
