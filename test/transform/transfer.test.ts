// Which buffers cross to the other thread by transfer: large typed arrays that own their whole
// ArrayBuffer (a decoded image tensor a worker made), never a view into a shared slab.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { transferablesOf } from '../../src/transform/transfer.ts';

test('a large tensor the worker made moves; small ones and slab views are copied', () => {
  const big = new Float32Array(3 * 224 * 224);
  const small = new Float32Array(16);
  const slab = new Uint8Array(new ArrayBuffer(256 * 1024), 1024, 128 * 1024);
  const reply = { id: 1, ok: true, value: { inputs: [
    { name: 'image', datatype: 'FP32', shape: [1, 3, 224, 224], data: big },
    { name: 'scale', datatype: 'FP32', shape: [16], data: small },
  ], body: slab } };
  assert.deepEqual(transferablesOf(reply), [big.buffer]);
});

test('a bytes answer that owns its buffer moves, once even when named twice', () => {
  const body = new Uint8Array(100_000);
  assert.deepEqual(transferablesOf({ value: { body, data: body } }), [body.buffer]);
});

test('rows of plain JSON values are not walked for buffers', () => {
  assert.deepEqual(transferablesOf({ request: { instances: [[1, 2, 3], [4, 5, 6]] } }), []);
});
