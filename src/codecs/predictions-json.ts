// predictions-json.ts — the {"predictions": [...]} answer of rows of numbers, written straight
// into bytes exactly as JSON.stringify would write it, with the doubles that are float32 values
// (an FP32 model's outputs) printed in WebAssembly (float-text.wat). Anything else in the
// predictions (objects, strings, booleans) leaves the whole answer to JSON.stringify.

import type { Tensor } from '../tensors/tensor.ts';
import { WasmInstance, type WasmMemory } from './wasm-instance.ts';

interface FloatTextExports {
  memory: WasmMemory;
  init(): void;
  widened(x: number, at: number): number;
}

// Below 1024 are the module's tables; the text is written from there. Memory beyond 1 MB (one
// answer of many rows) is not kept for the life of the process.
const textAt = 1024;
const printer = new WasmInstance<FloatTextExports>(new URL('./float-text.wasm', import.meta.url), 1 << 20);
let ready: FloatTextExports | undefined;

const head = Buffer.from('{"predictions":');
const maxDepth = 64;
// The longest number text is "-1.2345678901234567e-308" (24 bytes); a comma or bracket follows.
const numberBytes = 25;
// Answers bounded below this (about 80 numbers) are left to JSON.stringify.
const smallestBytes = 2048;

/**
 * predictionsJson gives the bytes of JSON.stringify({ predictions }) when the predictions are
 * numbers or arrays of them (null and holes too), nested to any shape, and not few; else
 * undefined.
 */
export function predictionsJson(predictions: unknown[]): Buffer | undefined {
  // One walk bounds the text, so the writer below never checks for room.
  const bound = boundOf(predictions, 1);
  // A small answer is cheaper through JSON.stringify: one string, written with its headers in
  // one write, where bytes go as a second chunk (bench/ab.ts predict, 8 numbers: 5-9% more CPU
  // per request this way).
  if (bound < smallestBytes) return undefined;
  const widened = readyFor(bound);
  if (widened === undefined) return undefined;
  return answerBytes(writeArray(printer.heap, textAt + head.length, predictions, widened));
}

/**
 * tensorPredictionsJson gives the same bytes for the predictions an FP32 tensor's rows make
 * (tensorsToPredictions([t])), written from its Float32Array: no array per row is built or
 * walked. The data must hold exactly the shape's elements (row-answer.ts checks it).
 */
export function tensorPredictionsJson(t: Tensor): Buffer | undefined {
  const data = t.data as Float32Array;
  // Every number and the comma or bracket after it, and two brackets and a comma for each array.
  let arrays = 1;
  let inner = 1;
  for (let d = 0; d < t.shape.length - 1; d++) arrays += (inner *= t.shape[d]!);
  const bound = data.length * (numberBytes + 1) + arrays * 3;
  if (bound < smallestBytes) return undefined;
  const widened = readyFor(bound);
  if (widened === undefined) return undefined;
  return answerBytes(writeDims(printer.heap, textAt + head.length, data, 0, t.shape, 0, widened));
}

// readyFor makes room for an answer of at most `bound` bytes after the head, or says it cannot
// (undefined). 64 bytes past the bound: the module writes whole words of digits past a number's end.
function readyFor(bound: number): FloatTextExports['widened'] | undefined {
  if (!printer.fit(textAt + head.length + bound + 64)) return undefined;
  if (ready !== printer.exports) {
    printer.exports.init(); // a fresh instance: its tables
    ready = printer.exports;
  }
  printer.heap.set(head, textAt);
  return ready.widened;
}

// answerBytes closes the answer written up to `at` and copies it out of the module's memory.
function answerBytes(at: number): Buffer {
  const out = printer.heap;
  out[at++] = 125; // }
  const bytes = Buffer.from(out.subarray(textAt, at));
  printer.release();
  return bytes;
}

// writeDims writes the elements from `offset` on as nested arrays of shape[dim..]: each value a
// float32, so none needs the float32 test writeArray makes.
function writeDims(out: Uint8Array, start: number, data: Float32Array, offset: number, shape: number[], dim: number, widened: FloatTextExports['widened']): number {
  let at = start;
  out[at++] = 91; // [
  const n = shape[dim]!;
  if (dim === shape.length - 1) {
    for (let j = 0; j < n; j++) {
      if (j > 0) out[at++] = 44; // ,
      const v = data[offset + j]!;
      const end = widened(v, at);
      at = end >= 0 ? end : writeText(out, at, v);
    }
  } else {
    let stride = 1;
    for (let d = dim + 1; d < shape.length; d++) stride *= shape[d]!;
    for (let j = 0; j < n; j++) {
      if (j > 0) out[at++] = 44; // ,
      at = writeDims(out, at, data, offset + j * stride, shape, dim + 1, widened);
    }
  }
  out[at++] = 93; // ]
  return at;
}

// boundOf gives at most how many bytes the array's text takes, or -1 when it holds anything
// but numbers, null, holes and arrays of them, or nests deeper than maxDepth.
function boundOf(a: unknown[], depth: number): number {
  if (depth > maxDepth) return -1;
  let n = 2 + a.length; // brackets, and a comma after each element
  for (let k = 0; k < a.length; k++) {
    const v = a[k];
    if (typeof v === 'number' || v === null || v === undefined) n += numberBytes;
    else if (Array.isArray(v)) {
      const inner = boundOf(v as unknown[], depth + 1);
      if (inner < 0) return -1;
      n += inner;
    } else return -1;
  }
  return n;
}

function writeArray(out: Uint8Array, start: number, a: unknown[], widened: FloatTextExports['widened']): number {
  let at = start;
  out[at++] = 91; // [
  for (let k = 0; k < a.length; k++) {
    if (k > 0) out[at++] = 44; // ,
    const v = a[k];
    if (typeof v === 'number') {
      const end = v === v && Math.fround(v) === v ? widened(v, at) : -1; // NaN is no float32 value here
      at = end >= 0 ? end : writeText(out, at, v);
    } else if (Array.isArray(v)) at = writeArray(out, at, v as unknown[], widened);
    else at = writeText(out, at, NaN); // JSON.stringify writes a hole or undefined in an array as null
  }
  out[at++] = 93; // ]
  return at;
}

// writeText writes what JSON.stringify writes for a number: String(v) when finite, else null.
function writeText(out: Uint8Array, at: number, v: number): number {
  const text = Number.isFinite(v) ? String(v) : 'null';
  for (let i = 0; i < text.length; i++) out[at + i] = text.charCodeAt(i);
  return at + text.length;
}
