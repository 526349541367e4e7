// The WebAssembly number reader of the row scanner: the committed .wasm is the build of its .wat,
// it reads what it answers exactly as JSON.parse does, leaves to JavaScript the numbers only
// Number() reads exactly, refuses what is not a JSON number, and does not keep a large body's
// memory. (test/codecs/row-scanner.test.ts checks whole bodies against parseJson.)
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { float32Room, loadBody, numbersFilled, readFloat32sAt, readNumbersAt } from '../../src/codecs/row-numbers.ts';
import { scanRowsBody } from '../../src/codecs/row-scanner.ts';
import { assertBuiltFrom } from '../support/wasm-build.ts';

// read gives what the reader makes of one array's numbers (the text ends past its "]").
function read(text: string, from = 0): { end: number; values: number[] } {
  const room = loadBody(Buffer.from(text))!;
  const end = readNumbersAt(0, from);
  return { end, values: end < 0 ? [] : Array.from(room.subarray(from, numbersFilled())) };
}

// readFloat32s is read, writing float32 values.
function readFloat32s(text: string): { end: number; values: number[] } {
  loadBody(Buffer.from(text));
  const end = readFloat32sAt(0, 0);
  return { end, values: end < 0 ? [] : Array.from(float32Room().subarray(0, numbersFilled())) };
}

describe('row-numbers', () => {
  it('is committed as the build of its source (npm run build:wasm)', () => assertBuiltFrom('codecs/row-numbers'));

  it('reads every JSON number form it answers as the double JSON.parse gives, -0 included', () => {
    const text = '1, -0, 2.5e3 ,0.125,\t-7E-2,\n0.001, 9007199254740991, 123456789.5, 1e22, 4.5e-21]}';
    const { end, values } = read(text);
    assert.equal(end, text.indexOf(']'));
    const expected = JSON.parse(`[${text.slice(0, end)}]`) as number[];
    assert.equal(values.length, expected.length);
    values.forEach((v, k) => assert.ok(Object.is(v, expected[k]), `${k}: ${v} is not ${expected[k]}`));
  });

  it('writes after the doubles already read, and counts them all', () => {
    const { values } = read(`5,6]}${' '.repeat(12)}`, 3); // room for 8
    assert.deepEqual(values, [5, 6]);
    assert.equal(numbersFilled(), 5);
  });

  it('leaves to JavaScript the numbers only Number() reads exactly', () => {
    // 20 digits; a mantissa past 2^53; powers of ten beyond 10^22 either way; 17 significant digits.
    for (const n of ['12345678901234567890', '9007199254740993', '1e23', '1.5e-22', '0.30000000000000004', '1, 2, 3e400']) {
      assert.equal(read(`${n}]}`).end, -2, n);
    }
  });

  it('reading float32 values, counts only significant digits: zeros after "0." add nothing to a mantissa; each number counts afresh', () => {
    // 20 fraction digits, 4 of them significant.
    const { values } = readFloat32s('0.00000000000000001234, 0.000000000001]}');
    assert.deepEqual(values, [Math.fround(0.00000000000000001234), Math.fround(0.000000000001)]);
    // A 24-digit integer after a number with 11 leading zeros: still past 19 digits (m would wrap).
    assert.equal(readFloat32s('0.000000000001,123456789012345678901234]}').end, -2);
  });

  it('reads float32 values, each Math.fround of the double JSON.parse gives: 17-digit doubles too, and refuses near a rounding midpoint', () => {
    let seed = 99;
    const next = (): number => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return seed / 2 ** 32; };
    const one = new Float32Array(1);
    const bits = new Uint32Array(one.buffer);
    const texts: string[] = [];
    // Float32 values widened to double, as Triton prints them (17 digits, e-notation below 1e-6),
    // over exponents 2^-27..2^46; doubles of every magnitude; and the doubles around float32
    // rounding midpoints, within a few ulps either side.
    for (let k = 0; k < 60_000; k++) {
      bits[0] = (((((next() * 74) | 0) + 100) << 23) | ((next() * 2 ** 23) >>> 0)) >>> 0;
      texts.push(String(next() < 0.5 ? one[0]! : -one[0]!));
      texts.push(String((next() - 0.5) * 10 ** ((next() * 40 - 20) | 0)));
    }
    for (let k = 0; k < 10_000; k++) {
      bits[0] = (((((next() * 60) | 0) + 110) << 23) | ((next() * 2 ** 23) >>> 0)) >>> 0;
      const a = one[0]!;
      bits[0]! += 1;
      const mid = (a + one[0]!) / 2;
      for (const d of [-6, -3, -1, 0, 1, 3, 6, 40]) texts.push(String(mid + d * mid * 2 ** -52));
    }
    texts.push('0', '-0', '1', '0.1', '16777217', '3.4028234663852886e38', '1e-38', '1.401298464324817e-45', '1e-7');
    let decided = 0;
    for (const t of texts) {
      const { end, values } = readFloat32s(`${t}]}`);
      const want = Math.fround(JSON.parse(t) as number);
      if (end === -2) continue; // Number() decides
      decided++;
      assert.equal(end, t.length, t);
      assert.ok(Object.is(values[0], want), `${t}: ${values[0]} is not ${want}`);
    }
    assert.ok(decided > texts.length * 0.8, `only ${decided} of ${texts.length} decided`);
    // Widened float32 values are all decided (none lies near a midpoint).
    const widened = '0.12300000339746475, -7.450580596923828e-9, 0.00010307610500603914]}';
    assert.equal(readFloat32s(widened).end, widened.indexOf(']'));
  });

  it('refuses what is not a JSON number', () => {
    for (const n of ['01', '-', '-a', '1.', '1.e5', '1e', '1e+', '.5', '+1', 'NaN', '"1"', '1,,2', '1,]']) {
      assert.equal(read(`${n}]}`).end, -1, n);
    }
  });

  it('hands each block its own copy: the next body does not change the last one', () => {
    const first = scanRowsBody(Buffer.from('{"instances": [[1.5, 2.5]]}'))!;
    scanRowsBody(Buffer.from('{"instances": [[7, 8, 9]]}'));
    assert.deepEqual(Array.from(first.block.values), [1.5, 2.5]);
  });

  it('does not keep the memory a large body made it grow to', () => {
    const large = Buffer.from(`{"instances": [${'0.5,'.repeat(2_500_000)}0.5]}`);
    assert.equal(scanRowsBody(large)!.block.values.length, 2_500_001);
    assert.ok(loadBody(Buffer.from('1]}'))!.buffer.byteLength <= 1 << 20, 'a 10 MB body left its memory behind');
    // Nor one it could not read (a ragged last row): that body is parseJson's.
    assert.equal(scanRowsBody(Buffer.from(`{"instances": [${'[0.5],'.repeat(1_500_000)}[0.5, 1]]}`)), undefined);
    assert.ok(loadBody(Buffer.from('1]}'))!.buffer.byteLength <= 1 << 20, 'a 10 MB body it gave up on left its memory behind');
  });
});
