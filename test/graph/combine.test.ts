// combine.ts and vote.ts: the ensemble merges on their own — datatypes the gateway tests do not
// reach (FP16, FP64, INT64 labels, BYTES), object predictions, and every disagreement between
// members refused with a 500 naming the member.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { combine, combinedOutputs, type Member } from '../../src/graph/combine.ts';
import { floatToHalf, halfToFloat } from '../../src/tensors/datatype.ts';
import type { Tensor } from '../../src/tensors/tensor.ts';
import { throwsGatewayError } from '../support/expect-error.ts';

const rows = (...answers: unknown[][]): Member[] => answers.map((predictions, k) => ({ model: `m${k}`, response: { predictions } }));
const tensors = (...answers: Tensor[][]): Member[] => answers.map((outputs, k) => ({ model: `m${k}`, response: { outputs } }));
const fp32 = (name: string, shape: number[], data: number[]): Tensor => ({ name, datatype: 'FP32', shape, data: Float32Array.from(data) });
const int64 = (name: string, data: number[]): Tensor => ({ name, datatype: 'INT64', shape: [data.length], data: BigInt64Array.from(data.map(BigInt)) });

test('mean of tensors: float outputs averaged, other outputs left out', () => {
  const res = combine('mean', tensors(
    [int64('label', [0, 1]), fp32('p', [2, 2], [0.2, 0.8, 1, 0])],
    [int64('label', [1, 1]), fp32('p', [2, 2], [0.4, 0.6, 0, 1])],
  ), 'g');
  assert.equal(res.outputs!.length, 1);
  assert.equal(res.outputs![0]!.name, 'p');
  // The mean of the FP32 values, rounded to FP32 once.
  const f = Math.fround;
  assert.deepEqual(Array.from(res.outputs![0]!.data as Float32Array), [f((f(0.2) + f(0.4)) / 2), f((f(0.8) + f(0.6)) / 2), 0.5, 0.5]);
});

test('mean of FP16 and FP64 outputs keeps the first member\'s datatype', () => {
  const half = (v: number[]): Tensor => ({ name: 'h', datatype: 'FP16', shape: [v.length], data: Uint16Array.from(v.map(floatToHalf)) });
  const res = combine('mean', tensors([half([1, 2])], [half([3, 6])]), 'g');
  assert.deepEqual(Array.from(res.outputs![0]!.data as Uint16Array, halfToFloat), [2, 4]);
  const f64 = (v: number[]): Tensor => ({ name: 'd', datatype: 'FP64', shape: [v.length], data: Float64Array.from(v) });
  assert.deepEqual(Array.from(combine('mean', tensors([f64([0.1])], [f64([0.2])], [f64([0.3])]), 'g').outputs![0]!.data as Float64Array), [(0.1 + 0.2 + 0.3) / 3]);
});

test('mean of rows: numbers, lists, objects by field; equal non-numbers kept', () => {
  const res = combine('mean', rows(
    [{ score: 1, v: [1, 2], tag: 'x' }, 4],
    [{ score: 3, v: [3, 4], tag: 'x' }, 6],
  ), 'g');
  assert.deepEqual(res.predictions, [{ score: 2, v: [2, 3], tag: 'x' }, 5]);
});

test('mean refuses what it cannot average, naming the member', () => {
  throwsGatewayError(() => combine('mean', rows(['a'], ['b']), 'g'), 'internal', /^graph "g": cannot mean the answers: prediction 0: the members gave values that are neither all numbers nor all the same/);
  throwsGatewayError(() => combine('mean', rows([[1, 2]], [[1]]), 'g'), 'internal', /prediction 0 of "m1" does not have the shape of "m0"'s/);
  throwsGatewayError(() => combine('mean', rows([{ a: 1 }], [{ b: 1 }]), 'g'), 'internal', /prediction 0 of "m1" lacks fields of "m0"'s \(a\)/);
  throwsGatewayError(() => combine('mean', rows([1, 2], [1]), 'g'), 'internal', /"m1" gave 1 predictions, "m0" 2/);
  throwsGatewayError(() => combine('mean', tensors([int64('label', [1])], [int64('label', [2])]), 'g'), 'internal', /"m0" gave no float output to average \("label" INT64\); vote suits labels/);
  throwsGatewayError(() => combine('mean', tensors([fp32('p', [1, 2], [1, 2])], [fp32('q', [1, 2], [1, 2])]), 'g'), 'internal', /"m1" gave no output "p"/);
  throwsGatewayError(() => combine('mean', tensors([fp32('p', [1, 2], [1, 2])], [fp32('p', [2, 1], [1, 2])]), 'g'), 'internal', /output "p" of "m1" is \[2, 1\], of "m0" \[1, 2\]/);
  throwsGatewayError(() => combine('mean', [{ model: 'a', response: { outputs: [] } }, { model: 'b', response: { predictions: [] } }], 'g'), 'internal',
    /members answered in different forms \("a": outputs, "b": predictions\)/);
});

test('concat of tensors along the last axis, BYTES and INT64 too', () => {
  const bytes = (v: string[][]): Tensor => ({ name: 's', datatype: 'BYTES', shape: [v.length, v[0]!.length], data: v.flat().map((x) => Buffer.from(x)) });
  const res = combine('concat', tensors([bytes([['a'], ['b']]), int64('n', [1, 2])], [bytes([['c', 'd'], ['e', 'f']]), int64('n', [3, 4])]), 'g');
  const [s, n] = res.outputs!;
  assert.deepEqual(s!.shape, [2, 3]);
  assert.deepEqual((s!.data as Uint8Array[]).map((b) => Buffer.from(b).toString()), ['a', 'c', 'd', 'b', 'e', 'f']);
  assert.deepEqual(n!.shape, [4]);
  assert.deepEqual(Array.from(n!.data as BigInt64Array), [1n, 2n, 3n, 4n]);
});

test('concat refuses differing datatypes, dims before the last, and scalars', () => {
  throwsGatewayError(() => combine('concat', tensors([fp32('p', [2, 1], [1, 2])], [int64('p', [1, 2])]), 'g'), 'internal', /output "p" of "m1" is \[2\], of "m0" \[2, 1\]/);
  throwsGatewayError(() => combine('concat', tensors([fp32('p', [2], [1, 2])], [int64('p', [1, 2])]), 'g'), 'internal', /output "p" of "m1" is INT64, of "m0" FP32/);
  throwsGatewayError(() => combine('concat', tensors([fp32('p', [2, 1], [1, 2])], [fp32('p', [3, 1], [1, 2, 3])]), 'g'), 'internal', /is \[3, 1\], of "m0" \[2, 1\]/);
  throwsGatewayError(() => combine('concat', tensors([fp32('p', [], [1])], [fp32('p', [], [2])]), 'g'), 'internal', /output "p" is a scalar/);
});

test('vote: INT64 labels keep their output; object rows vote with their first label field, else their scores', () => {
  const res = combine('vote', tensors([int64('cls', [2, 0])], [int64('cls', [2, 1])], [int64('cls', [1, 1])]), 'g');
  assert.deepEqual(res.outputs, [{ name: 'cls', datatype: 'INT64', shape: [2], data: BigInt64Array.from([2n, 1n]) }]);
  assert.deepEqual(combine('vote', rows([{ label: 'a', p: [1, 0] }], [{ label: 'b' }], [{ p: [0, 1] }], [{ label: 'b' }]), 'g').predictions, ['b']);
  assert.deepEqual(combine('vote', rows([{ p: [0, 1, 0] }], [{ p: [0, 0, 1] }], [[0, 1, 0]]), 'g').predictions, [1]);
  // Argmax ties go to the lowest index; class ties to the earliest member.
  assert.deepEqual(combine('vote', rows([[1, 1]], [[0, 2]]), 'g').predictions, [0]);
  assert.deepEqual(combine('vote', rows([true], [false]), 'g').predictions, [true]);
});

test('vote refuses answers that hold no class', () => {
  throwsGatewayError(() => combine('vote', rows([null], [1]), 'g'), 'internal', /prediction 0 of member 1 is neither a class/);
  throwsGatewayError(() => combine('vote', rows([{ a: [] }], [1]), 'g'), 'internal', /neither a class/);
  throwsGatewayError(() => combine('vote', tensors([fp32('p', [2], [1, 2])], [fp32('p', [2], [1, 2])]), 'g'), 'internal', /"m0" gave no label \(one value per row\) and no scores/);
  throwsGatewayError(() => combine('vote', tensors([int64('c', [1, 2])], [int64('c', [1])]), 'g'), 'internal', /"m1" gave 1 rows, "m0" 2/);
});

test('combinedOutputs: the metadata an ensemble answers with', () => {
  const meta = (outputs: Array<{ name: string; datatype: 'FP32' | 'INT64'; shape: number[] }>) => ({ name: 'm', platform: 'x', inputs: [], outputs });
  const a = meta([{ name: 'label', datatype: 'INT64', shape: [-1] }, { name: 'p', datatype: 'FP32', shape: [-1, 3] }]);
  const b = meta([{ name: 'label', datatype: 'INT64', shape: [-1] }, { name: 'p', datatype: 'FP32', shape: [-1, 2] }]);
  assert.deepEqual(combinedOutputs('mean', [a, b]), [{ name: 'p', datatype: 'FP32', shape: [-1, 3] }]);
  assert.deepEqual(combinedOutputs('concat', [a, b]), [{ name: 'label', datatype: 'INT64', shape: [-1] }, { name: 'p', datatype: 'FP32', shape: [-1, 5] }]);
  assert.deepEqual(combinedOutputs('vote', [a, b]), [{ name: 'label', datatype: 'INT64', shape: [-1] }]);
  assert.deepEqual(combinedOutputs('vote', [meta([{ name: 'p', datatype: 'FP32', shape: [-1, 3] }])]), [{ name: 'label', datatype: 'INT64', shape: [-1] }]);
});
