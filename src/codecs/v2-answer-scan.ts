// v2-answer-scan.ts — a backend's v2 JSON answer read from its bytes, with each FP32 output's
// flat "data" array read straight into a Float32Array in WebAssembly (row-numbers.wat), where
// JSON.parse would build an array of doubles for fromJsonValues to narrow. Triton prints an FP32
// output widened to double (17 digits, ~20 bytes a value: about 10 KB for 64×8 values), so this
// was the largest part of reading a 64-row answer. Everything else in the answer is parseJson's,
// one value at a time. It only ever answers what parseJson would give for the same bytes, with
// those arrays narrowed as fromJsonValues narrows them. A member it does not read so goes to
// parseJson alone ("datatype" after "data", nested data, a number it cannot decide: that one
// array; a repeated or escaped key inside an output: the whole "outputs"); an answer it cannot
// read at all (a repeated or escaped key at the top, bad JSON) gives undefined, and the caller
// parses the whole answer. Its caller asks it only for answers that name FP32: for others member
// by member would cost more than one parseJson.

import { isSpace, plainStringEnd, skipSpace, valueEnd } from './json-bytes.ts';
import { parseJson } from './json.ts';
import { float32Room, loadBody, numbersFilled, readFloat32sAt, releaseLargeMemory } from './row-numbers.ts';

/**
 * scanInferResponse gives the v2 answer in `body` as parseJson would, FP32 data as Float32Array,
 * or undefined when parseJson must read it. maxDepth is parseJson's nesting limit for the body.
 */
export function scanInferResponse(body: Buffer, maxDepth: number): Record<string, unknown> | undefined {
  let last = body.length - 1;
  while (last >= 0 && isSpace(body[last]!)) last--;
  if (body[last] !== 125 || maxDepth < 4) return undefined;
  const scan: Scan = { body, loaded: false, maxDepth };
  let i = skipSpace(body, 0);
  if (body[i] !== 123) return undefined;
  const end = readObject(scan, skipSpace(body, i + 1), 1, (key, at) => (key === 'outputs' && body[at] === 91 ? readOutputs(scan, at) : undefined));
  if (scan.loaded) releaseLargeMemory();
  if (end === undefined || skipSpace(body, end.next) !== body.length) return undefined;
  return end.value;
}

interface Scan {
  body: Buffer;
  /** The body is in row-numbers' memory (loaded once, at the first FP32 data). */
  loaded: boolean;
  maxDepth: number;
}

interface Read<T> { value: T; next: number }

// readObject reads the members of an object whose "{" is just before `i`, at nesting `depth`:
// `special` reads a member's value itself when it can (else undefined), parseJson the others.
function readObject(scan: Scan, i: number, depth: number,
  special: (key: string, at: number, seen: Record<string, unknown>) => Read<unknown> | undefined): Read<Record<string, unknown>> | undefined {
  const { body } = scan;
  const out: Record<string, unknown> = {};
  if (body[i] === 125) return { value: out, next: i + 1 };
  for (;;) {
    if (body[i] !== 34) return undefined;
    const keyEnd = plainStringEnd(body, i);
    if (keyEnd < 0) return undefined;
    const key = body.toString('latin1', i + 1, keyEnd);
    // A repeated key is JSON.parse's last-wins, and "__proto__" an own member there: its to read.
    if (key === '__proto__' || Object.hasOwn(out, key)) return undefined;
    i = skipSpace(body, keyEnd + 1);
    if (body[i] !== 58) return undefined; // :
    i = skipSpace(body, i + 1);
    let member = special(key, i, out);
    if (member === undefined) {
      const end = valueEnd(body, i);
      if (end < 0) return undefined;
      try {
        member = { value: parseJson(body.subarray(i, end), { maxDepth: scan.maxDepth - depth }), next: end };
      } catch {
        return undefined;
      }
    }
    out[key] = member.value;
    i = skipSpace(body, member.next);
    if (body[i] === 44) {
      i = skipSpace(body, i + 1);
      continue;
    }
    return body[i] === 125 ? { value: out, next: i + 1 } : undefined;
  }
}

// readOutputs reads the "outputs" array opening at `at`: objects only.
function readOutputs(scan: Scan, at: number): Read<unknown[]> | undefined {
  const { body } = scan;
  const outputs: unknown[] = [];
  const data = (key: string, from: number, seen: Record<string, unknown>): Read<Float32Array> | undefined =>
    (key === 'data' && seen.datatype === 'FP32' ? readFloat32Data(scan, from) : undefined);
  let i = skipSpace(body, at + 1);
  if (body[i] === 93) return { value: outputs, next: i + 1 };
  for (;;) {
    if (body[i] !== 123) return undefined;
    const output = readObject(scan, skipSpace(body, i + 1), 3, data);
    if (output === undefined) return undefined;
    outputs.push(output.value);
    i = skipSpace(body, output.next);
    if (body[i] === 44) {
      i = skipSpace(body, i + 1);
      continue;
    }
    return body[i] === 93 ? { value: outputs, next: i + 1 } : undefined;
  }
}

// readFloat32Data reads a flat array of numbers opening at `at` into a Float32Array, each value
// fromJsonValues' Math.fround of JSON.parse's double; undefined for anything else.
function readFloat32Data(scan: Scan, at: number): Read<Float32Array> | undefined {
  const { body } = scan;
  if (body[at] !== 91) return undefined;
  const i = skipSpace(body, at + 1);
  if (body[i] === 93) return { value: new Float32Array(0), next: i + 1 };
  if (!scan.loaded) {
    if (loadBody(body) === undefined) return undefined;
    scan.loaded = true;
  }
  const end = readFloat32sAt(i, 0);
  if (end < 0 || body[end] !== 93) return undefined;
  return { value: float32Room().slice(0, numbersFilled()), next: end + 1 };
}
