// The softmax step: probabilities along the last axis, stable for large logits, on float outputs
// and on numeric predictions; what it cannot apply to is a 500 naming it.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { floatToHalf, halfToFloat } from '../../../src/tensors/datatype.ts';
import type { Tensor } from '../../../src/tensors/tensor.ts';
import { softmax, softmaxSchema } from '../../../src/transform/builtins/softmax.ts';
import { buildStep, postprocess, rejectsWith } from '../../support/step-harness.ts';

// The stable softmax, written out: exp(x − max) / Σ exp(x − max).
function expected(row: number[]): number[] {
  const max = Math.max(...row);
  const exps = row.map((x) => Math.exp(x - max));
  const sum = exps.reduce((a, b) => a + b, 0);
  return exps.map((e) => e / sum);
}

describe('softmax: predictions', () => {
  const step = buildStep(softmax, {});

  it('each array of numbers, exactly; arrays of arrays along the innermost', async () => {
    const res = await postprocess(step, { predictions: [[1, 2, 3], [[0, 0], [1, 3]]] });
    assert.deepEqual(res.predictions, [expected([1, 2, 3]), [[0.5, 0.5], expected([1, 3])]]);
  });

  it('large logits do not overflow: [1000, 1001] is [1/(1+e), e/(1+e)]', async () => {
    const res = await postprocess(step, { predictions: [[1000, 1001]] });
    const p = (res.predictions![0] as number[]);
    assert.deepEqual(p, [Math.exp(-1) / (Math.exp(-1) + 1), 1 / (Math.exp(-1) + 1)]);
    assert.ok(p.every(Number.isFinite));
  });

  it('a prediction that is not numbers is 500 naming it', async () => {
    await rejectsWith(postprocess(step, { predictions: [[1], { label: 1 }] }), 'transform_failed', /^softmax: prediction 1 is an object; expected an array of numbers \(scores\)$/);
    await rejectsWith(postprocess(step, { predictions: [[1, 'a']] }), 'transform_failed', /^softmax: prediction 0 is an array of 2/);
    await rejectsWith(postprocess(step, { predictions: [[]] }), 'transform_failed', /^softmax: prediction 0 is an array of 0/);
  });
});

describe('softmax: outputs', () => {
  const logits: Tensor = { name: 'logits', datatype: 'FP32', shape: [2, 3], data: Float32Array.from([1, 2, 3, 0, 0, 0]) };
  const index: Tensor = { name: 'label', datatype: 'INT64', shape: [2], data: BigInt64Array.from([2n, 0n]) };

  it('every float output by default, row by row along the last axis, keeping name, shape and datatype; integers left alone', async () => {
    const wide: Tensor = { name: 'wide', datatype: 'FP64', shape: [1, 2], data: Float64Array.from([1000, 1001]) };
    const res = await postprocess(buildStep(softmax, {}), { outputs: [logits, index, wide] });
    const t = res.outputs![0]!;
    assert.equal(t.datatype, 'FP32');
    assert.ok(t.data instanceof Float32Array);
    assert.deepEqual(t.shape, [2, 3]);
    assert.deepEqual(Array.from(t.data), Array.from(Float32Array.from([...expected([1, 2, 3]), 1 / 3, 1 / 3, 1 / 3])));
    assert.equal(res.outputs![1], index);
    assert.ok(res.outputs![2]!.data instanceof Float64Array);
    assert.deepEqual(Array.from(res.outputs![2]!.data as Float64Array), expected([1000, 1001]));
    assert.deepEqual(Array.from(logits.data as Float32Array), [1, 2, 3, 0, 0, 0], 'the model\'s answer is not changed in place');
  });

  it('FP16 stays FP16 (half bits)', async () => {
    const half: Tensor = { name: 'h', datatype: 'FP16', shape: [2], data: Uint16Array.from([0, 0], floatToHalf) };
    const res = await postprocess(buildStep(softmax, {}), { outputs: [half] });
    assert.deepEqual(Array.from(res.outputs![0]!.data as Uint16Array, halfToFloat), [0.5, 0.5]);
  });

  it('`output` names the one to change; naming a missing or non-float output is 500', async () => {
    const other: Tensor = { ...logits, name: 'other' };
    const res = await postprocess(buildStep(softmax, { output: 'other' }), { outputs: [logits, other] });
    assert.equal(res.outputs![0], logits);
    assert.notEqual(res.outputs![1], other);
    await rejectsWith(postprocess(buildStep(softmax, { output: 'label' }), { outputs: [logits, index] }), 'transform_failed',
      /^softmax: output "label" is INT64; softmax needs FP16, FP32 or FP64$/);
    await rejectsWith(postprocess(buildStep(softmax, { output: 'nope' }), { outputs: [logits] }), 'transform_failed',
      /^softmax: the model answered no output "nope"; its outputs: "logits"$/);
  });

  it('the schema takes only `output`', () => {
    assert.equal(softmaxSchema.safeParse({ axis: 1 }).success, false);
    assert.equal(softmaxSchema.safeParse({ output: 'x' }).success, true);
  });
});
