// json.ts — the JSON reader and writer every codec uses: a nesting-depth limit checked before
// parsing, integers beyond 2^53 kept exact as BigInt, BigInt written back as JSON integers.

import { GatewayError } from '../errors.ts';

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
  const { depth, longInts } = scan(text);
  const maxDepth = options.maxDepth ?? 64;
  if (depth > maxDepth) {
    throw new GatewayError('invalid_json', `${what} nests ${depth} levels deep; the limit is ${maxDepth}`);
  }
  try {
    return longInts ? JSON.parse(text, keepBigInts as never) : JSON.parse(text);
  } catch (err) {
    throw new GatewayError('invalid_json', `${what} is not valid JSON: ${(err as Error).message}`);
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

function keepBigInts(_key: string, value: unknown, context?: { source?: string }): unknown {
  if (typeof value === 'number' && !Number.isSafeInteger(value) && context?.source !== undefined &&
    /^-?\d+$/.test(context.source)) {
    return BigInt(context.source);
  }
  return value;
}

// scan finds the nesting depth (outside strings) and whether any digit run is 16+ long,
// in one pass, so the common case parses with no reviver.
function scan(text: string): { depth: number; longInts: boolean } {
  let depth = 0;
  let max = 0;
  let run = 0;
  let longInts = false;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++; // backslash: skip the escaped char
      else if (c === 34) inString = false;
      continue;
    }
    if (c >= 48 && c <= 57) {
      if (++run >= 16) longInts = true;
      continue;
    }
    run = 0;
    if (c === 34) inString = true;
    else if (c === 91 || c === 123) {
      if (++depth > max) max = depth;
    } else if (c === 93 || c === 125) depth--;
  }
  return { depth: max, longInts };
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
