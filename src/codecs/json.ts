// json.ts — the JSON reader and writer every codec uses: a nesting-depth limit checked before
// parsing, integers beyond 2^53 kept exact as BigInt, BigInt written back as JSON integers.

import { GatewayError } from '../errors.ts';
import { outlineOf } from './json-outline.ts';

declare global {
  interface JSON {
    rawJSON(text: string): unknown;
  }
}

export interface ParseOptions {
  /** Deepest nesting of arrays and objects allowed. */
  maxDepth?: number;
  /** What the body is, for error messages ("request body", "backend answer"). */
  what?: string;
}

/**
 * parseJson parses UTF-8 JSON text. Invalid UTF-8, invalid JSON and nesting deeper than
 * maxDepth throw invalid_json (400) with the position. Integers with 16+ digits that do not
 * fit a double exactly come back as BigInt.
 */
export function parseJson(input: Buffer | string, options: ParseOptions = {}): unknown {
  const what = options.what ?? 'request body';
  let text: string;
  if (typeof input === 'string') text = input;
  else {
    try {
      text = utf8.decode(input);
    } catch {
      throw new GatewayError('invalid_json', `${what} is not valid UTF-8`);
    }
  }
  // A body's bytes are outlined in WebAssembly (json-outline.ts), a string by the regexes below.
  const outline = (typeof input === 'string' ? undefined : outlineOf(input))
    ?? { depth: nestingDepth(text), mayNeedReviver: mayHoldUnsafeNumber(text) };
  const maxDepth = options.maxDepth ?? 64;
  const depth = outline.depth;
  if (depth > maxDepth) {
    throw new GatewayError('invalid_json', `${what} nests ${depth} levels deep; the limit is ${maxDepth}`);
  }
  // Parse without a reviver (with one JSON.parse is several times slower) unless the text
  // holds a number the reviver would change: an integer beyond ±(2^53 − 1) needs 16+ digits
  // before any decimal point, and a literal that overflows to ±Infinity (1e999) needs either a
  // 3-digit exponent or such a digit run. The outline finds either (for a string, regexes in
  // native code, 0.6 ms for a 1×3×224×224 body; mayHoldUnsafeNumber below); that replaced a walk
  // of the parsed numbers, which cost 3–4 ms on a fresh parse (each double read back out of a
  // fresh array). A regex match inside a string only costs the slower parse, never a wrong value.
  try {
    return outline.mayNeedReviver ? JSON.parse(text, checkNumbers as never) : JSON.parse(text);
  } catch (err) {
    if (err === nonFinite) throw new GatewayError('invalid_json', `${what} holds a number too large for a double (it would read as Infinity)`);
    throw new GatewayError('invalid_json', `${what} is not valid JSON: ${(err as Error).message}`);
  }
}

const nonFinite = new Error('non-finite number');

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

// checkNumbers keeps long integers exact as BigInt and refuses literals that overflow to
// ±Infinity (1e999): JSON has no non-finite numbers, and they would reach a model as garbage.
function checkNumbers(_key: string, value: unknown, context?: { source?: string }): unknown {
  if (typeof value === 'number' && !Number.isSafeInteger(value) && context?.source !== undefined) {
    if (/^-?\d+$/.test(context.source)) return BigInt(context.source);
    if (!Number.isFinite(value)) throw nonFinite;
  }
  return value;
}

const structural = /[[\]{}"]/g;

// nestingDepth finds the deepest nesting of arrays and objects outside strings. A regex jumps
// from one structural character to the next and indexOf from a string's start to its end, so
// the numbers that make up most of a tensor body are skipped in native code (0.1 ms for a
// 1×3×224×224 image body, where a char-by-char loop took 3.3 ms).
function nestingDepth(text: string): number {
  let depth = 0;
  let max = 0;
  structural.lastIndex = 0;
  while (structural.test(text)) {
    const i = structural.lastIndex - 1;
    const c = text.charCodeAt(i);
    if (c === 34) {
      const end = closingQuote(text, i);
      if (end < 0) break; // unterminated: JSON.parse will say so
      structural.lastIndex = end + 1;
    } else if (c === 91 || c === 123) {
      if (++depth > max) max = depth;
    } else depth--;
  }
  return max;
}

// closingQuote finds the quote that ends the string opened at start: the next one preceded by
// an even number of backslashes. -1 if there is none.
function closingQuote(text: string, start: number): number {
  let end = start;
  for (;;) {
    end = text.indexOf('"', end + 1);
    if (end < 0) return -1;
    let b = end - 1;
    while (text.charCodeAt(b) === 92) b--;
    if ((end - 1 - b) % 2 === 0) return end;
  }
}

// mayHoldUnsafeNumber finds a digit run of 16+ that does not follow a decimal point or another
// digit (an integer part that may exceed 2^53 or, at 309+ digits, a double), or an exponent of
// 3+ digits (1e999). Three plain regexes, not one with a lookbehind and an alternation: V8 then
// skips ahead to each candidate, where the one regex tried every position. On a Triton answer of
// 512 FP32 values written as doubles (17-digit fractions) that took 35 µs, more than JSON.parse
// of the same text (16 µs); these take 12 µs.
const longExponent = /[eE]\+?\d{3}/;
const longIntegerPart = /[^.\d]\d{16}/;
const longIntegerFirst = /^\d{16}/;
function mayHoldUnsafeNumber(text: string): boolean {
  return longExponent.test(text) || longIntegerPart.test(text) || longIntegerFirst.test(text);
}

function bigIntReplacer(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? JSON.rawJSON(value.toString()) : value;
}

/** stringifyJson writes JSON, printing BigInt values as plain integers. */
export function stringifyJson(value: unknown): string {
  try {
    return JSON.stringify(value);
  } catch (err) {
    if (err instanceof TypeError && /BigInt/i.test(err.message)) return JSON.stringify(value, bigIntReplacer);
    throw err;
  }
}
