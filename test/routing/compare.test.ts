import { test } from 'node:test';
import assert from 'node:assert/strict';
import { comparePredictions } from '../../src/routing/compare.ts';
import type { InferResponse } from '../../src/tensors/tensor.ts';

const auto = { tolerance: 1e-3, agreement: 'auto' as const };
const values = { tolerance: 1e-3, agreement: 'values' as const };

test('score vectors agree on the same argmax; max abs diff is the largest paired difference', () => {
  const primary = { predictions: [[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.3, 0.3, 0.4]] };
  const shadow = { predictions: [[0.6, 0.3, 0.1], [0.5, 0.4, 0.1], [0.3, 0.3, 0.4]] };
  const r = comparePredictions(primary, shadow, auto);
  assert.equal(r.predictions, 3);
  assert.equal(r.agreed, 2); // row 1's argmax moved from 1 to 0
  assert.ok(Math.abs(r.maxAbsDiff - 0.4) < 1e-12);
  assert.equal(r.mismatch, undefined);
  // "values" is stricter: only the identical row agrees.
  assert.equal(comparePredictions(primary, shadow, values).agreed, 1);
});

test('scalars agree within the tolerance; labels must be equal', () => {
  assert.deepEqual(comparePredictions({ predictions: [1, 2, 3] }, { predictions: [1.0005, 2.01, 3] }, auto), { predictions: 3, agreed: 2, maxAbsDiff: 0.009999999999999787 });
  const labels = comparePredictions({ predictions: ['setosa', 'versicolor', true] }, { predictions: ['setosa', 'virginica', true] }, auto);
  assert.deepEqual(labels, { predictions: 3, agreed: 2, maxAbsDiff: 0 });
  // A label is never "close": a number and a string never agree.
  assert.equal(comparePredictions({ predictions: ['1'] }, { predictions: [1] }, auto).agreed, 0);
});

test('object predictions agree when every field agrees; a missing field disagrees', () => {
  const primary = { predictions: [{ label: 'a', scores: [0.9, 0.1] }, { label: 'b', scores: [0.2, 0.8] }, { label: 'a', scores: [1, 0] }] };
  const shadow = { predictions: [{ label: 'a', scores: [0.8, 0.2] }, { label: 'a', scores: [0.2, 0.8] }, { label: 'a' }] };
  const r = comparePredictions(primary, shadow, auto);
  assert.equal(r.agreed, 1);
  assert.ok(Math.abs(r.maxAbsDiff - 0.1) < 1e-12);
});

test('tensor outputs are compared per row and per output name, INT64 included', () => {
  const out = (probs: number[], labels: bigint[]): InferResponse => ({
    outputs: [
      { name: 'probabilities', datatype: 'FP32', shape: [2, 3], data: new Float32Array(probs) },
      { name: 'label', datatype: 'INT64', shape: [2], data: new BigInt64Array(labels) },
    ],
  });
  const r = comparePredictions(out([0.8, 0.1, 0.1, 0.1, 0.1, 0.8], [0n, 2n]), out([0.7, 0.2, 0.1, 0.1, 0.8, 0.1], [0n, 1n]), auto);
  assert.equal(r.predictions, 2);
  assert.equal(r.agreed, 1);
  assert.ok(Math.abs(r.maxAbsDiff - 1) < 1e-6); // the label 2 vs 1
  // Outputs are matched by name, not position.
  const swapped: InferResponse = { outputs: [...out([0.8, 0.1, 0.1, 0.1, 0.1, 0.8], [0n, 2n]).outputs!].reverse() };
  assert.equal(comparePredictions(out([0.8, 0.1, 0.1, 0.1, 0.1, 0.8], [0n, 2n]), swapped, auto).agreed, 2);
});

test('a single output pairs with a bare prediction whatever its name (heterogeneous backends)', () => {
  const tensors: InferResponse = { outputs: [{ name: 'y', datatype: 'FP64', shape: [2, 2], data: new Float64Array([0.9, 0.1, 0.4, 0.6]) }] };
  const rows: InferResponse = { predictions: [[0.85, 0.15], [0.3, 0.7]] };
  const r = comparePredictions(rows, tensors, auto);
  assert.equal(r.agreed, 2);
  assert.ok(Math.abs(r.maxAbsDiff - 0.1) < 1e-9);
});

test('answers that cannot be paired count as disagreeing and say why', () => {
  const lengths = comparePredictions({ predictions: [1, 2] }, { predictions: [1] }, auto);
  assert.deepEqual(lengths, { predictions: 2, agreed: 0, maxAbsDiff: 0, mismatch: '2 predictions from the primary, 1 from the shadow' });
  const empty = comparePredictions({ predictions: [1] }, {}, auto);
  assert.equal(empty.agreed, 0);
  assert.match(empty.mismatch!, /shadow: no predictions or outputs/);
  const ragged = comparePredictions({ predictions: [1] }, { outputs: [
    { name: 'a', datatype: 'FP32', shape: [1], data: new Float32Array(1) },
    { name: 'b', datatype: 'FP32', shape: [2], data: new Float32Array(2) },
  ] }, auto);
  assert.match(ragged.mismatch!, /output b has 2 rows/);
  // Vectors of different lengths disagree without a difference to report.
  assert.deepEqual(comparePredictions({ predictions: [[1, 2]] }, { predictions: [[1, 2, 3]] }, auto), { predictions: 1, agreed: 0, maxAbsDiff: 0 });
});

test('NaN agrees only with NaN, and a NaN against a number is an infinite difference', () => {
  assert.deepEqual(comparePredictions({ predictions: [Number.NaN] }, { predictions: [Number.NaN] }, auto), { predictions: 1, agreed: 1, maxAbsDiff: 0 });
  const r = comparePredictions({ predictions: [1] }, { predictions: [Number.NaN] }, auto);
  assert.equal(r.agreed, 0);
  assert.equal(r.maxAbsDiff, Infinity);
});

test('zero predictions on both sides is zero to compare', () => {
  assert.deepEqual(comparePredictions({ predictions: [] }, { predictions: [] }, auto), { predictions: 0, agreed: 0, maxAbsDiff: 0 });
});
