import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseJson, stringifyJson } from '../../src/codecs/json.ts';
import { GatewayError } from '../../src/errors.ts';

const code = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof GatewayError);
    return `${err.code}: ${err.message}`;
  }
  return 'accepted';
};

test('integers beyond 2^53 survive a round trip exactly', () => {
  const text = '{"data":[9223372036854775807,-9223372036854775808,18446744073709551615,1,2.5]}';
  const v = parseJson(text) as { data: unknown[] };
  assert.equal(v.data[0], 9223372036854775807n);
  assert.equal(v.data[1], -9223372036854775808n);
  assert.equal(v.data[3], 1);
  assert.equal(stringifyJson(v), text);
});

test('digits inside strings do not trigger BigInt conversion', () => {
  const v = parseJson('{"id":"12345678901234567890","n":12345678901234567}') as { id: string; n: unknown };
  assert.equal(v.id, '12345678901234567890');
  assert.equal(v.n, 12345678901234567n, 'an unsafe integer literal keeps its digits');
});

test('nesting beyond the limit is refused before parsing; strings with brackets do not count', () => {
  assert.match(code(() => parseJson('[[[[1]]]]', { maxDepth: 3 })), /^invalid_json: request body nests 4 levels/);
  assert.equal(code(() => parseJson('["[[[[[[", {"a": "{{{{"}]', { maxDepth: 2 })), 'accepted');
  assert.match(code(() => parseJson('['.repeat(100_000))), /^invalid_json: .*nests 100000 levels/);
});

test('invalid JSON and invalid UTF-8 are 400 invalid_json with a reason', () => {
  assert.match(code(() => parseJson('{"a":')), /^invalid_json: request body is not valid JSON/);
  assert.match(code(() => parseJson(Buffer.from([0x7b, 0xff, 0x7d]))), /not valid UTF-8/);
  assert.match(code(() => parseJson('NaN')), /^invalid_json/);
  assert.match(code(() => parseJson('{"a":1}x', { what: 'backend answer' })), /backend answer is not valid JSON/);
});

// Whatever shape a number takes in the text, the fast path (no reviver unless the text may hold
// an unsafe number) reads it exactly as always reviving would: BigInt for integers beyond 2^53,
// a refusal for literals that overflow, the plain double otherwise.
test('property: every number literal reads as the always-reviving parse reads it', async () => {
  const fc = (await import('fast-check')).default;
  const reference = (text: string): unknown => JSON.parse(text, ((_k: string, v: unknown, ctx?: { source?: string }) => {
    if (typeof v !== 'number' || ctx?.source === undefined) return v;
    if (/^-?\d+$/.test(ctx.source) && !Number.isSafeInteger(v)) return BigInt(ctx.source);
    if (!Number.isFinite(v)) throw new Error('non-finite');
    return v;
  }) as never);
  const digits = (min: number, max: number) => fc.string({ unit: fc.constantFrom(...'0123456789'), minLength: min, maxLength: max });
  const literal = fc.oneof(
    fc.double({ noNaN: true, noDefaultInfinity: true }).map((d) => JSON.stringify(d)),
    fc.bigInt({ min: -(2n ** 80n), max: 2n ** 80n }).map(String),
    // The edges: 16-digit integers around 2^53, and exponents around the double's range.
    fc.bigInt({ min: 2n ** 53n - 100n, max: 10n ** 16n - 1n }).map((b) => (b % 2n === 0n ? `-${b}` : String(b))),
    fc.integer({ min: 300, max: 330 }).map((e) => `1.5e${e}`),
    fc.tuple(fc.constantFrom('', '-'), digits(1, 1).filter((d) => d !== '0'), digits(0, 30), fc.option(digits(1, 20)), fc.option(fc.tuple(fc.constantFrom('e', 'E'), fc.constantFrom('', '+', '-'), digits(1, 4))))
      .map(([sign, first, rest, frac, exp]) => `${sign}${first}${rest}${frac === null ? '' : `.${frac}`}${exp === null ? '' : exp.join('')}`),
  );
  fc.assert(fc.property(fc.array(literal, { maxLength: 8 }), (lits) => {
    const text = `{"instances":[${lits.join(',')}],"s":"${lits.join(' ')}"}`;
    let expected: unknown;
    try {
      expected = reference(text);
    } catch {
      assert.throws(() => parseJson(text), (e: GatewayError) => e.code === 'invalid_json' && /Infinity/.test(e.message), text);
      return;
    }
    assert.deepEqual(parseJson(text), expected, text);
  }), { numRuns: 3000, seed: 11 });
});

// parseJson parses without a reviver unless a quick look at the text finds a number the reviver
// would change. Whatever the text, the answer must be the one the reviver would always give: a
// miss here reads a long integer as a rounded double, or 1e999 as Infinity, without a word.
test('the quick look before the parse never misses a long integer or an overflowing exponent', async () => {
  const fc = (await import('fast-check')).default;
  const always = (text: string): unknown => {
    try {
      return JSON.parse(text, (_k, v: unknown, ctx?: { source?: string }) => {
        if (typeof v === 'number' && !Number.isSafeInteger(v) && ctx?.source !== undefined) {
          if (/^-?\d+$/.test(ctx.source)) return BigInt(ctx.source);
          if (!Number.isFinite(v)) throw new Error('non-finite');
        }
        return v;
      });
    } catch {
      return 'refused';
    }
  };
  const digits = fc.stringMatching(/^[0-9]{1,20}$/);
  const number = fc.tuple(fc.boolean(), digits, fc.option(digits), fc.option(fc.tuple(fc.constantFrom('e', 'E', 'e+', 'E-', 'e-'), fc.stringMatching(/^[0-9]{1,4}$/))))
    .map(([neg, int, frac, exp]) => `${neg ? '-' : ''}${int.replace(/^0+(?=\d)/, '')}${frac === null ? '' : `.${frac}`}${exp === null ? '' : exp.join('')}`);
  const doc = fc.oneof(number, fc.array(number, { maxLength: 6 }).map((xs) => `[${xs.join(',')}]`),
    fc.array(number, { maxLength: 4 }).map((xs) => `{"data":[${xs.join(', ')}],"s":"x${xs[0] ?? ''}"}`));
  fc.assert(fc.property(doc, (text) => {
    let ours: unknown;
    try {
      ours = parseJson(text);
    } catch {
      ours = 'refused';
    }
    assert.deepStrictEqual(ours, always(text), text);
  }), { numRuns: 3000 });
  // The three places a long integer can start: the text's first byte, after a sign, after a bracket.
  assert.equal(parseJson('12345678901234567890'), 12345678901234567890n);
  assert.deepEqual(parseJson('[-12345678901234567890]'), [-12345678901234567890n]);
  assert.deepEqual(parseJson('{"a":12345678901234567890}'), { a: 12345678901234567890n });
  assert.match(code(() => parseJson('[1E400]')), /invalid_json: .*too large for a double/);
});
