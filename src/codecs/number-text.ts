// number-text.ts — writes numeric tensor data as JSON array text, fast. FP32 is the hot case:
// JSON.stringify prints a float32 widened to double (0.123 → 0.12300000339746475), which is
// three times longer and slower to format. Here each value is written as the shortest decimal
// with ≤ 8 fraction digits that reads back to the same float32, digit by digit into a buffer.

import { isBigIntType, type Datatype, type TensorData } from '../tensors/datatype.ts';

// Powers of ten that are exact doubles (10^22 is the last).
const pow10 = Array.from({ length: 23 }, (_, i) => Number(`1e${i}`));
const maxSafe = 9007199254740992;
// Widest value written: sign, 10 integer digits, point, 8 fraction digits, comma; the
// toPrecision fallback ("-1.17549435e-38") is shorter.
const maxChars = 21;
let scratch = new Uint8Array(64 * 1024);

/**
 * numericArrayText gives the JSON text of flat numeric data, or undefined for datatypes that
 * need the generic writer (BOOL, FP16, BYTES). Non-finite floats become null, as JSON.stringify does.
 */
export function numericArrayText(datatype: Datatype, data: TensorData): string | undefined {
  if (datatype === 'FP32') return float32Text(data as Float32Array);
  if (datatype === 'BOOL' || datatype === 'FP16' || datatype === 'BYTES') return undefined;
  if (datatype === 'FP64') return JSON.stringify(Array.from(data as Float64Array));
  if (isBigIntType(datatype)) return `[${(data as BigInt64Array).join(',')}]`;
  return `[${(data as Int32Array).join(',')}]`;
}

/** float32Text writes a Float32Array as a JSON array of the shortest decimals that read back exactly. */
export function float32Text(a: Float32Array): string {
  const need = a.length * maxChars + 2;
  if (scratch.length < need) scratch = new Uint8Array(Math.max(need, scratch.length * 2));
  const buf = scratch;
  let p = 0;
  buf[p++] = 91; // [
  for (let i = 0; i < a.length; i++) {
    if (i > 0) buf[p++] = 44; // ,
    p = writeFloat32(buf, p, a[i]!);
  }
  buf[p++] = 93; // ]
  return Buffer.from(buf.buffer, 0, p).toString('latin1');
}

function writeFloat32(buf: Uint8Array, p: number, f: number): number {
  if (f !== f || f === Infinity || f === -Infinity) return writeAscii(buf, p, 'null');
  const neg = f < 0;
  const v = neg ? -f : f;
  if (neg) buf[p++] = 45; // -
  // n / 10^k is the correctly rounded double of the decimal text, so a reader that parses to
  // double and narrows to float32 gets exactly fround(n / 10^k) === v.
  // Short decimals first (what clients send: 0.5, 0.123, integers)…
  for (let k = 0; k <= 3; k++) {
    const s = pow10[k]!;
    const n = Math.round(v * s);
    if (n < maxSafe && Math.fround(n / s) === v) return writeFixed(buf, p, n, k);
  }
  // …then 7 to 9 significant digits, which always suffice for a float32 (model outputs).
  if (v >= 1e-6 && v < 1e7) {
    const e = Math.floor(Math.log10(v));
    for (let d = 7; d <= 9; d++) {
      let k = d - 1 - e;
      if (k < 0 || k > 22) continue;
      let n = Math.round(v * pow10[k]!);
      if (Math.fround(n / pow10[k]!) !== v) continue;
      while (k > 0 && n % 10 === 0) { n /= 10; k--; }
      return writeFixed(buf, p, n, k);
    }
  }
  const text = shortestPrecision(v);
  return writeAscii(buf, p, text);
}

function shortestPrecision(v: number): string {
  for (let precision = 6; precision < 9; precision++) {
    const text = v.toPrecision(precision);
    if (Math.fround(Number(text)) === v) return text;
  }
  return v.toPrecision(9);
}

// writeFixed writes the integer n with a decimal point k digits from the right ("0.05" for 5, k=2).
function writeFixed(buf: Uint8Array, p: number, n: number, k: number): number {
  if (k === 0 && n < 10) {
    buf[p] = 48 + n;
    return p + 1;
  }
  const small = n < 2147483648;
  let digits = 1;
  for (let t = n; t >= 10; t = small ? (t / 10) | 0 : Math.floor(t / 10)) digits++;
  if (digits <= k) digits = k + 1; // leading "0."
  const end = p + digits + (k > 0 ? 1 : 0);
  let q = end - 1;
  let t = n;
  for (let i = 0; i < k; i++) {
    const next = small ? (t / 10) | 0 : Math.floor(t / 10);
    buf[q--] = 48 + t - next * 10;
    t = next;
  }
  if (k > 0) buf[q--] = 46; // .
  do {
    const next = small ? (t / 10) | 0 : Math.floor(t / 10);
    buf[q--] = 48 + t - next * 10;
    t = next;
  } while (q >= p);
  return end;
}

function writeAscii(buf: Uint8Array, p: number, text: string): number {
  for (let i = 0; i < text.length; i++) buf[p++] = text.charCodeAt(i);
  return p;
}
