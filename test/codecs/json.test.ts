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
