// A row block request: its instances are built only when read, and from then on they, not the
// block, are the request's rows; copies carry plain rows; the batcher's helpers keep blocks.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { blockRequest, concatBlocks, hasRows, instanceCount, rowBlockOf, rowsOfBlock, sliceBlock } from '../../src/tensors/row-block.ts';
import { rowsOf } from '../../src/tensors/shape.ts';

const block = () => ({ values: new Float64Array([1, -0, 3, 4, 5, 6]), shape: [3, 2] });

describe('row blocks', () => {
  it('builds the rows JSON.parse would have given, -0 included', () => {
    assert.deepStrictEqual(rowsOfBlock(block()), [[1, -0], [3, 4], [5, 6]]);
    assert.deepStrictEqual(rowsOfBlock({ values: new Float64Array([7, 8]), shape: [2] }), [7, 8]);
    assert.deepStrictEqual(rowsOfBlock({ values: new Float64Array([1, 2, 3, 4]), shape: [1, 2, 2] }), [[[1, 2], [3, 4]]]);
  });

  it('counts instances without building them, and gives up the block once they are read', () => {
    const req = blockRequest(block(), { k: 1 });
    assert.equal(instanceCount(req), 3);
    assert.equal(rowsOf(req), 3);
    assert.ok(hasRows(req));
    assert.ok(rowBlockOf(req) !== undefined);
    assert.deepStrictEqual(Object.keys(req), ['instances', 'parameters']);
    const rows = req.instances!;
    assert.deepStrictEqual(rows, [[1, -0], [3, 4], [5, 6]]);
    assert.equal(rowBlockOf(req), undefined, 'read rows may be changed in place: the block no longer speaks for them');
    assert.equal(req.instances, rows, 'built once');
    assert.equal(instanceCount(req), 3);
  });

  it('a copy carries plain rows and no block; assigning instances replaces the block', () => {
    const req = blockRequest(block());
    const copy = { ...req };
    assert.equal(rowBlockOf(copy), undefined);
    assert.deepStrictEqual(copy.instances, [[1, -0], [3, 4], [5, 6]]);
    const other = blockRequest(block());
    other.instances = [[9, 9]];
    assert.equal(rowBlockOf(other), undefined);
    assert.deepStrictEqual(other.instances, [[9, 9]]);
    assert.equal(instanceCount(other), 1);
  });

  it('slices and joins blocks as rows slice and concatenate', () => {
    const b = block();
    assert.deepStrictEqual(rowsOfBlock(sliceBlock(b, 1, 3)), [[3, 4], [5, 6]]);
    assert.notEqual(sliceBlock(b, 0, 3).values.buffer, b.values.buffer, 'a copy');
    const joined = concatBlocks([b, sliceBlock(b, 0, 1)])!;
    assert.deepStrictEqual(rowsOfBlock(joined), [[1, -0], [3, 4], [5, 6], [1, -0]]);
    assert.equal(concatBlocks([b, { values: new Float64Array(3), shape: [1, 3] }]), undefined);
    assert.equal(concatBlocks([b, { values: new Float64Array(2), shape: [2] }]), undefined);
  });
});
