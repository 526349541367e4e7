// shape.test.ts — shape arithmetic and the checks that tell a client which tensor, which
// dimension and what the model expects.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GatewayError } from '../../src/errors.ts';
import { checkAgainstSpec, checkShape, elementCount, isValidShape, rowsOf, shapeMatches } from '../../src/tensors/shape.ts';
import type { Tensor, TensorSpec } from '../../src/tensors/tensor.ts';

const badTensor = (message: RegExp) => (err: unknown): boolean =>
  err instanceof GatewayError && err.code === 'bad_tensor' && err.status === 400 && message.test(err.message);
const tensor = (name: string, shape: number[], datatype: Tensor['datatype'] = 'FP32'): Tensor =>
  ({ name, datatype, shape, data: new Float32Array(elementCount(shape)) });

test('elementCount and isValidShape', () => {
  assert.equal(elementCount([]), 1, 'a scalar');
  assert.equal(elementCount([2, 3, 4]), 24);
  assert.equal(elementCount([5, 0]), 0);
  assert.equal(isValidShape([1, 0, 7]), true);
  for (const s of [[-1], [1.5], ['2'], null, 3, [2 ** 53]]) assert.equal(isValidShape(s), false, JSON.stringify(s));
});

test('checkShape: the data must fill the shape exactly, or 400 naming the tensor and both counts', () => {
  checkShape(tensor('x', [2, 2]));
  assert.throws(() => checkShape({ name: 'x', datatype: 'FP32', shape: [2, 2], data: new Float32Array(3) }),
    badTensor(/^tensor "x": shape \[2, 2\] holds 4 elements, data has 3$/));
});

test('rowsOf: instances, predictions, or dim 0 of the first tensor (1 for a scalar)', () => {
  assert.equal(rowsOf({ instances: [1, 2, 3] }), 3);
  assert.equal(rowsOf({ predictions: [1] }), 1);
  assert.equal(rowsOf({ inputs: [tensor('x', [4, 2])] }), 4);
  assert.equal(rowsOf({ outputs: [tensor('y', [])] }), 1);
  assert.equal(rowsOf({ inputs: [] }), 1);
});

test('shapeMatches: -1 is any size, every other dimension and the rank must agree', () => {
  assert.equal(shapeMatches([8, 3], [-1, 3]), true);
  assert.equal(shapeMatches([8, 4], [-1, 3]), false);
  assert.equal(shapeMatches([8], [-1, 3]), false);
});

test('checkAgainstSpec: unknown, mistyped, misshapen and missing inputs, each naming what the model expects', () => {
  const specs: TensorSpec[] = [{ name: 'a', datatype: 'FP32', shape: [-1, 3] }, { name: 'b', datatype: 'INT64', shape: [1] }];
  checkAgainstSpec([tensor('a', [2, 3]), tensor('b', [1], 'INT64')], specs, 'm');
  assert.throws(() => checkAgainstSpec([tensor('c', [1])], specs, 'm'),
    badTensor(/^model "m" has no input "c"; expected inputs: a FP32 \[-1, 3\], b INT64 \[1\]$/));
  assert.throws(() => checkAgainstSpec([tensor('a', [2, 3], 'FP64')], specs, 'm'), badTensor(/input "a" of model "m" is FP32, got FP64/));
  assert.throws(() => checkAgainstSpec([tensor('a', [2, 4])], specs, 'm'), badTensor(/has shape \[-1, 3\] \(-1 = any\), got \[2, 4\]/));
  assert.throws(() => checkAgainstSpec([tensor('a', [2, 3])], specs, 'm'), badTensor(/model "m" needs input "b"/));
});
