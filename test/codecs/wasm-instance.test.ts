// WasmInstance: the memory of a codecs/ WebAssembly module grows to fit a body, says when it
// cannot, and is not kept past its bound once a large body has grown it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WasmInstance, type WasmMemory } from '../../src/codecs/wasm-instance.ts';

const file = new URL('../../src/codecs/json-outline.wasm', import.meta.url);
const mb = 1 << 20;

describe('WasmInstance', () => {
  it('grows the memory to fit, and keeps what stays within its bound', () => {
    const w = new WasmInstance<{ memory: WasmMemory }>(file, 4 * mb);
    assert.ok(w.fit(3 * mb));
    assert.ok(w.exports.memory.buffer.byteLength >= 3 * mb);
    assert.equal(w.heap.buffer, w.exports.memory.buffer, 'the heap views the grown memory');
    w.heap[3 * mb - 1] = 7;
    const kept = w.exports;
    w.release();
    assert.equal(w.exports, kept, 'memory within the bound is kept');
    assert.equal(w.heap[3 * mb - 1], 7);
  });

  it('drops the memory a body grew past the bound: the next body gets a fresh one', () => {
    const w = new WasmInstance<{ memory: WasmMemory }>(file, 4 * mb);
    assert.ok(w.fit(6 * mb));
    w.release();
    assert.ok(w.exports.memory.buffer.byteLength < mb);
    assert.equal(w.heap.buffer, w.exports.memory.buffer, 'the heap views the fresh memory');
    assert.equal(w.heap.length, w.exports.memory.buffer.byteLength);
  });

  it('says when the memory cannot grow that far (past 4 GiB) and stays usable', () => {
    const w = new WasmInstance<{ memory: WasmMemory }>(file, 4 * mb);
    assert.equal(w.fit(2 ** 33), false);
    assert.ok(w.fit(mb));
    assert.ok(w.heap.length >= mb);
  });
});
