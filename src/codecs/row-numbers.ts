// row-numbers.ts — the numbers of row-scanner.ts read in WebAssembly (row-numbers.wat, built into
// row-numbers.wasm): the body is copied into the module's memory, and each innermost array's
// numbers become doubles there, which row-scanner reads through a Float64Array over that memory.

import { WasmInstance, type WasmMemory } from './wasm-instance.ts';

interface RowNumbersExports {
  memory: WasmMemory;
  filled: { value: number };
  readNumbers(i: number, out: number, n: number): number;
  readFloat32s(i: number, out: number, n: number): number;
}

// Where the body starts in the module's memory: below it, the module's table of powers of ten.
const bodyAt = 256;
// Memory beyond 32 MB is not kept for the life of the process.
const reader = new WasmInstance<RowNumbersExports>(new URL('./row-numbers.wasm', import.meta.url), 1 << 25);
let outAt = 0;

/**
 * loadBody copies a body into the reader's memory and gives the doubles its numbers will be read
 * into, with room for as many as the body can hold (one per two bytes: a digit and a comma), or
 * undefined when the memory cannot grow that far. The view is valid until the next loadBody.
 */
export function loadBody(body: Uint8Array): Float64Array<ArrayBuffer> | undefined {
  const room = (body.length + 2) >> 1;
  outAt = (bodyAt + body.length + 7) & ~7;
  if (!reader.fit(outAt + room * 8)) return undefined; // parseJson's to read
  const heap = reader.heap;
  heap.set(body, bodyAt);
  return new Float64Array(heap.buffer, outAt, room);
}

/**
 * readNumbersAt reads the numbers of the loaded body from index i into its doubles from index
 * `filled` on, as row-scanner's readNumbers would; it gives the index of what follows the last
 * (numbersFilled() then counts the doubles), -1 for what is not a JSON number, or -2 at a number
 * that readNumbers must read (its exact double needs Number()).
 */
export function readNumbersAt(i: number, filled: number): number {
  const end = reader.exports.readNumbers(i + bodyAt, outAt, filled);
  return end < 0 ? end : end - bodyAt;
}

/**
 * readFloat32sAt is readNumbersAt writing float32 values, each Math.fround of the double
 * JSON.parse gives, into float32Room(); it also reads the 17-digit doubles a server prints an
 * FP32 output as (-2 only for one that lies too near a float32 rounding midpoint to decide).
 */
export function readFloat32sAt(i: number, filled: number): number {
  const end = reader.exports.readFloat32s(i + bodyAt, outAt, filled);
  return end < 0 ? end : end - bodyAt;
}

/** float32Room is the loaded body's output as float32 values, valid until the next loadBody. */
export function float32Room(): Float32Array<ArrayBuffer> {
  const heap = reader.heap;
  return new Float32Array(heap.buffer, outAt, (heap.length - outAt) >> 2);
}

/** numbersFilled counts the doubles after the last readNumbersAt that gave an index. */
export function numbersFilled(): number {
  return reader.exports.filled.value;
}

/** releaseLargeMemory drops the reader's memory once a large body has made it grow. */
export function releaseLargeMemory(): void {
  reader.release();
}
