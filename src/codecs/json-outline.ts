// json-outline.ts — json.ts's look at a JSON body's bytes before JSON.parse, in WebAssembly
// (json-outline.wat, built into json-outline.wasm): its nesting depth and whether a number in it
// may need the reviver. One pass over the bytes where the text took a regex walk for the depth
// and three regexes over the whole text for the numbers (23 µs of a 64-row Triton answer's
// 10 KB, more than its JSON.parse).

import { readFileSync } from 'node:fs';

// The little of the WebAssembly API used here: TypeScript declares it only in lib "dom".
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: unknown };
};

interface OutlineExports {
  memory: { buffer: ArrayBuffer; grow(pages: number): number };
  outline(length: number): number;
}

// Memory beyond this is not kept for the life of the process: the next body gets a fresh instance
// (a body that large takes far longer to parse than a fresh memory takes to fill).
const keptBytes = 1 << 23;
const unsafeBit = 1 << 30;

const compiled = new WebAssembly.Module(readFileSync(new URL('./json-outline.wasm', import.meta.url)));
const instantiate = (): OutlineExports => new WebAssembly.Instance(compiled).exports as OutlineExports;
let outliner = instantiate();

/** JsonOutline is what JSON.parse needs decided first. */
export interface JsonOutline {
  /** The deepest nesting of arrays and objects, outside strings. */
  depth: number;
  /** A number outside strings has an integer part of 16+ digits or an exponent of 3+ digits. */
  mayNeedReviver: boolean;
}

/** outlineOf reads a JSON body's bytes; undefined when there is no memory to read them in. */
export function outlineOf(bytes: Uint8Array): JsonOutline | undefined {
  const memory = outliner.memory;
  try {
    const need = bytes.length + 8;
    if (memory.buffer.byteLength < need) memory.grow(Math.ceil((need - memory.buffer.byteLength) / 65536));
  } catch {
    return undefined;
  }
  const heap = new Uint8Array(memory.buffer);
  heap.set(bytes);
  heap.fill(0, bytes.length, bytes.length + 8); // ends a run of digits, read eight bytes at a time
  const packed = outliner.outline(bytes.length);
  if (memory.buffer.byteLength > keptBytes) outliner = instantiate();
  return { depth: packed & (unsafeBit - 1), mayNeedReviver: (packed & unsafeBit) !== 0 };
}
