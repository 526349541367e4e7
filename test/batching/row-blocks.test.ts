// The batcher's row helpers on row blocks: the same counts, slices, merges and batch keys as on
// the plain rows they stand for, without building those rows.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { batchKey } from '../../src/batching/compatible.ts';
import { countRows, mergeRows, sliceRows } from '../../src/batching/rows.ts';
import { blockRequest, rowBlockOf } from '../../src/tensors/row-block.ts';
import type { InferRequest } from '../../src/tensors/tensor.ts';

const rows = [[[1, 2, 3]], [[4, 5, 6]], [[7, 8, -0]]];
const blockOf = (r: number[][][], parameters?: Record<string, unknown>): InferRequest =>
  blockRequest({ values: new Float64Array(r.flat(2)), shape: [r.length, 1, 3] }, parameters);

describe('row blocks in the batcher', () => {
  it('count, key, slice and merge as their rows do, and stay blocks', () => {
    const block = blockOf(rows, { k: 1 });
    const plain: InferRequest = { instances: rows, parameters: { k: 1 } };
    assert.equal(countRows(block), 3);
    assert.equal(batchKey(block), batchKey(plain));
    assert.notEqual(batchKey(blockOf(rows)), batchKey(plain), 'parameters still part of the key');
    assert.notEqual(batchKey(blockRequest({ values: new Float64Array(6), shape: [2, 3] })), batchKey(plain), 'another row form');
    const sliced = sliceRows(block, 1, 3);
    assert.ok(rowBlockOf(sliced) !== undefined);
    assert.deepStrictEqual({ ...sliced }, sliceRows(plain, 1, 3));
    const merged = mergeRows([block, blockOf(rows.slice(0, 1), { k: 1 })]);
    assert.ok(rowBlockOf(merged) !== undefined);
    assert.deepStrictEqual({ ...merged }, mergeRows([plain, { instances: rows.slice(0, 1), parameters: { k: 1 } }]));
    assert.ok(rowBlockOf(block) !== undefined, 'none of this built the rows of the request');
  });

  it('merges a block with plain rows of its form as plain rows', () => {
    const merged = mergeRows([blockOf(rows), { instances: [[[0, 0, 0]]] }]);
    assert.equal(rowBlockOf(merged), undefined);
    assert.deepStrictEqual(merged.instances, [...rows, [[0, 0, 0]]]);
  });

  it('keeps the id when slicing and drops it when merging, as for rows', () => {
    const block = blockOf(rows);
    block.id = 'a';
    block.outputs = [{ name: 'y' }];
    assert.equal(sliceRows(block, 0, 1).id, 'a');
    assert.deepStrictEqual(sliceRows(block, 0, 1).outputs, [{ name: 'y' }]);
    assert.equal(mergeRows([block, blockOf(rows)]).id, undefined);
  });
});
