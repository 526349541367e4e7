// wasm-instance.ts — one of the hand-written WebAssembly modules of codecs/ (a .wat beside its
// user, built into the .wasm by `npm run build:wasm`), compiled once and instantiated with its
// own memory, which grows to fit a body and is dropped once a large body has grown it past a
// bound. WebAssembly is always there: Node's own TypeScript type stripping needs it.

import { readFileSync } from 'node:fs';

// The little of the WebAssembly API used here: TypeScript declares it only in lib "dom".
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: unknown };
};

/** WasmMemory is the part of a module's exported memory its users touch. */
export interface WasmMemory {
  buffer: ArrayBuffer;
  grow(pages: number): number;
}

const pageBytes = 65536;

/**
 * WasmInstance is a module's live instance; `exports` changes when release() drops the memory.
 * `heap` is a byte view of the whole memory, valid until the next fit() or release(): reading the
 * memory's `buffer` is a call into the engine, and was most of the cost of outlining a small body.
 */
export class WasmInstance<E extends { memory: WasmMemory }> {
  readonly #module: object;
  readonly #keptBytes: number;
  exports: E;
  heap: Uint8Array<ArrayBuffer>;

  /** file is the .wasm; keptBytes, the most memory kept after a body that grew it further. */
  constructor(file: URL, keptBytes: number) {
    this.#module = new WebAssembly.Module(readFileSync(file));
    this.#keptBytes = keptBytes;
    this.exports = this.#instantiate();
    this.heap = new Uint8Array(this.exports.memory.buffer);
  }

  /** fit grows the memory to at least `bytes`, or says it cannot (false). */
  fit(bytes: number): boolean {
    if (this.heap.length >= bytes) return true;
    const memory = this.exports.memory;
    try {
      memory.grow(Math.ceil((bytes - memory.buffer.byteLength) / pageBytes));
      return true;
    } catch {
      return false;
    } finally {
      this.heap = new Uint8Array(memory.buffer);
    }
  }

  /** release starts a fresh instance when a body has grown the memory past keptBytes. */
  release(): void {
    if (this.heap.length <= this.#keptBytes) return;
    this.exports = this.#instantiate();
    this.heap = new Uint8Array(this.exports.memory.buffer);
  }

  #instantiate(): E {
    return new WebAssembly.Instance(this.#module).exports as E;
  }
}
