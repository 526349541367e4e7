import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { GatewayError } from '../../src/errors.ts';
import { batchKey } from '../../src/batching/compatible.ts';
import { checkReplyRows, countRows, joinResponses, mergeRows, sliceRows, splitRows } from '../../src/batching/rows.ts';
import type { InferRequest, InferResponse, Tensor } from '../../src/tensors/tensor.ts';

const fp32 = (name: string, shape: number[], values: number[]): Tensor => ({ name, datatype: 'FP32', shape, data: Float32Array.from(values) });
const bytes = (name: string, values: string[]): Tensor => ({
  name, datatype: 'BYTES', shape: [values.length], data: values.map((v) => new TextEncoder().encode(v)),
});

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof GatewayError, `expected a GatewayError, got ${String(err)}`);
    return err.code;
  }
  assert.fail('expected a throw');
}

describe('countRows', () => {
  it('counts instances and dim 0 of tensors', () => {
    assert.equal(countRows({ instances: [1, 2, 3] }), 3);
    assert.equal(countRows({ inputs: [fp32('x', [2, 2], [1, 2, 3, 4]), bytes('s', ['a', 'b'])] }), 2);
    assert.equal(countRows({ instances: [] }), 0);
  });

  it('rejects both forms, neither form and non-array instances with bad_request', () => {
    assert.equal(code(() => countRows({})), 'bad_request');
    assert.equal(code(() => countRows({ instances: [1], inputs: [fp32('x', [1], [1])] })), 'bad_request');
    assert.equal(code(() => countRows({ instances: 'nope' as unknown as unknown[] })), 'bad_request');
  });

  it('rejects ragged, scalar, duplicate, empty and short tensors with bad_tensor', () => {
    assert.equal(code(() => countRows({ inputs: [fp32('x', [2, 1], [1, 2]), fp32('y', [3, 1], [1, 2, 3])] })), 'bad_tensor');
    assert.equal(code(() => countRows({ inputs: [fp32('x', [], [1])] })), 'bad_tensor');
    assert.equal(code(() => countRows({ inputs: [fp32('x', [1], [1]), fp32('x', [1], [2])] })), 'bad_tensor');
    assert.equal(code(() => countRows({ inputs: [] })), 'bad_tensor');
    assert.equal(code(() => countRows({ inputs: [fp32('x', [2, 2], [1, 2, 3])] })), 'bad_tensor');
  });
});

describe('mergeRows / splitRows', () => {
  it('merges instances in order and splits predictions back', () => {
    const merged = mergeRows([{ instances: [1, 2] }, { instances: [3] }, { instances: [4, 5, 6] }]);
    assert.deepEqual(merged.instances, [1, 2, 3, 4, 5, 6]);
    const parts = splitRows({ predictions: ['a', 'b', 'c', 'd', 'e', 'f'], modelName: 'm' }, [2, 1, 3]);
    assert.deepEqual(parts.map((p) => p.predictions), [['a', 'b'], ['c'], ['d', 'e', 'f']]);
    assert.ok(parts.every((p) => p.modelName === 'm'));
  });

  it('concatenates every tensor kind along dim 0 and round-trips through split', () => {
    const a: InferRequest = { id: 'a', inputs: [fp32('x', [1, 2], [1, 2]), bytes('s', ['p']), { name: 'i', datatype: 'INT64', shape: [1], data: BigInt64Array.from([2n ** 62n]) }] };
    const b: InferRequest = { inputs: [{ name: 'i', datatype: 'INT64', shape: [2], data: BigInt64Array.from([1n, -1n]) }, bytes('s', ['q', 'r']), fp32('x', [2, 2], [3, 4, 5, 6])] };
    const merged = mergeRows([a, b]);
    assert.equal(merged.id, undefined);
    const x = merged.inputs!.find((t) => t.name === 'x')!;
    assert.deepEqual(x.shape, [3, 2]);
    assert.deepEqual(Array.from(x.data as Float32Array), [1, 2, 3, 4, 5, 6]);
    const s = merged.inputs!.find((t) => t.name === 's')!;
    assert.deepEqual((s.data as Uint8Array[]).map((v) => new TextDecoder().decode(v)), ['p', 'q', 'r']);
    const i = merged.inputs!.find((t) => t.name === 'i')!;
    assert.ok(i.data instanceof BigInt64Array);
    assert.deepEqual(Array.from(i.data as BigInt64Array), [2n ** 62n, 1n, -1n]);

    // An identity backend: outputs = inputs; split must give each caller its own tensors back.
    const [ra, rb] = splitRows({ outputs: merged.inputs }, [1, 2]);
    assert.deepEqual(Array.from(ra!.outputs!.find((t) => t.name === 'x')!.data as Float32Array), [1, 2]);
    assert.deepEqual(rb!.outputs!.find((t) => t.name === 'x')!.shape, [2, 2]);
    assert.deepEqual(Array.from(rb!.outputs!.find((t) => t.name === 'i')!.data as BigInt64Array), [1n, -1n]);
    // The split is a copy: nothing of another caller's rows stays reachable through .buffer.
    assert.equal((ra!.outputs!.find((t) => t.name === 'x')!.data as Float32Array).buffer.byteLength, 8);
  });

  it('slices a request into row ranges and joins the answers back', () => {
    const req: InferRequest = { inputs: [fp32('x', [3, 1], [1, 2, 3])], raw: { contentType: 'application/json', body: Buffer.from('{}') } };
    const head = sliceRows(req, 0, 2);
    const tail = sliceRows(req, 2, 3);
    assert.equal(head.raw, undefined);
    assert.deepEqual(head.inputs![0]!.shape, [2, 1]);
    assert.deepEqual(Array.from(tail.inputs![0]!.data as Float32Array), [3]);
    const joined = joinResponses([{ outputs: head.inputs }, { outputs: tail.inputs }]);
    assert.deepEqual(Array.from(joined.outputs![0]!.data as Float32Array), [1, 2, 3]);
    assert.deepEqual(joinResponses([{ predictions: [1] }, { predictions: [2, 3] }]).predictions, [1, 2, 3]);
  });

  it('refuses an answer with the wrong number of rows, naming both counts', () => {
    const bad = (res: InferResponse): string => {
      try {
        splitRows(res, [2, 2]);
      } catch (err) {
        assert.ok(err instanceof GatewayError);
        assert.equal(err.code, 'backend_bad_reply');
        assert.match(err.message, /batch of 4 rows/);
        return err.message;
      }
      return assert.fail('expected backend_bad_reply');
    };
    assert.match(bad({ predictions: [1, 2, 3] }), /3 predictions/);
    assert.match(bad({ outputs: [fp32('y', [5], [1, 2, 3, 4, 5])] }), /5 rows/);
    assert.match(bad({ outputs: [fp32('y', [], [1])] }), /scalar/);
    assert.match(bad({ outputs: [fp32('y', [4], [1, 2])] }), /does not fill/);
    assert.match(bad({}), /neither/);
    assert.doesNotThrow(() => checkReplyRows({ predictions: [1, 2, 3, 4] }, 4));
  });
});

describe('batchKey', () => {
  const x = (shape: number[], datatype: Tensor['datatype'] = 'FP32'): InferRequest => ({
    inputs: [{ name: 'x', datatype, shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)) }],
  });

  it('is equal for requests that differ only in rows, key order or wire artefacts', () => {
    assert.equal(batchKey(x([1, 3])), batchKey(x([7, 3])));
    assert.equal(batchKey({ instances: [1], parameters: { a: 1, b: { c: 2, d: 3 } } }),
      batchKey({ instances: [2, 3], parameters: { b: { d: 3, c: 2 }, a: 1 } }));
    const withSize = x([1, 3]);
    withSize.inputs![0]!.parameters = { binary_data_size: 12 };
    assert.equal(batchKey(withSize), batchKey(x([2, 3])));
  });

  it('differs on form, non-batch dims, datatype, names, parameters and output selection', () => {
    const keys = [
      batchKey(x([1, 3])),
      batchKey(x([1, 4])),
      batchKey(x([1, 3, 1])),
      batchKey(x([1, 3], 'FP64')),
      batchKey({ inputs: [fp32('y', [1, 3], [1, 2, 3])] }),
      batchKey({ ...x([1, 3]), parameters: { p: 1 } }),
      batchKey({ ...x([1, 3]), outputs: [{ name: 'out' }] }),
      batchKey({ instances: [1] }),
      batchKey({ instances: [1], parameters: { p: 1 } }),
      batchKey({ instances: [1], parameters: { p: '1' } }),
    ];
    assert.equal(new Set(keys).size, keys.length);
  });

  it('rows: equal for rows of one form, different for another length, nesting, input names or kind', () => {
    assert.equal(batchKey({ instances: [[1, 2]] }), batchKey({ instances: [[3.5, -1], [0, 9]] }));
    assert.equal(batchKey({ instances: [{ a: [1], b: 'x' }] }), batchKey({ instances: [{ b: 'y', a: [2] }] }));
    assert.equal(batchKey({ instances: [{ b64: 'YQ==' }] }), batchKey({ instances: [{ b64: 'Yg==' }] }));
    const keys = [
      batchKey({ instances: [[1, 2]] }),
      batchKey({ instances: [[1, 2, 3]] }),
      batchKey({ instances: [[[1, 2]]] }),
      batchKey({ instances: [['a', 'b']] }),
      batchKey({ instances: [{ a: [1] }] }),
      batchKey({ instances: [{ c: [1] }] }),
    ];
    assert.equal(new Set(keys).size, keys.length);
  });

  it('rows: a request whose own rows disagree batches with nothing', () => {
    const mixed = { instances: [[1, 2], [1, 2, 3]] };
    assert.notEqual(batchKey(mixed), batchKey(mixed));
    assert.notEqual(batchKey(mixed), batchKey({ instances: [[1, 2]] }));
  });
});
