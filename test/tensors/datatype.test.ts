import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { GatewayError } from '../../src/errors.ts';
import { floatToHalf, fromJsonValues, halfToFloat, toJsonValues, unfilled, type Datatype } from '../../src/tensors/datatype.ts';

test('every datatype round-trips through JSON values', () => {
  const cases: Array<[Datatype, unknown[]]> = [
    ['BOOL', [true, false]], ['UINT8', [0, 255]], ['UINT16', [65535]], ['UINT32', [4294967295]],
    ['UINT64', [0, 18446744073709551615n]], ['INT8', [-128, 127]], ['INT16', [-32768]], ['INT32', [-2147483648]],
    ['INT64', [-9223372036854775808n, 42]], ['FP16', [1, -2.5, 0.0999755859375]], ['FP32', [1.5, -0.25]], ['FP64', [Math.PI]],
    ['BYTES', ['héllo', '']],
  ];
  for (const [dt, values] of cases) assert.deepEqual(toJsonValues(dt, fromJsonValues(dt, values, 't')), values, dt);
});

test('out-of-range, wrong-type and fractional values are bad_tensor naming the element', () => {
  const bad: Array<[Datatype, unknown[], RegExp]> = [
    ['UINT8', [256], /element 0 is number 256, expected an integer in \[0, 255\]/],
    ['INT32', [1, 1.5], /element 1 is number 1.5/], ['BOOL', ['yes'], /true or false/], ['FP32', [null], /null, expected a number/],
    ['INT64', [9223372036854775808n], /INT64/], ['BYTES', [5], /element 0 is number 5, expected a string or/], ['BOOL', [[true]], /element 0 is an array of 1/], ['UINT64', [-1], /UINT64/],
  ];
  for (const [dt, values, re] of bad) {
    assert.throws(() => fromJsonValues(dt, values, 'input "x"'), (err: unknown) =>
      err instanceof GatewayError && err.code === 'bad_tensor' && re.test(err.message) && err.message.startsWith('input "x"'), dt);
  }
});

test('b64 objects become BYTES and invalid UTF-8 comes back as b64', () => {
  const data = fromJsonValues('BYTES', [{ b64: Buffer.from([0xff, 0x00]).toString('base64') }], 't');
  assert.deepEqual(toJsonValues('BYTES', data), [{ b64: '/wA=' }]);
});

test('FP16 conversion rounds once: a double just past a halfway point whose float32 form is the halfway point', () => {
  // 5.845703125 is halfway between two halves; a hair above it must round up, as Math.f16round does.
  for (const x of [5.845703125000001, 5.845703124999999, -5.845703125000001, 65519.99999999999, 2 ** -25 * (1 + 2 ** -40)]) {
    assert.equal(halfToFloat(floatToHalf(x)), Math.f16round(x), String(x));
  }
});

test('FP16 conversion matches Math.f16round for any double', () => {
  fc.assert(fc.property(fc.double(), (x) => {
    const expected = Math.f16round(x);
    const got = halfToFloat(floatToHalf(x));
    return Number.isNaN(expected) ? Number.isNaN(got) : Object.is(got, expected);
  }), { numRuns: 20_000 });
});

test('unfilled arrays own their whole buffer, small or large, and never share one', () => {
  for (const ctor of [Float32Array, Float64Array]) {
    for (const count of [0, 1, 511, 512, 1023, 1024, 150_528]) {
      const a = unfilled(ctor, count);
      const b = unfilled(ctor, count);
      assert.ok(a instanceof ctor);
      assert.equal(a.length, count);
      assert.equal(a.byteOffset, 0);
      assert.equal(a.buffer.byteLength, count * ctor.BYTES_PER_ELEMENT, `${ctor.name} ${count}`);
      if (count > 0) assert.notEqual(a.buffer, b.buffer);
    }
  }
});
