// json-bytes.ts — the byte-level steps the scanners share (row-scanner.ts for request bodies,
// v2-answer-scan.ts for v2 answers): white space, a plain key, and the end of a value found by its
// brackets and strings alone, which parseJson then reads.

/** skipSpace gives the index of the first byte from i that is not JSON white space. */
export function skipSpace(b: Uint8Array, i: number): number {
  let c = b[i];
  while (isSpace(c!)) c = b[++i];
  return i;
}

/** isSpace: a JSON white-space byte. */
export function isSpace(c: number): boolean {
  return c === 32 || c === 10 || c === 13 || c === 9;
}

/**
 * plainStringEnd gives the index of the quote ending the string opening at b[start], when it
 * holds only printable ASCII and no escapes (every key the scanners need to tell apart); else -1.
 */
export function plainStringEnd(b: Buffer, start: number): number {
  for (let i = start + 1; i < b.length; i++) {
    const c = b[i]!;
    if (c === 34) return i;
    if (c === 92 || c < 32 || c > 126) return -1;
  }
  return -1;
}

/**
 * valueEnd gives the index just after the JSON value starting at b[start], found by brackets
 * and strings only (parseJson checks the value itself); -1 if it does not end.
 */
export function valueEnd(b: Buffer, start: number): number {
  let depth = 0;
  let i = start;
  for (; i < b.length; i++) {
    const c = b[i]!;
    if (c === 34) {
      i++;
      while (i < b.length && b[i] !== 34) i += b[i] === 92 ? 2 : 1;
      if (i >= b.length) return -1;
      if (depth === 0) return i + 1;
    } else if (c === 91 || c === 123) depth++;
    else if (c === 93 || c === 125) {
      if (depth === 0) return i;
      if (--depth === 0) return i + 1;
    } else if (depth === 0 && (c === 44 || isSpace(c!))) return i;
  }
  return depth === 0 ? i : -1;
}
