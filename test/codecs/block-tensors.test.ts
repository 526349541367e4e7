// blockToTensors against rowsToTensors on the same rows: the same tensor for every datatype it
// takes, the same refusal for fixed dims that do not match, and undefined (rowsToTensors
// decides) for what it leaves; inferRequestBytes and float32Bytes against the string writers.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { blockToTensors, rowsRequestToTensors, rowsToTensors } from '../../src/codecs/instances.ts';
import { float32Bytes, float32Text } from '../../src/codecs/number-text.ts';
import { inferRequestBytes } from '../../src/codecs/v2-json-bytes.ts';
import { stringifyInferRequest } from '../../src/codecs/v2-json.ts';
import { datatypes, type Datatype } from '../../src/tensors/datatype.ts';
import { blockRequest, rowBlockOf, rowsOfBlock, type RowBlock } from '../../src/tensors/row-block.ts';
import type { InferRequest, TensorSpec } from '../../src/tensors/tensor.ts';

function refusal(f: () => unknown): string | undefined {
  try {
    f();
    return undefined;
  } catch (err) {
    return `${(err as { code?: string }).code}: ${(err as Error).message}`;
  }
}

describe('blockToTensors', () => {
  const values = [0, 1, -2, 127, -128, 255, 256, 70000, -0, 0.5, 1e-40, 3.4e38, 1e39, 2 ** 31, -(2 ** 31) - 1, 2 ** 53 - 1, -(2 ** 53) + 1];
  it('gives rowsToTensors\' tensor for every numeric datatype it takes, and leaves the rest', () => {
    let typed = 0;
    fc.assert(fc.property(fc.constantFrom(...datatypes.filter((d) => d !== 'BYTES')), fc.oneof(fc.array(fc.constantFrom(...values), { minLength: 6, maxLength: 6 }), fc.array(fc.integer({ min: 0, max: 127 }), { minLength: 6, maxLength: 6 })),
      (datatype: Datatype, vals) => {
        const block: RowBlock = { values: new Float64Array(vals), shape: [3, 2] };
        const spec: TensorSpec[] = [{ name: 'x', datatype, shape: [-1, 2] }];
        const got = blockToTensors(block, spec);
        const rows = rowsOfBlock(block);
        if (got === undefined) return;
        typed++;
        assert.deepStrictEqual(got, rowsToTensors(rows, spec), `${datatype} ${vals}`);
      }), { numRuns: 400 });
    assert.ok(typed > 150, `typed only ${typed}`); // FP32/FP64 always, the integer types for small integers
    const fp32 = blockToTensors({ values: new Float64Array([0.1, 1e39]), shape: [2] }, [{ name: 'x', datatype: 'FP32', shape: [-1] }])!;
    assert.deepStrictEqual(Array.from(fp32[0]!.data as Float32Array), [Math.fround(0.1), Infinity]);
  });

  it('types a large block (its storage unzeroed first) exactly as rowsToTensors does', () => {
    let seed = 5;
    const rand = (): number => { seed = (seed * 16807) % 2147483647; return (seed / 2147483647 - 0.5) * 10 ** (seed % 9 - 4); };
    for (const count of [1023, 1024, 4097, 150_528]) {
      const block: RowBlock = { values: new Float64Array(count).map(rand), shape: [1, count] };
      for (const datatype of ['FP32', 'FP64'] as const) {
        const spec: TensorSpec[] = [{ name: 'x', datatype, shape: [-1, count] }];
        const got = blockToTensors(block, spec)![0]!;
        assert.deepStrictEqual(got, rowsToTensors(rowsOfBlock(block), spec)[0], `${datatype} ${count}`);
        const data = got.data as Float32Array;
        assert.equal(data.buffer.byteLength, data.byteLength);
      }
    }
  });

  it('refuses fixed dims as rowsToTensors does, and leaves other ranks, several inputs, FP16, BOOL and out-of-range integers', () => {
    const block: RowBlock = { values: new Float64Array([1, 2, 3, 4, 5, 6]), shape: [2, 3] };
    const rows = rowsOfBlock(block);
    const wrong: TensorSpec[] = [{ name: 'x', datatype: 'FP32', shape: [-1, 4] }];
    assert.equal(refusal(() => blockToTensors(block, wrong)), refusal(() => rowsToTensors(rows, wrong)));
    assert.match(refusal(() => blockToTensors(block, wrong))!, /^bad_tensor: /);
    for (const spec of [
      [{ name: 'x', datatype: 'FP32', shape: [-1, 3, 1] }], [{ name: 'x', datatype: 'FP32', shape: [] }],
      [{ name: 'x', datatype: 'FP32', shape: [-1, 3] }, { name: 'y', datatype: 'FP32', shape: [-1, 3] }],
      [{ name: 'x', datatype: 'FP16', shape: [-1, 3] }], [{ name: 'x', datatype: 'BOOL', shape: [-1, 3] }],
    ] as TensorSpec[][]) assert.equal(blockToTensors(block, spec), undefined, JSON.stringify(spec));
    assert.equal(blockToTensors({ values: new Float64Array([1, 300]), shape: [2] }, [{ name: 'x', datatype: 'UINT8', shape: [-1] }]), undefined);
    assert.equal(blockToTensors({ values: new Float64Array([-1]), shape: [1] }, [{ name: 'x', datatype: 'UINT64', shape: [-1] }]), undefined);
    assert.equal(blockToTensors({ values: new Float64Array([1.5]), shape: [1] }, [{ name: 'x', datatype: 'INT32', shape: [-1] }]), undefined);
  });

  it('rowsRequestToTensors types a block without building its rows, and falls back to the rows', () => {
    const spec: TensorSpec[] = [{ name: 'x', datatype: 'FP32', shape: [-1, 3] }];
    const req = blockRequest({ values: new Float64Array([1, 2, 3, 4, 5, 6]), shape: [2, 3] });
    const tensors = rowsRequestToTensors(req, spec);
    assert.ok(rowBlockOf(req) !== undefined, 'the rows were not built');
    assert.deepStrictEqual(tensors, rowsToTensors([[1, 2, 3], [4, 5, 6]], spec));
    const two: TensorSpec[] = [{ name: 'x', datatype: 'FP32', shape: [-1, 3] }, { name: 'y', datatype: 'FP32', shape: [-1, 3] }];
    assert.equal(refusal(() => rowsRequestToTensors(req, two)), refusal(() => rowsToTensors([[1, 2, 3], [4, 5, 6]], two)));
  });
});

describe('byte writers', () => {
  it('float32Bytes writes float32Text\'s text', () => {
    fc.assert(fc.property(fc.array(fc.oneof(fc.float(), fc.integer({ min: -9000000, max: 9000000 }).map((n) => Math.fround(n / 1000))), { maxLength: 50 }), (vals) => {
      const a = new Float32Array(vals);
      const { bytes, length } = float32Bytes(a);
      assert.equal(Buffer.from(bytes.subarray(0, length)).toString('latin1'), float32Text(a));
    }), { numRuns: 300 });
  });

  it('inferRequestBytes is the UTF-8 of stringifyInferRequest', () => {
    const reqs: InferRequest[] = [
      { inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 2], data: new Float32Array([0.1, -0, NaN, 3e30]) }] },
      {
        id: 'é"\u0000\\u0000x:0"', parameters: { a: 1, b: 'ü', timeout: 12 },
        inputs: [
          { name: 'ü', datatype: 'FP32', shape: [1], data: new Float32Array([1]) },
          { name: 'i', datatype: 'INT64', shape: [1], data: new BigInt64Array([2n ** 60n]) },
          { name: 's', datatype: 'BYTES', shape: [1], data: [Buffer.from('hi')] },
          { name: 'f', datatype: 'FP32', shape: [0], data: new Float32Array(0), parameters: { p: [1] } },
          { name: 'h', datatype: 'FP16', shape: [1], data: new Uint16Array([15360]) },
          { name: 'd', datatype: 'FP64', shape: [2], data: new Float64Array([0.1, -0]) },
        ],
        outputs: [{ name: 'y', parameters: { binary_data: true } }],
      },
      { inputs: [{ name: 'a', datatype: 'FP32', shape: [3], data: new Float32Array([1.5, 2, -3]) }, { name: 'b', datatype: 'FP32', shape: [2], data: new Float32Array([0.25, 7]) }] },
      { inputs: [] },
    ];
    for (const r of reqs) assert.equal(inferRequestBytes(r).toString('utf8'), stringifyInferRequest(r));
  });
});
