// The topk step: the k best classes, as [{index, score}] predictions or as Triton
// classification strings for a tensor answer; what it cannot rank is a 500 naming it.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { Tensor } from '../../../src/tensors/tensor.ts';
import { labels } from '../../../src/transform/builtins/labels.ts';
import { topk, topkSchema } from '../../../src/transform/builtins/topk.ts';
import { buildStep, postprocess, rejectsWith, texts } from '../../support/step-harness.ts';

describe('topk: predictions', () => {
  it('each array of scores → [{index, score}], highest first, ties by lower index, at most k', async () => {
    const res = await postprocess(buildStep(topk, { k: 2 }), { predictions: [[0.1, 0.5, 0.2, 0.5], [3, 1]] });
    assert.deepEqual(res.predictions, [
      [{ index: 1, score: 0.5 }, { index: 3, score: 0.5 }],
      [{ index: 0, score: 3 }, { index: 1, score: 1 }],
    ]);
  });

  it('k defaults to 5 and a shorter row gives all its classes', async () => {
    const res = await postprocess(buildStep(topk, {}), { predictions: [[1, 2, 3, 4, 5, 6, 7], [9, 8]] });
    assert.deepEqual((res.predictions![0] as Array<{ index: number }>).map((c) => c.index), [6, 5, 4, 3, 2]);
    assert.equal((res.predictions![1] as unknown[]).length, 2);
  });

  it('a prediction that is not an array of scores is 500 naming it', async () => {
    await rejectsWith(postprocess(buildStep(topk, {}), { predictions: [[1], 3] }), 'transform_failed', /^topk: prediction 1 is number 3; expected an array of scores$/);
    await rejectsWith(postprocess(buildStep(topk, {}), { predictions: [[]] }), 'transform_failed', /^topk: prediction 0 is an array of 0/);
  });
});

describe('topk: outputs', () => {
  const index: Tensor = { name: 'label', datatype: 'INT64', shape: [2], data: BigInt64Array.from([2n, 0n]) };
  const probs: Tensor = { name: 'probs', datatype: 'FP32', shape: [2, 3], data: Float32Array.from([0.1, 0.2, 0.7, 0.8, 0.15, 0.05]) };

  it('the first float output → Triton classification strings [batch, k]; the rest left alone', async () => {
    const res = await postprocess(buildStep(topk, { k: 2 }), { outputs: [index, probs] });
    assert.equal(res.outputs![0], index);
    const t = res.outputs![1]!;
    assert.deepEqual({ name: t.name, datatype: t.datatype, shape: t.shape }, { name: 'probs', datatype: 'BYTES', shape: [2, 2] });
    assert.deepEqual(texts(t.data), ['0.700000:2', '0.200000:1', '0.800000:0', '0.150000:1']);
  });

  it('`output` may name an integer output: its values are written as integers', async () => {
    const counts: Tensor = { name: 'counts', datatype: 'INT32', shape: [4], data: Int32Array.from([1, 5, 10, 4]) };
    const res = await postprocess(buildStep(topk, { k: 2, output: 'counts' }), { outputs: [probs, counts] });
    assert.deepEqual(res.outputs![1]!.shape, [2]);
    assert.deepEqual(texts(res.outputs![1]!.data), ['10:2', '5:1']);
  });

  it('followed by a labels step, the strings get their labels', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'infergate-topk-'));
    after(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'labels.txt');
    writeFileSync(file, 'a\nb\nc\n');
    const ranked = await postprocess(buildStep(topk, { k: 1 }), { outputs: [probs] });
    const named = await postprocess(buildStep(labels, { file }), ranked);
    assert.deepEqual(texts(named.outputs![0]!.data), ['0.700000:2:c', '0.800000:0:a']);
  });

  it('no float output, a missing output or a non-numeric one is 500', async () => {
    await rejectsWith(postprocess(buildStep(topk, {}), { outputs: [index] }), 'transform_failed',
      /^topk: the model answered no float output to rank; its outputs: "label" \(INT64\) \(name one with "output"\)$/);
    await rejectsWith(postprocess(buildStep(topk, { output: 'nope' }), { outputs: [probs] }), 'transform_failed', /^topk: the model answered no output "nope"; its outputs: "probs" \(FP32\)$/);
    const words: Tensor = { name: 'w', datatype: 'BYTES', shape: [1], data: [new Uint8Array([104])] };
    await rejectsWith(postprocess(buildStep(topk, { output: 'w' }), { outputs: [words] }), 'transform_failed', /^topk: output "w" is BYTES; topk ranks numbers$/);
  });

  it('k is an integer in 1..1000', () => {
    for (const k of [0, 1001, 2.5, '3']) assert.equal(topkSchema.safeParse({ k }).success, false, String(k));
    assert.deepEqual(topkSchema.parse({}), { k: 5 });
    assert.deepEqual(topkSchema.parse({ k: 1000 }), { k: 1000 });
  });
});
