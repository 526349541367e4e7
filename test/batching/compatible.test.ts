import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { batchKey } from '../../src/batching/compatible.ts';
import type { Datatype } from '../../src/tensors/datatype.ts';
import type { InferRequest, Tensor } from '../../src/tensors/tensor.ts';

function fp32(name: string, shape: number[], parameters?: Tensor['parameters']): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return { name, datatype: 'FP32', shape, data: new Float32Array(n), ...(parameters === undefined ? {} : { parameters }) };
}

function typed(name: string, datatype: Datatype, shape: number[]): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = datatype === 'INT64' ? new BigInt64Array(n) : datatype === 'FP64' ? new Float64Array(n) : new Float32Array(n);
  return { name, datatype, shape, data };
}

const same = (a: InferRequest, b: InferRequest): void => assert.equal(batchKey(a), batchKey(b));
const differ = (a: InferRequest, b: InferRequest): void => assert.notEqual(batchKey(a), batchKey(b));

describe('batchKey for tensor requests', () => {
  it('is shared by requests with the same input names, datatypes and non-batch dims, whatever the row count', () => {
    same({ inputs: [fp32('x', [1, 4])] }, { inputs: [fp32('x', [7, 4])] });
    same({ inputs: [fp32('x', [2, 3, 5]), typed('ids', 'INT64', [2])] }, { inputs: [fp32('x', [9, 3, 5]), typed('ids', 'INT64', [9])] });
  });

  it('does not depend on the order of the inputs, on the data, on the request id or the raw body', () => {
    const a = fp32('a', [1, 2]);
    const b = typed('b', 'INT64', [1, 3]);
    same({ inputs: [a, b] }, { inputs: [b, a] });
    const filled = { ...a, data: Float32Array.of(1, 2) };
    same({ id: 'one', inputs: [a] }, { id: 'two', inputs: [filled], raw: { contentType: 'application/json', body: Buffer.from('{}') } });
  });

  it('differs when a non-batch dim, the rank, a datatype or an input name differs', () => {
    differ({ inputs: [fp32('x', [1, 4])] }, { inputs: [fp32('x', [1, 5])] });
    differ({ inputs: [fp32('x', [1, 4])] }, { inputs: [fp32('x', [1, 4, 1])] });
    differ({ inputs: [fp32('x', [1, 2, 3])] }, { inputs: [fp32('x', [1, 3, 2])] });
    differ({ inputs: [fp32('x', [1, 4])] }, { inputs: [typed('x', 'FP64', [1, 4])] });
    differ({ inputs: [fp32('x', [1, 4])] }, { inputs: [fp32('y', [1, 4])] });
    differ({ inputs: [fp32('x', [1, 4])] }, { inputs: [fp32('x', [1, 4]), fp32('y', [1, 4])] });
  });

  it('differs when the request parameters differ, and ignores their key order', () => {
    const x = fp32('x', [1, 4]);
    differ({ inputs: [x] }, { inputs: [x], parameters: { temperature: 0.5 } });
    differ({ inputs: [x], parameters: { temperature: 0.5 } }, { inputs: [x], parameters: { temperature: 0.7 } });
    differ({ inputs: [x], parameters: { a: '1' } }, { inputs: [x], parameters: { a: 1 } });
    differ({ inputs: [x], parameters: { a: { b: 1 } } }, { inputs: [x], parameters: { a: { b: 2 } } });
    same({ inputs: [x], parameters: { a: 1, b: { c: 2, d: 3 } } }, { inputs: [x], parameters: { b: { d: 3, c: 2 }, a: 1 } });
    // no parameters and an empty object ask the model for the same thing
    same({ inputs: [x] }, { inputs: [x], parameters: {} });
  });

  it('differs on tensor parameters but not on binary_data_size, a wire artefact', () => {
    differ({ inputs: [fp32('x', [1, 4])] }, { inputs: [fp32('x', [1, 4], { content_type: 'np' })] });
    same({ inputs: [fp32('x', [1, 4])] }, { inputs: [fp32('x', [2, 4], { binary_data_size: 32 })] });
    same({ inputs: [fp32('x', [1, 4], { content_type: 'np' })] }, { inputs: [fp32('x', [1, 4], { binary_data_size: 16, content_type: 'np' })] });
  });

  it('differs when the output selection differs (names, order, parameters, none)', () => {
    const x = fp32('x', [1, 4]);
    same({ inputs: [x], outputs: [{ name: 'label' }] }, { inputs: [x], outputs: [{ name: 'label' }] });
    differ({ inputs: [x] }, { inputs: [x], outputs: [{ name: 'label' }] });
    differ({ inputs: [x], outputs: [{ name: 'label' }] }, { inputs: [x], outputs: [{ name: 'probabilities' }] });
    differ({ inputs: [x], outputs: [{ name: 'a' }, { name: 'b' }] }, { inputs: [x], outputs: [{ name: 'b' }, { name: 'a' }] });
    differ({ inputs: [x], outputs: [{ name: 'a' }] }, { inputs: [x], outputs: [{ name: 'a', parameters: { binary_data: true } }] });
  });
});

describe('batchKey for row requests', () => {
  it('is shared by rows of the same form, whatever their count and values', () => {
    same({ instances: [[1, 2, 3, 4]] }, { instances: [[5, 6, 7, 8], [0, 0, 0, 0]] });
    same({ instances: [{ a: 1, b: 'x' }] }, { instances: [{ b: 'y', a: 2 }] });
    same({ instances: [{ b64: 'AAAA' }] }, { instances: [{ b64: 'BBBBBBBB' }] });
    same({ instances: [[[1, 2], [3, 4]]] }, { instances: [[[5, 6], [7, 8]]] });
  });

  it('differs for rows of another length, nesting, keys or leaf kind', () => {
    differ({ instances: [[1, 2, 3, 4]] }, { instances: [[1, 2, 3]] });
    differ({ instances: [[1, 2]] }, { instances: [[[1, 2]]] });
    differ({ instances: [{ a: 1 }] }, { instances: [{ b: 1 }] });
    differ({ instances: [{ a: 1 }] }, { instances: [{ a: 1, b: 1 }] });
    differ({ instances: [{ a: 1 }] }, { instances: [{ a: '1' }] });
    differ({ instances: [{ a: [1, 2] }] }, { instances: [{ a: [1, 2, 3] }] });
    differ({ instances: [1] }, { instances: ['1'] });
    differ({ instances: [true] }, { instances: [1] });
    differ({ instances: [{ b64: 'AAAA' }] }, { instances: ['AAAA'] });
    differ({ instances: [{ b64: 'AAAA' }] }, { instances: [{ b64: 'AAAA', extra: 1 }] });
  });

  it('differs on parameters and output selection as for tensors', () => {
    differ({ instances: [[1]] }, { instances: [[1]], parameters: { k: 1 } });
    same({ instances: [[1]], parameters: { a: 1, b: 2 } }, { instances: [[2]], parameters: { b: 2, a: 1 } });
    differ({ instances: [[1]] }, { instances: [[1]], outputs: [{ name: 'label' }] });
  });

  it('gives a request whose own rows disagree a key of its own, never shared', () => {
    const ragged: InferRequest = { instances: [[1, 2], [1, 2, 3]] };
    const k1 = batchKey(ragged);
    const k2 = batchKey(ragged);
    assert.notEqual(k1, k2);
    assert.notEqual(k1, batchKey({ instances: [[1, 2]] }));
    assert.notEqual(batchKey({ instances: [{ a: 1 }, { b: 1 }] }), batchKey({ instances: [{ a: 1 }, { b: 1 }] }));
  });

  it('never gives rows and tensors the same key', () => {
    differ({ instances: [[1, 2, 3, 4]] }, { inputs: [fp32('x', [1, 4])] });
  });
});

it('objects and arrays in parameters never pass for each other, nor an empty object for null', () => {
  const x = { name: 'x', datatype: 'FP32' as const, shape: [1, 2], data: new Float32Array(2) };
  assert.notEqual(batchKey({ inputs: [x], parameters: { filter: { a: 1 } } }), batchKey({ inputs: [x], parameters: { filter: [['a', 1]] } }));
  assert.notEqual(batchKey({ inputs: [x], parameters: { filter: {} } }), batchKey({ inputs: [x], parameters: { filter: null } }));
  assert.equal(batchKey({ inputs: [x], parameters: { filter: { b: 2, a: 1 } } }), batchKey({ inputs: [x], parameters: { filter: { a: 1, b: 2 } } }));
});
