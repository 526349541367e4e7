// row-scanner.ts — reads {"instances": [rows of numbers], "parameters": {...}} straight from the
// body's bytes into one Float64Array, without building a JS array per row (JSON.parse of a
// 1×3×224×224 image builds 672 arrays and 150,528 heap numbers, most of the translation's time).
// It only ever answers for bodies it reads exactly as parseJson + readRows would: anything else
// (other shapes, strings, ragged rows, bad JSON, integers beyond 2^53, 1e999, escapes in keys,
// too deep) gives undefined, and the caller parses the body the usual way, which makes the same
// refusals it always made. The numbers themselves are read in WebAssembly (row-numbers.ts); a
// number only Number() reads exactly sends its array to readNumbers below.

import { unfilled } from '../tensors/datatype.ts';
import type { RowBlock } from '../tensors/row-block.ts';
import { isSpace, plainStringEnd, skipSpace, valueEnd } from './json-bytes.ts';
import { parseJson } from './json.ts';
import { loadBody, numbersFilled, readNumbersAt, releaseLargeMemory } from './row-numbers.ts';

/** ScannedRows is a rows body read by scanRowsBody. */
export interface ScannedRows {
  block: RowBlock;
  parameters?: Record<string, unknown>;
}

// Powers of ten that are exact doubles (10^22 is the last): m / 10^k and m · 10^k with m < 2^53
// are then one correctly rounded operation, the same double as JSON.parse gives (Clinger's fast path).
const pow10 = Array.from({ length: 23 }, (_, i) => Number(`1e${i}`));

// The doubles of the body being scanned: a view of row-numbers' memory, room for all of them.
const noRoom = new Float64Array(0);
let scratch = noRoom;
// Per nesting level of the instances array: elements seen in the open array, and the length
// every array at that level must have (-1 until the first one closes).
let counts = new Int32Array(72);
let dims = new Int32Array(72);

/**
 * scanRowsBody reads a rows body whose instances are numbers or equally shaped nested arrays of
 * numbers, or gives undefined when parseJson + readRows must decide (they may refuse it).
 * maxDepth is parseJson's nesting limit for the whole body.
 */
export function scanRowsBody(body: Buffer, maxDepth = 64): ScannedRows | undefined {
  // A body that ends in "}" (after space) bounds every loop below: each stops at that byte, so
  // none reads past the end, and the number loop's digit test needs no check for undefined.
  let last = body.length - 1;
  while (last >= 0 && isSpace(body[last]!)) last--;
  if (body[last] !== 125) return undefined;
  let i = skipSpace(body, 0);
  if (body[i] !== 123) return undefined; // {
  i = skipSpace(body, i + 1);
  let block: RowBlock | undefined;
  let parameters: Record<string, unknown> | undefined;
  let seenParameters = false;
  for (;;) {
    if (body[i] !== 34) return undefined; // a key, or `{}` (no instances)
    const keyEnd = plainStringEnd(body, i);
    if (keyEnd < 0) return undefined;
    const key = body.toString('latin1', i + 1, keyEnd);
    i = skipSpace(body, keyEnd + 1);
    if (body[i] !== 58) return undefined; // :
    i = skipSpace(body, i + 1);
    if (key === 'instances') {
      if (block !== undefined || body[i] !== 91) return undefined;
      const end = scanRows(new Uint8Array(body.buffer, body.byteOffset, body.length), body, i, maxDepth - 1);
      if (end < 0) {
        dropRoom();
        return undefined;
      }
      block = takeBlock();
      i = end;
    } else {
      // "inputs" makes it a v2 body; a repeated key is JSON.parse's last-wins: both are parseJson's.
      if (key === 'inputs' || (key === 'parameters' && seenParameters)) return undefined;
      const end = valueEnd(body, i);
      if (end < 0) return undefined;
      let value: unknown;
      try {
        value = parseJson(body.subarray(i, end), { maxDepth: maxDepth - 1 });
      } catch {
        return undefined;
      }
      if (key === 'parameters') {
        if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
        parameters = value as Record<string, unknown>;
        seenParameters = true;
      }
      i = end;
    }
    i = skipSpace(body, i);
    if (body[i] === 44) { // ,
      i = skipSpace(body, i + 1);
      continue;
    }
    if (body[i] !== 125) return undefined; // }
    break;
  }
  if (skipSpace(body, i + 1) !== body.length || block === undefined) return undefined;
  return parameters === undefined ? { block } : { block, parameters };
}

let scannedValues = 0;
let scannedRank = 0;

function takeBlock(): RowBlock {
  const shape = [dims[1]!];
  for (let d = 2; d <= scannedRank; d++) shape.push(dims[d]!);
  const values = unfilled(Float64Array, scannedValues);
  values.set(scratch.subarray(0, scannedValues));
  dropRoom();
  return { values, shape };
}

// dropRoom lets go of the body's doubles: the view would keep a released memory alive.
function dropRoom(): void {
  scratch = noRoom;
  releaseLargeMemory();
}

// scanRows reads the instances array opening at b[start] into scratch, with every array at one
// level the same length and numbers only at the deepest level; it gives the index after its
// "]", or -1. Depth 1 is the instances array itself; maxRank bounds how deep arrays may nest.
// `text` is b as a Buffer, for the rare number read by Number().
function scanRows(b: Uint8Array, text: Buffer, start: number, maxRank: number): number {
  if (counts.length < maxRank + 2) {
    counts = new Int32Array(maxRank + 2);
    dims = new Int32Array(maxRank + 2);
  }
  const room = loadBody(b);
  if (room === undefined) return -1;
  scratch = room;
  dims.fill(-1);
  filled = 0;
  let depth = 1;
  let rank = -1;
  counts[1] = 0;
  let i = skipSpace(b, start + 1);
  for (;;) {
    // At the first element of an array: another array, or the numbers of an innermost one.
    if (b[i] === 91) {
      depth++;
      if (depth > (rank < 0 ? maxRank : rank)) return -1;
      counts[depth] = 0;
      i = skipSpace(b, i + 1);
      continue;
    }
    if (rank !== depth) {
      if (rank >= 0) return -1;
      rank = depth;
    }
    const first = filled;
    const end = readNumbersAt(i, filled);
    if (end >= 0) {
      filled = numbersFilled();
      i = end;
    } else if (end === -2) {
      i = readNumbers(b, text, i);
    } else return -1;
    if (i < 0) return -1;
    counts[depth] = filled - first;
    // "]" closes arrays until a "," opens the next element of one.
    for (;;) {
      if (b[i] !== 93) return -1;
      const length = counts[depth]!;
      if (dims[depth]! < 0) dims[depth] = length;
      else if (dims[depth] !== length) return -1;
      if (--depth === 0) {
        scannedValues = filled;
        scannedRank = rank;
        return i + 1;
      }
      counts[depth]!++;
      i = skipSpace(b, i + 1);
      if (b[i] === 44) {
        i = skipSpace(b, i + 1);
        break;
      }
    }
  }
}

// Values written to scratch so far.
let filled = 0;

// readNumbers reads the comma-separated numbers starting at b[i] into scratch and gives the
// index of what follows the last (a "]" when the array is well formed), or -1 for anything that
// is not a JSON number parseJson would give as this double. row-numbers.wat reads the same in
// WebAssembly and leaves this the arrays with a number that needs Number() to read exactly.
function readNumbers(b: Uint8Array, text: Buffer, i: number): number {
  const out = scratch;
  let n = filled;
  let c = b[i];
  for (;;) {
    // -?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?
    const numberStart = i;
    const negative = c === 45;
    if (negative) c = b[++i];
    let m = 0;
    let fraction = 0;
    if (c === 48) {
      c = b[++i];
      if (c! - 48 >>> 0 < 10) return -1; // a leading zero
    } else if (c! - 49 >>> 0 < 9) {
      do {
        m = m * 10 + (c! - 48);
        c = b[++i];
      } while (c! - 48 >>> 0 < 10);
    } else return -1;
    if (c === 46) {
      c = b[++i];
      if (!(c! - 48 >>> 0 < 10)) return -1;
      const from = i;
      do {
        m = m * 10 + (c! - 48);
        c = b[++i];
      } while (c! - 48 >>> 0 < 10);
      fraction = i - from;
    }
    let exponent = 0;
    let hasExponent = false;
    if (c === 101 || c === 69) {
      hasExponent = true;
      c = b[++i];
      const negativeExponent = c === 45;
      if (c === 43 || c === 45) c = b[++i];
      if (!(c! - 48 >>> 0 < 10)) return -1;
      do {
        if (exponent < 100000) exponent = exponent * 10 + (c! - 48);
        c = b[++i];
      } while (c! - 48 >>> 0 < 10);
      if (negativeExponent) exponent = -exponent;
    }
    const e10 = exponent - fraction;
    let value: number;
    // m is exact while it stays within 2^53 (every step before it was smaller), so any number of
    // digits, leading zeros of a fraction too, takes the one-operation path.
    if (m <= 9007199254740991 && e10 >= -22 && e10 <= 22) {
      value = e10 < 0 ? m / pow10[-e10]! : m * pow10[e10]!;
      if (negative) value = -value;
    } else {
      // Long or far-out numbers: Number() rounds as JSON.parse does. An integer parseJson would
      // keep as BigInt, or a number that overflows (which it refuses), is parseJson's to answer.
      value = Number(text.toString('latin1', numberStart, i));
      if (!Number.isFinite(value) || (fraction === 0 && !hasExponent && !Number.isSafeInteger(value))) return -1;
    }
    out[n++] = value; // scratch has room for every number the body can hold
    // Most numbers are followed straight by "," or "]": one compare rules out space.
    if (c! <= 32) while (isSpace(c!)) c = b[++i];
    if (c !== 44) break;
    c = b[++i];
    if (c! <= 32) while (isSpace(c!)) c = b[++i];
  }
  filled = n;
  return i;
}
