// The WebAssembly number reader of the row scanner: the committed .wasm is the build of its .wat,
// it reads what it answers exactly as JSON.parse does, leaves to JavaScript the numbers only
// Number() reads exactly, refuses what is not a JSON number, and does not keep a large body's
// memory. (test/codecs/row-scanner.test.ts checks whole bodies against parseJson.)
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadBody, numbersFilled, readNumbersAt } from '../../src/codecs/row-numbers.ts';
import { scanRowsBody } from '../../src/codecs/row-scanner.ts';
import { assertBuiltFrom } from '../support/wasm-build.ts';

// read gives what the reader makes of one array's numbers (the text ends past its "]").
function read(text: string, from = 0): { end: number; values: number[] } {
  const room = loadBody(Buffer.from(text))!;
  const end = readNumbersAt(0, from);
  return { end, values: end < 0 ? [] : Array.from(room.subarray(from, numbersFilled())) };
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
