import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { rowsToTensors, tensorsToInstances, tensorsToPredictions } from '../../src/codecs/instances.ts';
import { GatewayError } from '../../src/errors.ts';
import type { Tensor, TensorSpec } from '../../src/tensors/tensor.ts';

const iris: TensorSpec[] = [{ name: 'input', datatype: 'FP32', shape: [-1, 4] }];

function badTensor(pattern: RegExp): (err: unknown) => boolean {
  return (err) => err instanceof GatewayError && err.code === 'bad_tensor' && pattern.test(err.message);
}

describe('rowsToTensors', () => {
  it('stacks single-input rows along dim 0', () => {
    const [t] = rowsToTensors([[5.1, 3.5, 1.4, 0.2], [6.7, 3, 5.2, 2.3]], iris);
    assert.equal(t!.name, 'input');
    assert.equal(t!.datatype, 'FP32');
    assert.deepEqual(t!.shape, [2, 4]);
    assert.deepEqual(Array.from(t!.data as Float32Array), Array.from(new Float32Array([5.1, 3.5, 1.4, 0.2, 6.7, 3, 5.2, 2.3])));
  });

  it('accepts a single-input row keyed by the input name', () => {
    const [t] = rowsToTensors([{ input: [1, 2, 3, 4] }], iris);
    assert.deepEqual(t!.shape, [1, 4]);
  });

  it('infers dynamic inner dims from the rows', () => {
    const [t] = rowsToTensors([[[1, 2], [3, 4], [5, 6]]], [{ name: 'x', datatype: 'INT32', shape: [-1, -1, 2] }]);
    assert.deepEqual(t!.shape, [1, 3, 2]);
    assert.deepEqual(Array.from(t!.data as Int32Array), [1, 2, 3, 4, 5, 6]);
  });

  it('maps objects onto several inputs, with b64 and strings as BYTES', () => {
    const specs: TensorSpec[] = [
      { name: 'text', datatype: 'BYTES', shape: [-1] },
      { name: 'ids', datatype: 'INT64', shape: [-1, 2] },
    ];
    const [text, ids] = rowsToTensors([
      { text: 'hello', ids: [1, 9007199254740993n] },
      { text: { b64: Buffer.from([0xff, 0x00]).toString('base64') }, ids: [3, -4] },
    ], specs);
    assert.deepEqual(text!.shape, [2]);
    assert.deepEqual((text!.data as Uint8Array[]).map((b) => Array.from(b)), [Array.from(Buffer.from('hello')), [0xff, 0x00]]);
    assert.deepEqual(ids!.shape, [2, 2]);
    assert.deepEqual(Array.from(ids!.data as BigInt64Array), [1n, 9007199254740993n, 3n, -4n]);
  });

  it('rejects a row of the wrong length, naming the instance and the expected shape', () => {
    assert.throws(() => rowsToTensors([[1, 2, 3, 4], [1, 2, 3]], iris), badTensor(/instance 1 .*array of 3.*\[4\]/));
    assert.throws(() => rowsToTensors([[1, 2, 3]], iris), badTensor(/instance 0 has row shape \[3\].*FP32 of shape \[4\]/));
  });

  it('rejects a row nested too deep or not at all', () => {
    assert.throws(() => rowsToTensors([[[1], [2], [3], [4]]], iris), badTensor(/instance 0 .*nests deeper/));
    assert.throws(() => rowsToTensors([5], iris), badTensor(/instance 0 is number 5/));
  });

  it('rejects a wrong value type, naming the instance', () => {
    assert.throws(() => rowsToTensors([[1, 2, 3, 4], [1, 'x', 3, 4]], iris), badTensor(/instance 1, input "input": element 1 is the string "x", expected a number/));
    assert.throws(() => rowsToTensors([[300]], [{ name: 'b', datatype: 'UINT8', shape: [-1, 1] }]), badTensor(/instance 0.*\[0, 255\]/));
  });

  it('rejects non-objects, missing and unknown keys for several inputs', () => {
    const specs: TensorSpec[] = [{ name: 'a', datatype: 'FP32', shape: [-1] }, { name: 'b', datatype: 'FP32', shape: [-1] }];
    assert.throws(() => rowsToTensors([[1, 2]], specs), badTensor(/instance 0 is an array.*"a", "b"/));
    assert.throws(() => rowsToTensors([{ a: 1 }], specs), badTensor(/instance 0 lacks input "b"/));
    assert.throws(() => rowsToTensors([{ a: 1, b: 2, c: 3 }], specs), badTensor(/instance 0 has key "c"/));
  });

  it('rejects empty instances and models without inputs', () => {
    assert.throws(() => rowsToTensors([], iris), badTensor(/no instances/));
    assert.throws(() => rowsToTensors([[1]], []), badTensor(/declares no inputs/));
  });

  it('allows exactly one instance for a scalar input', () => {
    const [t] = rowsToTensors([true], [{ name: 'flag', datatype: 'BOOL', shape: [] }]);
    assert.deepEqual(t!.shape, []);
    assert.deepEqual(Array.from(t!.data as Uint8Array), [1]);
    assert.throws(() => rowsToTensors([true, false], [{ name: 'flag', datatype: 'BOOL', shape: [] }]), badTensor(/exactly one instance/));
  });
});

describe('tensorsToPredictions', () => {
  const label: Tensor = { name: 'label', datatype: 'INT64', shape: [2], data: new BigInt64Array([0n, 2n ** 60n]) };
  const probs: Tensor = { name: 'probabilities', datatype: 'FP32', shape: [2, 3], data: new Float32Array([0.5, 0.25, 0.25, 0, 0, 1]) };

  it('gives the row of a single output, nested per its shape', () => {
    assert.deepEqual(tensorsToPredictions([probs]), [[0.5, 0.25, 0.25], [0, 0, 1]]);
  });

  it('keys several outputs by name and keeps INT64 beyond 2^53 exact', () => {
    const p = tensorsToPredictions([label, probs]);
    assert.deepEqual(p, [{ label: 0, probabilities: [0.5, 0.25, 0.25] }, { label: 2n ** 60n, probabilities: [0, 0, 1] }]);
  });

  it('gives BYTES as strings or b64 and BOOL as booleans', () => {
    const t: Tensor = { name: 's', datatype: 'BYTES', shape: [2], data: [Buffer.from('ok'), new Uint8Array([0xff])] };
    assert.deepEqual(tensorsToPredictions([t]), ['ok', { b64: '/w==' }]);
    const b: Tensor = { name: 'b', datatype: 'BOOL', shape: [2, 1], data: new Uint8Array([1, 0]) };
    assert.deepEqual(tensorsToPredictions([b]), [[true], [false]]);
  });

  it('nests every numeric datatype of any shape row by row, element for element', () => {
    // The reference: row i, then each index in turn, read from the flat data in row-major order.
    const reference = (data: ArrayLike<number | bigint>, shape: number[]): unknown[] => {
      const at = (dims: number[], offset: number): unknown => {
        if (dims.length === 0) return data[offset];
        const stride = dims.slice(1).reduce((a, b) => a * b, 1);
        return Array.from({ length: dims[0]! }, (_, j) => at(dims.slice(1), offset + j * stride));
      };
      return Array.from({ length: shape[0]! }, (_, i) => at(shape.slice(1), i * shape.slice(1).reduce((a, b) => a * b, 1)));
    };
    const kinds = [['FP32', Float32Array], ['FP64', Float64Array], ['INT8', Int8Array], ['INT16', Int16Array], ['INT32', Int32Array],
      ['UINT8', Uint8Array], ['UINT16', Uint16Array], ['UINT32', Uint32Array]] as const;
    fc.assert(fc.property(fc.constantFrom(...kinds), fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 1, maxLength: 4 }), fc.double(),
      ([datatype, ctor], shape, scale) => {
        const count = shape.reduce((a, b) => a * b, 1);
        const data = new ctor(count).map((_, i) => (i + 1) * (Number.isFinite(scale) ? scale : 1) * 7.5);
        const t: Tensor = { name: 'y', datatype, shape, data };
        assert.deepStrictEqual(tensorsToPredictions([t]), reference(data, shape), `${datatype} [${shape}]`);
      }), { numRuns: 300 });
    const scalar: Tensor = { name: 's', datatype: 'FP32', shape: [], data: new Float32Array([2.5]) };
    assert.deepEqual(tensorsToPredictions([scalar]), [2.5]);
  });

  it('rejects outputs with different row counts', () => {
    const short: Tensor = { name: 'x', datatype: 'FP32', shape: [1], data: new Float32Array(1) };
    assert.throws(() => tensorsToPredictions([label, short]), (e: unknown) => e instanceof GatewayError && e.code === 'backend_bad_reply');
  });
});

describe('tensorsToInstances', () => {
  it('is the inverse of rowsToTensors', () => {
    const specs: TensorSpec[] = [{ name: 'a', datatype: 'FP64', shape: [-1, 2] }, { name: 'b', datatype: 'BYTES', shape: [-1] }];
    const rows = [{ a: [1.5, 2], b: 'x' }, { a: [3, 4], b: 'y' }];
    assert.deepEqual(tensorsToInstances(rowsToTensors(rows, specs)), rows);
    const single = [[1, 2, 3, 4], [5, 6, 7, 8]];
    assert.deepEqual(tensorsToInstances(rowsToTensors(single, iris)), single);
  });
});
