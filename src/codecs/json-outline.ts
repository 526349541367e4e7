// json-outline.ts — json.ts's look at a JSON body's bytes before JSON.parse, in WebAssembly
// (json-outline.wat, built into json-outline.wasm): its nesting depth and whether a number in it
// may need the reviver. One pass over the bytes where the text took a regex walk for the depth
// and three regexes over the whole text for the numbers: on a 64-row Triton answer (10 KB) the
// regexes took 14-16 µs, about as long as its JSON.parse, and the outline takes 7.

import { WasmInstance, type WasmMemory } from './wasm-instance.ts';

interface OutlineExports {
  memory: WasmMemory;
  outline(length: number): number;
}

const unsafeBit = 1 << 30;
// Memory beyond 8 MB is not kept for the life of the process (a body that large takes far longer
// to parse than a fresh memory takes to fill).
const outliner = new WasmInstance<OutlineExports>(new URL('./json-outline.wasm', import.meta.url), 1 << 23);

/** JsonOutline is what JSON.parse needs decided first. */
export interface JsonOutline {
  /** The deepest nesting of arrays and objects, outside strings. */
  depth: number;
  /** A number outside strings has an integer part of 16+ digits or an exponent of 3+ digits. */
  mayNeedReviver: boolean;
}

/** outlineOf reads a JSON body's bytes; undefined when there is no memory to read them in. */
export function outlineOf(bytes: Uint8Array): JsonOutline | undefined {
  if (!outliner.fit(bytes.length + 8)) return undefined;
  const heap = outliner.heap;
  heap.set(bytes);
  heap.fill(0, bytes.length, bytes.length + 8); // ends a run of digits, read eight bytes at a time
  const packed = outliner.exports.outline(bytes.length);
  outliner.release();
  return { depth: packed & (unsafeBit - 1), mayNeedReviver: (packed & unsafeBit) !== 0 };
}
