// row-answer.ts and tensorPredictionsJson: an answer to rows whose predictions are made only when
// read, and written from the FP32 tensor itself when nothing has read them. Either way the bytes
// and the predictions must be those of tensorsToPredictions and JSON.stringify, and anything
// that reads or sets the predictions gets plain arrays from then on.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { tensorsToPredictions } from '../../src/codecs/instances.ts';
import { predictionsJson, tensorPredictionsJson } from '../../src/codecs/predictions-json.ts';
import { rowAnswer, rowCount, unreadRows } from '../../src/codecs/row-answer.ts';
import type { Tensor } from '../../src/tensors/tensor.ts';

const fp32 = (shape: number[], values: ArrayLike<number>): Tensor => ({ name: 'y', datatype: 'FP32', shape, data: Float32Array.from(values) });
const expected = (t: Tensor): string => JSON.stringify({ predictions: tensorsToPredictions([t]) });

describe('tensorPredictionsJson', () => {
  it('writes the bytes JSON.stringify writes for the tensor\'s predictions, every shape and value', () => {
    const value = fc.oneof(
      { weight: 6, arbitrary: fc.float({ noDefaultInfinity: false, noNaN: false }) },
      { weight: 1, arbitrary: fc.constantFrom(NaN, Infinity, -Infinity, -0, 0, 1e-45, 3.4e38, 1e-7, 16777217, 0.1) },
    );
    const shape = fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 4 });
    fc.assert(fc.property(shape, fc.integer({ min: 0, max: 2 ** 31 }), (dims, seed) => {
      // Rows enough that the answer is written (a small one is left to JSON.stringify).
      const s = [Math.max(dims[0]!, Math.ceil(120 / dims.slice(1).reduce((a, b) => a * b, 1))), ...dims.slice(1)];
      const count = s.reduce((a, b) => a * b, 1);
      const values = fc.sample(value, { numRuns: count, seed });
      const t = fp32(s, values);
      const got = tensorPredictionsJson(t);
      assert.ok(got !== undefined);
      assert.equal(got.toString('latin1'), expected(t));
      // And the same as the writer of the arrays gives.
      assert.equal(got.toString('latin1'), predictionsJson(tensorsToPredictions([t]))!.toString('latin1'));
    }), { numRuns: 300 });
  });

  it('leaves a small answer to JSON.stringify, as predictionsJson does', () => {
    assert.equal(tensorPredictionsJson(fp32([4, 2], [1, 2, 3, 4, 5, 6, 7, 8])), undefined);
    assert.equal(tensorPredictionsJson(fp32([0, 8], [])), undefined);
  });

  it('writes many rows of one number each, and a row of many numbers', () => {
    for (const t of [fp32([500], Array.from({ length: 500 }, (_, i) => i / 3)), fp32([1, 2000], Array.from({ length: 2000 }, (_, i) => -i / 7))]) {
      assert.equal(tensorPredictionsJson(t)!.toString('latin1'), expected(t));
    }
  });
});

describe('rowAnswer', () => {
  const big = (): Tensor => fp32([16, 8], Array.from({ length: 128 }, (_, i) => i / 9));

  it('gives the predictions tensorsToPredictions gives, made once, when they are read', () => {
    const t = big();
    const res = rowAnswer([t]);
    assert.equal(unreadRows(res), t);
    assert.equal(rowCount(res), 16);
    const first = res.predictions;
    assert.deepEqual(first, tensorsToPredictions([t]));
    assert.equal(res.predictions, first, 'made once');
    assert.equal(unreadRows(res), undefined, 'read: from now on an ordinary answer');
    assert.equal(rowCount(res), 16);
  });

  it('is an ordinary answer once its predictions are set, spread or cloned', () => {
    const set = rowAnswer([big()]);
    set.predictions = [[1]];
    assert.equal(unreadRows(set), undefined);
    assert.deepEqual(set.predictions, [[1]]);

    const original = rowAnswer([big()]);
    const copy = { ...original, modelName: 'm' };
    assert.deepEqual(copy.predictions, tensorsToPredictions([big()]));
    assert.equal(unreadRows(copy), undefined);
    assert.equal(unreadRows(original), undefined, 'the spread read them');

    const deleted = rowAnswer([big()]);
    delete deleted.predictions;
    assert.equal(unreadRows(deleted), undefined);
    assert.equal(deleted.predictions, undefined);
    deleted.predictions = [[2]];
    assert.equal(unreadRows(deleted), undefined, 'deleted, then set as a plain value');

    const cloned = structuredClone(rowAnswer([big()]));
    assert.deepEqual(cloned.predictions, tensorsToPredictions([big()]));
    assert.equal(JSON.stringify(rowAnswer([big()])), JSON.stringify({ predictions: tensorsToPredictions([big()]) }));
    assert.ok('predictions' in rowAnswer([big()]));
  });

  it('makes the predictions at once for anything but one whole FP32 tensor with rows', () => {
    const two = rowAnswer([big(), { ...big(), name: 'z' }]);
    assert.equal(unreadRows(two), undefined);
    assert.deepEqual(two.predictions, tensorsToPredictions([big(), { ...big(), name: 'z' }]));
    const ints: Tensor = { name: 'y', datatype: 'INT32', shape: [2, 2], data: Int32Array.from([1, 2, 3, 4]) };
    assert.equal(unreadRows(rowAnswer([ints])), undefined);
    assert.equal(unreadRows(rowAnswer([fp32([], [1])])), undefined, 'a scalar has no rows');
    assert.equal(unreadRows(rowAnswer([fp32([3, 2], [1, 2, 3])])), undefined, 'data short of the shape');
    // Unequal rows are the backend's bad reply, found at once.
    assert.throws(() => rowAnswer([fp32([2, 1], [1, 2]), fp32([3, 1], [1, 2, 3])]), { code: 'backend_bad_reply' });
  });
});
