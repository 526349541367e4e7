// predictionsJson against JSON.stringify: the same bytes for rows of numbers of every kind (the
// float32 values an FP32 model answers are printed in WebAssembly, float-text.wat, which must
// give exactly String()'s shortest digits), and undefined for anything else; the committed
// float-text.wasm is the build of its source.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { predictionsJson } from '../../src/codecs/predictions-json.ts';
import { assertBuiltFrom } from '../support/wasm-build.ts';

// Small answers are left to JSON.stringify (they cost less that way): each one checked here
// carries 100 more numbers, so that it is written.
const filler = Array.from({ length: 100 }, (_, i) => Math.fround(i / 7));
const same = (rows: unknown[]): void => {
  const predictions = [...rows, filler];
  const want = JSON.stringify({ predictions });
  const got = predictionsJson(predictions);
  assert.ok(got !== undefined, want.slice(0, 80));
  assert.equal(got.toString('latin1'), want);
};

describe('predictionsJson', () => {
  it('is the build of float-text.wat', async () => {
    await assertBuiltFrom('codecs/float-text');
  });

  it('writes every float32 value as String() does: random bit patterns, all exponents', () => {
    // 200,000 float32 values from random bits, in rows of 8 (about a tenth of them in [1e-6, 1e16),
    // the range the module prints; the rest go to String()), then 200,000 in that range.
    const bits = new Uint32Array(8);
    const f32 = new Float32Array(bits.buffer);
    let seed = 2026;
    const next = (): number => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return seed; };
    for (const inRange of [false, true]) {
      const rows: number[][] = [];
      for (let r = 0; r < 25_000; r++) {
        for (let k = 0; k < 8; k++) {
          bits[k] = inRange ? ((next() & 0x807fffff) | (((next() % 74) + 107) << 23)) >>> 0 : (next() ^ (next() << 7)) >>> 0;
        }
        rows.push(Array.from(f32));
      }
      same(rows);
    }
  });

  it('writes the hard cases as String() does: powers of two and their neighbours, near powers of ten, integers, short decimals', () => {
    const one = new Float32Array(1);
    const word = new Uint32Array(one.buffer);
    const values: number[] = [];
    const around = (x: number): void => {
      one[0] = x;
      const w = word[0]!;
      for (let d = -3; d <= 3; d++) { word[0] = w + d; values.push(one[0]!, -one[0]!); }
    };
    for (let e = -40; e <= 60; e++) around(2 ** e);
    for (let k = -8; k <= 17; k++) around(Number(`1e${k}`));
    for (let v = 0; v < 20_000; v++) values.push(Math.fround(v), Math.fround(v / 1000), Math.fround(v / 997), Math.fround(v * 1e-6), Math.fround(v * 1e11));
    values.push(Math.fround(1e-6), Math.fround(9.999999e15), 16777216, 16777217, 3.4028234663852886e38, 1.401298464324817e-45, -0, 0);
    same(values);
  });

  it('matches JSON.stringify for any rows of numbers, nulls and holes, nested to any shape', () => {
    const number = fc.oneof(fc.float().map(Number), fc.double(), fc.integer(), fc.constantFrom(NaN, Infinity, -Infinity, -0, 1e21, 1e-7, 2 ** 53));
    const element = fc.oneof({ weight: 8, arbitrary: number }, { weight: 1, arbitrary: fc.constantFrom(null, undefined) });
    const rows = fc.letrec((tie) => ({
      value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, element, tie('array')),
      array: fc.array(tie('value'), { maxLength: 6 }),
    })).array as fc.Arbitrary<unknown[]>;
    fc.assert(fc.property(rows, (predictions) => same(predictions)), { numRuns: 2000 });
    const holes: unknown[] = [1, , 3]; // eslint-disable-line no-sparse-arrays
    same(holes);
  });

  it('leaves to JSON.stringify anything but numbers and arrays, nesting past 64, and a small answer', () => {
    for (const p of [[{ a: 1 }], ['cat'], [[1, 'x']], [true], [1n]]) assert.equal(predictionsJson([...p, filler] as unknown[]), undefined);
    // The predictions array is level 1: 63 arrays inside it are written, 64 are not.
    let deep: unknown[] = [1];
    for (let d = 1; d < 64; d++) deep = [deep];
    assert.equal(predictionsJson([deep, filler]), undefined);
    assert.ok(predictionsJson([deep[0], filler]) !== undefined);
    assert.equal(predictionsJson([[0.5, 1], [2, 3]]), undefined);
  });

  it('gives up on a non-number however late it comes, and the next answer is whole', () => {
    const rows = Array.from({ length: 2000 }, (_, i) => [Math.fround(i / 7), Math.fround(i / 3)]);
    for (const late of [[...rows, ['cat']], [...rows, [1, [2, { a: 1 }]]], [...rows.slice(1), [true]]]) {
      assert.equal(predictionsJson(late as unknown[]), undefined);
      same(rows);
    }
  });

  it('writes long rows and numbers after a long inner row, of the longest number texts', () => {
    // The longest texts (24 bytes each, written by String()), past the memory the module keeps.
    const long = (i: number): number => -(1.2345678901234567 + i * 1e-15) * 1e-300;
    same([Array.from({ length: 120_000 }, (_, i) => Math.fround(i / 7))]);
    same([Array.from({ length: 50_000 }, (_, i) => long(i)), ...Array.from({ length: 6000 }, (_, i) => long(i))]);
    same([[[Array.from({ length: 45_000 }, (_, i) => long(i))], ...Array.from({ length: 3000 }, (_, i) => long(i))], filler]);
  });

  it('writes an answer past the memory it keeps, then a small one as well (a fresh module, its tables filled again)', () => {
    const big = Array.from({ length: 60_000 }, (_, i) => [Math.fround(i / 7), Math.fround(-i / 3)]);
    same(big);
    same([[Math.fround(0.1), Math.fround(2.5)], [Math.fround(1e-5), 123456]]);
  });
});
