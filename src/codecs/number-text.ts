// number-text.ts — writes numeric tensor data as JSON array text, fast. FP32 is the hot case:
// JSON.stringify prints a float32 widened to double (0.123 → 0.12300000339746475), which is
// three times longer and slower to format. Here each value is written as the shortest decimal
// with ≤ 8 fraction digits that reads back to the same float32, digit by digit into a buffer.

import { isBigIntType, toJsonValues, type Datatype, type TensorData } from '../tensors/datatype.ts';
import { WasmInstance, type WasmMemory } from './wasm-instance.ts';

// Powers of ten that are exact doubles (10^22 is the last).
const pow10 = Array.from({ length: 23 }, (_, i) => Number(`1e${i}`));
const maxSafe = 9007199254740992;
// Widest value written: sign, 10 integer digits, point, 8 fraction digits, comma; the
// toPrecision fallback ("-1.17549435e-38") is shorter.
const maxChars = 21;
let scratch = new Uint8Array(64 * 1024);
let scratchView = new DataView(scratch.buffer);

// fractionText[4f…] holds the text of f thousandths after the integer part (".05" for 50,
// trailing zeros dropped, nothing for 0) and fractionLength[f] its length; fractionWord[f] is
// the same up-to-4 bytes as one little-endian word, so the hot loop stores them at once.
const fractionText = new Uint8Array(4000);
const fractionLength = new Uint8Array(1000);
const fractionWord = new Uint32Array(1000);
for (let f = 1; f < 1000; f++) {
  const text = `.${String(f).padStart(3, '0')}`.replace(/0+$/, '');
  for (let i = 0; i < text.length; i++) fractionText[f * 4 + i] = text.charCodeAt(i);
  fractionLength[f] = text.length;
  fractionWord[f] = wordOf(text);
}
// wholeWord[n] / wholeLength[n]: the digits of every integer part the short-decimal path writes (< 8192).
const wholeWord = new Uint32Array(8192);
const wholeLength = new Uint8Array(8192);
for (let n = 0; n < 8192; n++) {
  wholeWord[n] = wordOf(String(n));
  wholeLength[n] = String(n).length;
}

function wordOf(text: string): number {
  let w = 0;
  for (let i = 0; i < text.length; i++) w |= text.charCodeAt(i) << (8 * i);
  return w >>> 0;
}

/**
 * numericArrayText gives the JSON text of flat numeric data, or undefined for datatypes that
 * need the generic writer (BOOL, FP16, BYTES). Non-finite floats become null, as JSON.stringify does.
 */
export function numericArrayText(datatype: Datatype, data: TensorData): string | undefined {
  if (datatype === 'FP32') return float32Text(data as Float32Array);
  if (datatype === 'BOOL' || datatype === 'FP16' || datatype === 'BYTES') return undefined;
  if (datatype === 'FP64') return JSON.stringify(toJsonValues(datatype, data));
  if (isBigIntType(datatype)) return `[${(data as BigInt64Array).join(',')}]`;
  return `[${(data as Int32Array).join(',')}]`;
}

/** float32Text writes a Float32Array as a JSON array of the shortest decimals that read back exactly. */
export function float32Text(a: Float32Array): string {
  const { bytes, length } = float32Bytes(a);
  return Buffer.from(bytes.buffer, bytes.byteOffset, length).toString('latin1');
}

/**
 * float32Bytes writes what float32Text gives as ASCII bytes into a shared buffer and gives that
 * buffer and the text's length: valid until the next call of any writer here.
 */
export function float32Bytes(a: Float32Array): { bytes: Uint8Array; length: number } {
  return shortDecimalsText(a) ?? float32BytesInScript(a);
}

/** float32BytesInScript is float32Bytes with the loop in JavaScript only: the reference the module is held to. */
export function float32BytesInScript(a: Float32Array): { bytes: Uint8Array; length: number } {
  reserve(a.length * maxChars + 2);
  return { bytes: scratch, length: writeFloat32s(scratch, scratchView, 0, a) + 1 };
}

interface ShortDecimalsExports {
  memory: WasmMemory;
  shorts(src: number, n: number, at: number): number;
  textEnd(): number;
}

// The module's tables (see short-decimals.wat), then the values and their text. Memory past
// 8 MB (one tensor of about 300 k values) is not kept between calls.
const tablesAt = { wholeWord: 0, wholeLength: 32768, fractionWord: 40960, fractionLength: 44960 };
const valuesAt = 49152;
const decimals = new WasmInstance<ShortDecimalsExports>(new URL('./short-decimals.wasm', import.meta.url), 8 << 20);
let tablesIn: ShortDecimalsExports | undefined;

// shortDecimalsText writes the text in the module's memory: its short decimals (most of what
// clients send) in WebAssembly, each other value by writeFloat32 here, between the module's
// runs. The text is a view of the module's memory, valid until the next call. Undefined when the
// memory cannot grow to hold it.
function shortDecimalsText(a: Float32Array): { bytes: Uint8Array; length: number } | undefined {
  decimals.release(); // the last call's large memory, if it grew one
  const n = a.length;
  const textAt = valuesAt + n * 4;
  // 4 bytes past the text: a word store writes past a value's end.
  if (!decimals.fit(textAt + n * maxChars + 8)) return undefined;
  const module = decimals.exports;
  const heap = decimals.heap;
  if (tablesIn !== module) {
    heap.set(new Uint8Array(wholeWord.buffer), tablesAt.wholeWord);
    heap.set(wholeLength, tablesAt.wholeLength);
    heap.set(new Uint8Array(fractionWord.buffer), tablesAt.fractionWord);
    heap.set(fractionLength, tablesAt.fractionLength);
    tablesIn = module;
  }
  new Float32Array(heap.buffer, valuesAt, n).set(a);
  let p = textAt;
  heap[p++] = 91; // [
  // Each value is followed by a comma; the last one becomes the closing bracket.
  for (let i = 0; i < n;) {
    i += module.shorts(valuesAt + 4 * i, n - i, p);
    p = module.textEnd();
    if (i < n) {
      p = writeFloat32(heap, p, a[i]!);
      heap[p++] = 44; // ,
      i++;
    }
  }
  if (n > 0) p--;
  heap[p] = 93; // ]
  return { bytes: heap.subarray(textAt, p + 1), length: p + 1 - textAt };
}

function reserve(need: number): void {
  if (scratch.length >= need) return;
  scratch = new Uint8Array(Math.max(need, scratch.length * 2));
  scratchView = new DataView(scratch.buffer);
}

// writeFloat32s writes "[v,v,…]" into buf from `start` and gives the index of its "]". The short
// decimals clients send (see writeFloat32) are written inline, two table words per value;
// everything else goes through writeFloat32. Nothing follows the loop: V8 optimises a long loop
// on-stack, and code after it that had never run bailed out to the interpreter on every call
// ("insufficient type feedback").
function writeFloat32s(buf: Uint8Array, view: DataView, start: number, a: Float32Array): number {
  buf[start] = 91; // [
  buf[start + 1] = 93; // ], moved along by the loop
  let p = start + 1;
  for (let i = 0; i < a.length; i++) {
    if (i > 0) buf[p++] = 44; // ,
    const f = a[i]!;
    const v = f < 0 ? -f : f;
    const n = v < 8192 ? Math.round(v * 1000) | 0 : -1;
    if (n >= 0 && Math.fround(n / 1000) === v) {
      if (f < 0) buf[p++] = 45; // -
      const whole = (n / 1000) | 0;
      const fraction = n - whole * 1000;
      // Each word is 4 bytes wide; the next store overwrites what is past the text.
      view.setUint32(p, wholeWord[whole]!, true);
      p += wholeLength[whole]!;
      view.setUint32(p, fractionWord[fraction]!, true);
      p += fractionLength[fraction]!;
    } else p = writeFloat32(buf, p, f);
    buf[p] = 93;
  }
  return p;
}

function writeFloat32(buf: Uint8Array, p: number, f: number): number {
  if (f !== f || f === Infinity || f === -Infinity) return writeAscii(buf, p, 'null');
  const neg = f < 0;
  const v = neg ? -f : f;
  if (neg) buf[p++] = 45; // -
  // n / 10^k is the correctly rounded double of the decimal text, so a reader that parses to
  // double and narrows to float32 gets exactly fround(n / 10^k) === v.
  // Short decimals first (what clients send: 0.5, 0.123, integers)…
  if (v < 8192) {
    // Below 2^13 a float32's half-ulp times 1000 is under 0.5, so any decimal x with ≤ 3
    // fraction digits that reads back as v has x·1000 = round(v·1000): one test instead of
    // four, and the shortest form is that integer with its trailing zeros dropped.
    const n = Math.round(v * 1000) | 0;
    if (Math.fround(n / 1000) === v) {
      const whole = (n / 1000) | 0;
      p = whole < 10 ? (buf[p] = 48 + whole, p + 1) : writeFixedInt32(buf, p, whole, 0);
      // The fraction's text comes from a table of all 1000.
      const f = n - whole * 1000;
      const len = fractionLength[f]!;
      for (let i = 0; i < len; i++) buf[p + i] = fractionText[f * 4 + i]!;
      return p + len;
    }
  } else for (let k = 0; k <= 3; k++) {
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
  if (n < 2147483648) return writeFixedInt32(buf, p, n | 0, k);
  let digits = 1;
  for (let t = n; t >= 10; t = Math.floor(t / 10)) digits++;
  if (digits <= k) digits = k + 1; // leading "0."
  const end = p + digits + (k > 0 ? 1 : 0);
  let q = end - 1;
  let t = n;
  for (let i = 0; i < k; i++) {
    const next = Math.floor(t / 10);
    buf[q--] = 48 + t - next * 10;
    t = next;
  }
  if (k > 0) buf[q--] = 46; // .
  do {
    const next = Math.floor(t / 10);
    buf[q--] = 48 + t - next * 10;
    t = next;
  } while (q >= p);
  return end;
}

// writeFixedInt32 is writeFixed for n < 2^31 in int32 arithmetic, which V8 compiles to integer
// multiply-shifts; the double divisions of the general path cost most of the writer's time.
function writeFixedInt32(buf: Uint8Array, p: number, n: number, k: number): number {
  let digits = n < 100000
    ? (n < 100 ? (n < 10 ? 1 : 2) : n < 1000 ? 3 : n < 10000 ? 4 : 5)
    : (n < 10000000 ? (n < 1000000 ? 6 : 7) : n < 100000000 ? 8 : n < 1000000000 ? 9 : 10);
  if (digits <= k) digits = k + 1; // leading "0."
  const end = p + digits + (k > 0 ? 1 : 0);
  let q = end - 1;
  let t = n;
  for (let i = 0; i < k; i++) {
    const next = (t / 10) | 0;
    buf[q--] = 48 + t - next * 10;
    t = next;
  }
  if (k > 0) buf[q--] = 46; // .
  while (q >= p) {
    const next = (t / 10) | 0;
    buf[q--] = 48 + t - next * 10;
    t = next;
  }
  return end;
}

function writeAscii(buf: Uint8Array, p: number, text: string): number {
  for (let i = 0; i < text.length; i++) buf[p++] = text.charCodeAt(i);
  return p;
}
