// The labels step and its file reader: class indices and scores become names, in predictions
// and in output tensors; a bad file is a config error, an index out of range a 500.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { Tensor } from '../../../src/tensors/tensor.ts';
import { readLabels } from '../../../src/transform/builtins/label-file.ts';
import { labels, labelsSchema } from '../../../src/transform/builtins/labels.ts';
import { throwsGatewayError } from '../../support/expect-error.ts';
import { buildStep, postprocess, rejectsWith, texts } from '../../support/step-harness.ts';

const dir = mkdtempSync(join(tmpdir(), 'infergate-labels-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
function file(content: string): string {
  const path = join(dir, `labels-${files++}.txt`);
  writeFileSync(path, content);
  return path;
}
const abc = file('apple\nbanana\ncherry\n');
const utf8 = new TextEncoder();

describe('labels file', () => {
  it('one label per line: CRLF, a byte-order mark and blank lines at the end are fine', () => {
    assert.deepEqual(readLabels(file('\uFEFFa\r\nb c\r\n\r\n\n')), ['a', 'b c']);
    assert.deepEqual(readLabels(file('only')), ['only']);
  });

  it('a JSON array of strings', () => {
    assert.deepEqual(readLabels(file(' ["x", "y:z", ""]')), ['x', 'y:z', '']);
  });

  it('a missing, empty, gapped, oversized or malformed file is a config error naming the file', () => {
    const missing = join(dir, 'nope.txt');
    throwsGatewayError(() => readLabels(missing), 'bad_config', new RegExp(`^labels: labels file ${missing.replaceAll('.', '\\.')}: cannot be read \\(ENOENT\\)$`));
    throwsGatewayError(() => readLabels(file('\n\n')), 'bad_config', /holds no labels$/);
    throwsGatewayError(() => readLabels(file('a\n\nb\n')), 'bad_config', /: line 2 is blank; write one label per line, class 0 first$/);
    throwsGatewayError(() => readLabels(file('["a", 1]')), 'bad_config', /: element 1 is not a string$/);
    throwsGatewayError(() => readLabels(file('[')), 'bad_config', /: is not valid JSON/);
    throwsGatewayError(() => readLabels(file('[]')), 'bad_config', /holds no labels$/);
    const big = file('');
    truncateSync(big, 16 * 1024 * 1024 + 1);
    throwsGatewayError(() => readLabels(big), 'bad_config', /: is 16777217 bytes; at most 16777216 are read$/);
    throwsGatewayError(() => buildStep(labels, { file: missing }), 'bad_config', /cannot be read/);
  });

  it('the schema needs a file, lists it among the path keys, and bounds the names', () => {
    assert.equal(labelsSchema.safeParse({}).success, false);
    assert.equal(labelsSchema.safeParse({ file: 'l.txt', extra: 1 }).success, false);
    assert.equal(labelsSchema.safeParse({ file: 'l.txt', output: '' }).success, false);
    assert.deepEqual(labels.files, ['file']);
  });
});

describe('labels: predictions', () => {
  const step = buildStep(labels, { file: abc });

  it('a class index, an array of scores (argmax, first on ties), an object with a numeric label, a string', async () => {
    const res = await postprocess(step, { predictions: [2, [0.1, 0.7, 0.2], [0.4, 0.1, 0.4], { label: 1, probabilities: [0, 1, 0] }, { label: 'kept' }, 'pear'] });
    assert.deepEqual(res.predictions, ['cherry', 'banana', 'apple', { label: 'banana', probabilities: [0, 1, 0] }, { label: 'kept' }, 'pear']);
  });

  it('topk results get a "label" next to index and score', async () => {
    const res = await postprocess(step, { predictions: [[{ index: 2, score: 0.9 }, { index: 0, score: 0.1 }], { index: 1, score: 0.5 }] });
    assert.deepEqual(res.predictions, [
      [{ index: 2, score: 0.9, label: 'cherry' }, { index: 0, score: 0.1, label: 'apple' }],
      { index: 1, score: 0.5, label: 'banana' },
    ]);
  });

  it('an index out of range or not an integer is 500 transform_failed naming it and the label count', async () => {
    await rejectsWith(postprocess(step, { predictions: [0, 3] }), 'transform_failed', new RegExp(`^labels: class index 3 is out of range: ${abc.replaceAll('.', '\\.')} holds 3 labels$`));
    await rejectsWith(postprocess(step, { predictions: [1.5] }), 'transform_failed', /class index 1\.5 is out of range/);
    await rejectsWith(postprocess(step, { predictions: [-1] }), 'transform_failed', /class index -1 is out of range/);
  });

  it('a prediction of no known shape is 500 naming it', async () => {
    await rejectsWith(postprocess(step, { predictions: [0, null] }), 'transform_failed', /^labels: prediction 1 is null; expected a class index, an array of scores/);
    await rejectsWith(postprocess(step, { predictions: [{ x: 1 }] }), 'transform_failed', /^labels: prediction 0 is an object/);
    await rejectsWith(postprocess(step, { predictions: [[]] }), 'transform_failed', /^labels: prediction 0 is an array of 0/);
  });

  it('an answer a module already made is left alone', async () => {
    const res = { answer: { kind: 'json' as const, value: { x: 1 } } };
    assert.equal(await postprocess(step, res), res);
  });
});

describe('labels: outputs', () => {
  const probs: Tensor = { name: 'probs', datatype: 'FP32', shape: [2, 3], data: Float32Array.from([0.1, 0.2, 0.7, 0.8, 0.1, 0.1]) };
  const index: Tensor = { name: 'label', datatype: 'INT64', shape: [2], data: BigInt64Array.from([1n, 0n]) };

  it('a float output (the first by default) → a BYTES tensor of the argmax labels, the last axis dropped; others left', async () => {
    const res = await postprocess(buildStep(labels, { file: abc }), { outputs: [probs, index] });
    const t = res.outputs![0]!;
    assert.deepEqual({ name: t.name, datatype: t.datatype, shape: t.shape }, { name: 'probs', datatype: 'BYTES', shape: [2] });
    assert.deepEqual(texts(t.data), ['cherry', 'apple']);
    assert.equal(res.outputs![1], index);
    const flat = await postprocess(buildStep(labels, { file: abc }), { outputs: [{ name: 'p', datatype: 'FP64', shape: [3], data: Float64Array.from([0, 0, 1]) }] });
    assert.deepEqual(flat.outputs![0]!.shape, [1]);
    assert.deepEqual(texts(flat.outputs![0]!.data), ['cherry']);
  });

  it('an integer output is class indices: one label each, same shape', async () => {
    const res = await postprocess(buildStep(labels, { file: abc, output: 'label' }), { outputs: [probs, index] });
    assert.equal(res.outputs![0], probs);
    assert.deepEqual(res.outputs![1]!.shape, [2]);
    assert.deepEqual(texts(res.outputs![1]!.data), ['banana', 'apple']);
  });

  it('Triton classification strings ("score:index", from topk) get ":label"; other BYTES are left alone', async () => {
    const classes: Tensor = { name: 'probs', datatype: 'BYTES', shape: [1, 2], data: ['0.700000:2', '0.200000:1'].map((s) => utf8.encode(s)) };
    const res = await postprocess(buildStep(labels, { file: abc }), { outputs: [classes] });
    assert.deepEqual(texts(res.outputs![0]!.data), ['0.700000:2:cherry', '0.200000:1:banana']);
    const words: Tensor = { name: 'probs', datatype: 'BYTES', shape: [1], data: [utf8.encode('hello')] };
    assert.equal((await postprocess(buildStep(labels, { file: abc }), { outputs: [words] })).outputs![0], words);
  });

  it('a named output the model did not answer, or an index out of range, is 500', async () => {
    await rejectsWith(postprocess(buildStep(labels, { file: abc, output: 'nope' }), { outputs: [probs, index] }), 'transform_failed',
      /^labels: the model answered no output "nope"; its outputs: "probs", "label"$/);
    const far: Tensor = { name: 'label', datatype: 'INT32', shape: [1], data: Int32Array.from([7]) };
    await rejectsWith(postprocess(buildStep(labels, { file: abc }), { outputs: [far] }), 'transform_failed', /class index 7 is out of range: .* holds 3 labels$/);
  });
});
