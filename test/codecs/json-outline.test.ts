// The WebAssembly outline of a JSON body (nesting depth, numbers that need the reviver): the
// committed .wasm is the build of its .wat, it counts depth outside strings only, it flags every
// number the reviver changes (and not digits inside strings), and parseJson of a body's bytes
// answers exactly as parseJson of the same text (which the regexes outline) on random bodies.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { outlineOf } from '../../src/codecs/json-outline.ts';
import { parseJson } from '../../src/codecs/json.ts';
import { assertBuiltFrom } from '../support/wasm-build.ts';

const outline = (text: string) => outlineOf(Buffer.from(text))!;

// outcome is what parseJson makes of an input: the value, or the refusal's code and message.
function outcome(input: Buffer | string, maxDepth: number): unknown {
  try {
    return { value: parseJson(input, { maxDepth }) };
  } catch (err) {
    const e = err as { code?: string; message: string };
    return { refused: `${e.code}: ${e.message}` };
  }
}

describe('outlineOf', () => {
  it('is committed as the build of its source (npm run build:wasm)', () => assertBuiltFrom('codecs/json-outline'));

  it('gives the deepest nesting of arrays and objects, not counting brackets in strings', () => {
    assert.equal(outline('{"a":[1,[2,{}]]}').depth, 4);
    assert.equal(outline('[]').depth, 1);
    assert.equal(outline('12').depth, 0);
    assert.equal(outline('["[[[{{", "\\"[[", "\\\\"]').depth, 1);
    assert.equal(outline('[[1],[2],[[3]]]').depth, 3);
    assert.equal(outline('[["unterminated [[[[').depth, 2, 'an unterminated string ends the count');
  });

  it('flags an integer part of 16+ digits and an exponent of 3+ digits outside strings', () => {
    for (const text of ['[1234567890123456]', '[-1234567890123456]', '1234567890123456', '{"n":99999999999999999999}', '[1e999]', '[1E+400]', '[2.5e100]', '[0.5,1e308]']) {
      assert.equal(outline(text).mayNeedReviver, true, text);
    }
    for (const text of ['[123456789012345]', '[0.12345678901234567890]', '[-0.30000001192092896]', '[1e-999]', '[1e99]', '["1234567890123456789"]', '{"e999":"1e999"}', '["\\"1234567890123456"]', '[true,false,null]']) {
      assert.equal(outline(text).mayNeedReviver, false, text);
    }
  });

  it('lets parseJson read a body exactly as it reads the same text', () => {
    const number = fc.oneof(
      fc.double({ noNaN: true, noDefaultInfinity: true }).map((v) => JSON.stringify(v)),
      fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }).map(String),
      fc.tuple(fc.integer({ min: -99, max: 99 }), fc.constantFrom('e', 'E', 'e+', 'e-'), fc.integer({ min: 0, max: 1200 })).map(([m, e, x]) => `${m}${e}${x}`),
      fc.stringMatching(/^-?[1-9][0-9]{10,24}(\.[0-9]{1,20})?$/),
    );
    const text = fc.oneof(fc.string(), fc.stringMatching(/^[0-9eE+.\-[\]{}"\\ ]{0,30}$/));
    const value: fc.Arbitrary<string> = fc.letrec((tie) => ({
      value: fc.oneof({ depthSize: 'small', withCrossShrink: true },
        number, text.map((s) => JSON.stringify(s)), fc.constantFrom('true', 'false', 'null'),
        fc.array(tie('value'), { maxLength: 4 }).map((xs) => `[${xs.join(', ')}]`),
        fc.array(fc.tuple(text, tie('value')), { maxLength: 3 }).map((kv) => `{${kv.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`)),
    })).value as fc.Arbitrary<string>;
    // Sometimes cut short: a text that is not JSON must be refused alike.
    const body = fc.tuple(value, fc.integer({ min: 0, max: 4 }), fc.nat()).map(([t, cut, at]) => (cut === 0 ? t.slice(0, at % (t.length + 1)) : t));
    fc.assert(fc.property(body, fc.integer({ min: 1, max: 6 }), (t, maxDepth) => {
      assert.deepStrictEqual(outcome(Buffer.from(t), maxDepth), outcome(t, maxDepth), t);
    }), { numRuns: 3000 });
  });
});
