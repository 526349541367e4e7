// Triton's classification form: the values as C++ std::to_string writes them (the expected
// strings below are glibc printf("%f") output for the same doubles), the batch rule, ordering
// and labels.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { floatToHalf } from '../../../src/tensors/datatype.ts';
import type { Tensor } from '../../../src/tensors/tensor.ts';
import { classificationTensor, fixedSix } from '../../../src/transform/builtins/triton-classes.ts';
import { texts } from '../../support/step-harness.ts';

describe('fixedSix writes floats as printf("%f")', () => {
  it('six decimals, rounded on the exact binary value', () => {
    const cases: Array<[number, string]> = [
      [0.5, '0.500000'], [Math.fround(0.95), '0.950000'], [Math.fround(3.3), '3.300000'], [Math.fround(0.1), '0.100000'],
      [12345.6789, '12345.678900'], [0.123456789, '0.123457'], [1e-7, '0.000000'], [-1e-7, '-0.000000'], [-0, '-0.000000'],
      [1e22, '10000000000000000000000.000000'], [4503599627370495.5 / 1024, '4398046511103.999512'],
    ];
    for (const [x, text] of cases) assert.equal(fixedSix(x), text, String(x));
  });

  it('exact ties (odd multiples of 1/128) go to the even last digit, as glibc does; toFixed would round them up', () => {
    assert.equal(fixedSix(0.0078125), '0.007812');
    assert.equal(fixedSix(0.0234375), '0.023438');
    assert.equal(fixedSix(0.0390625), '0.039062');
    assert.equal(fixedSix(-0.0078125), '-0.007812');
    assert.equal((0.0078125).toFixed(6), '0.007813'); // why the tie rule is needed
  });

  it('NaN and the infinities as glibc writes them', () => {
    assert.deepEqual([NaN, Infinity, -Infinity].map(fixedSix), ['nan', 'inf', '-inf']);
  });
});

describe('classificationTensor', () => {
  it('the protocol document\'s example: [1.1, 3.3, 0.5, 2.4], 2 classes → ["3.300000:1", "2.400000:3"], shape [2]', () => {
    const t: Tensor = { name: 'output0', datatype: 'FP32', shape: [4], data: Float32Array.from([1.1, 3.3, 0.5, 2.4]) };
    const c = classificationTensor(t, 2);
    assert.deepEqual({ name: c.name, datatype: c.datatype, shape: c.shape }, { name: 'output0', datatype: 'BYTES', shape: [2] });
    assert.deepEqual(texts(c.data), ['3.300000:1', '2.400000:3']);
    assert.deepEqual(texts(classificationTensor(t, 2, ['a', 'index_1_label', 'c', 'index_3_label']).data), ['3.300000:1:index_1_label', '2.400000:3:index_3_label']);
  });

  it('rank ≥ 2: dim 0 is the batch and each row is all its other dims; k is cut to the row', () => {
    const t: Tensor = { name: 'p', datatype: 'FP64', shape: [2, 1, 3], data: Float64Array.from([0.2, 0.5, 0.3, 0.9, 0.05, 0.05]) };
    const c = classificationTensor(t, 5);
    assert.deepEqual(c.shape, [2, 3]);
    assert.deepEqual(texts(c.data), ['0.500000:1', '0.300000:2', '0.200000:0', '0.900000:0', '0.050000:1', '0.050000:2']);
  });

  it('ties keep the lower index first; NaN ranks last', () => {
    const t: Tensor = { name: 'p', datatype: 'FP32', shape: [1, 4], data: Float32Array.from([NaN, 1, 2, 2]) };
    assert.deepEqual(texts(classificationTensor(t, 4).data), ['2.000000:2', '2.000000:3', '1.000000:1', 'nan:0']);
  });

  it('integer outputs (INT64 exact, UINT8) write digits; FP16 writes its value', () => {
    const big: Tensor = { name: 'n', datatype: 'INT64', shape: [1, 2], data: BigInt64Array.from([9007199254740993n, -4n]) };
    assert.deepEqual(texts(classificationTensor(big, 2).data), ['9007199254740993:0', '-4:1']);
    const bytes: Tensor = { name: 'u', datatype: 'UINT8', shape: [3], data: Uint8Array.from([1, 255, 7]) };
    assert.deepEqual(texts(classificationTensor(bytes, 1).data), ['255:1']);
    const half: Tensor = { name: 'h', datatype: 'FP16', shape: [2], data: Uint16Array.from([0.25, 0.75], floatToHalf) };
    assert.deepEqual(texts(classificationTensor(half, 2).data), ['0.750000:1', '0.250000:0']);
  });

  it('a label only where the labels reach; an empty batch gives [0, 0]', () => {
    const t: Tensor = { name: 'p', datatype: 'FP32', shape: [3], data: Float32Array.from([0.1, 0.2, 0.7]) };
    assert.deepEqual(texts(classificationTensor(t, 3, ['a', 'b']).data), ['0.700000:2', '0.200000:1:b', '0.100000:0:a']);
    const empty: Tensor = { name: 'p', datatype: 'FP32', shape: [0, 3], data: new Float32Array(0) };
    assert.deepEqual(classificationTensor(empty, 2).shape, [0, 0]);
  });
});
