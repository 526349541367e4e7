// number-text.ts — writes numeric tensor data as JSON array text, fast. FP32 is the hot case:
// JSON.stringify prints a float32 widened to double (0.123 → 0.12300000339746475), which is
// three times longer and slower to format. Here each value is written as the shortest decimal
// with ≤ 8 fraction digits that reads back to the same float32, digit by digit into a buffer.

import { isBigIntType, type Datatype, type TensorData } from '../tensors/datatype.ts';

const pow10 = [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8];
const maxSafe = 9007199254740992;
// Widest value written: sign, 10 integer digits, point, 8 fraction digits, comma; the
// toPrecision fallback ("-1.17549435e-38") is shorter.
const maxChars = 21;
let scratch = Buffer.allocUnsafe(64 * 1024);

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
  if (scratch.length < need) scratch = Buffer.allocUnsafe(Math.max(need, scratch.length * 2));
  const buf = scratch;
  let p = 0;
  buf[p++] = 91; // [
  for (let i = 0; i < a.length; i++) {
    if (i > 0) buf[p++] = 44; // ,
    p = writeFloat32(buf, p, a[i]!);
  }
  buf[p++] = 93; // ]
  return buf.latin1Slice(0, p);
}

function writeFloat32(buf: Buffer, p: number, f: number): number {
  if (f !== f || f === Infinity || f === -Infinity) return writeAscii(buf, p, 'null');
  const neg = f < 0;
  const v = neg ? -f : f;
  if (v < 1e10) {
    // n / 10^k is the correctly rounded double of the decimal text, so a reader that parses to
    // double and narrows to float32 gets exactly fround(n / 10^k) === v.
    for (let k = 0; k <= 8; k++) {
      const s = pow10[k]!;
      const n = Math.round(v * s);
      if (n < maxSafe && Math.fround(n / s) === v) {
        if (neg) buf[p++] = 45; // -
        return writeFixed(buf, p, n, k);
      }
    }
  }
  for (let precision = 6; precision < 9; precision++) {
    const text = f.toPrecision(precision);
    if (Math.fround(Number(text)) === f) return writeAscii(buf, p, text);
  }
  return writeAscii(buf, p, f.toPrecision(9));
}

// writeFixed writes the integer n with a decimal point k digits from the right ("0.05" for 5, k=2).
function writeFixed(buf: Buffer, p: number, n: number, k: number): number {
  let digits = 1;
  for (let t = n; t >= 10; t = Math.floor(t / 10)) digits++;
  if (digits <= k) digits = k + 1; // leading "0."
  const end = p + digits + (k > 0 ? 1 : 0);
  let q = end - 1;
  let t = n;
  for (let i = 0; i < k; i++) {
    buf[q--] = 48 + (t % 10);
    t = Math.floor(t / 10);
  }
  if (k > 0) buf[q--] = 46; // .
  do {
    buf[q--] = 48 + (t % 10);
    t = Math.floor(t / 10);
  } while (q >= p);
  return end;
}

function writeAscii(buf: Buffer, p: number, text: string): number {
  for (let i = 0; i < text.length; i++) buf[p++] = text.charCodeAt(i);
  return p;
}
