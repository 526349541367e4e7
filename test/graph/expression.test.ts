// expression.ts: the switch conditions' language — what each operator means, what a path reads
// (own keys only, lower-case header names), and syntax errors with their position, hostile
// input included (deep nesting, huge texts, prototype keys).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkExpression, compileExpression, ExpressionError, maxExpressionDepth, maxExpressionLength, type Scope } from '../../src/graph/expression.ts';

const scope = (parameters: Record<string, unknown> = {}, headers: Record<string, string | string[]> = {}, instances?: unknown[]): Scope =>
  ({ parameters, headers, ...(instances === undefined ? {} : { instances }) });
const holds = (text: string, s: Scope = scope()): boolean => compileExpression(text)(s);

function fails(text: string, message: RegExp, position?: number): void {
  const error = checkExpression(text);
  assert.ok(error instanceof ExpressionError, `${text} should not parse`);
  assert.match(error.message, message);
  if (position !== undefined) assert.equal(error.position, position, error.message);
  assert.throws(() => compileExpression(text), ExpressionError);
}

test('== and != compare strings, numbers and booleans strictly; a missing value equals null', () => {
  const s = scope({ lang: 'de', n: 3, on: true });
  assert.equal(holds("parameters.lang == 'de'", s), true);
  assert.equal(holds('parameters.lang == "en"', s), false);
  assert.equal(holds("parameters.lang != 'en'", s), true);
  assert.equal(holds('parameters.n == 3', s), true);
  assert.equal(holds("parameters.n == '3'", s), false);
  assert.equal(holds('parameters.on == true', s), true);
  assert.equal(holds('parameters.missing == null', s), true);
  assert.equal(holds('parameters.lang == null', s), false);
  assert.equal(holds("parameters.missing == ''", s), false);
});

test('< <= > >= order two numbers or two strings, and nothing else', () => {
  const s = scope({ n: 3, v: 'b' });
  assert.equal(holds('parameters.n < 4', s), true);
  assert.equal(holds('parameters.n <= 3', s), true);
  assert.equal(holds('parameters.n > 3', s), false);
  assert.equal(holds('parameters.n >= -1.5e0', s), true);
  assert.equal(holds("parameters.v > 'a'", s), true);
  assert.equal(holds("parameters.n < '4'", s), false);
  assert.equal(holds('parameters.missing < 4', s), false);
  assert.equal(holds('parameters.missing >= 4', s), false);
});

test('&& binds tighter than ||; ! and parentheses', () => {
  assert.equal(holds('true || false && false'), true);
  assert.equal(holds('(true || false) && false'), false);
  assert.equal(holds('!false && !(1 == 2)'), true);
  assert.equal(holds('!!true'), true);
});

test('in [..] tests membership; an empty list holds nothing', () => {
  const s = scope({ lang: 'de', n: 2 });
  assert.equal(holds("parameters.lang in ['en', 'de']", s), true);
  assert.equal(holds("parameters.lang in ['en']", s), false);
  assert.equal(holds('parameters.n in [1, 2, 3]', s), true);
  assert.equal(holds('parameters.lang in []', s), false);
  assert.equal(holds('parameters.missing in [null]', s), true);
});

test('a bare path holds when its value is truthy', () => {
  assert.equal(holds('parameters.debug', scope({ debug: true })), true);
  for (const v of [false, 0, '', null]) assert.equal(holds('parameters.debug', scope({ debug: v })), false, String(v));
  assert.equal(holds('parameters.debug', scope()), false);
});

test('paths: nested parameters, lower-case headers (several values joined), instances.length', () => {
  assert.equal(holds("parameters.a.b.c == 'x'", scope({ a: { b: { c: 'x' } } })), true);
  assert.equal(holds('parameters.a.b == null', scope({ a: 'not an object' })), true);
  assert.equal(holds("headers.x-tenant == 'acme'", scope({}, { 'x-tenant': 'acme' })), true);
  assert.equal(holds("headers.x-tags == 'a, b'", scope({}, { 'x-tags': ['a', 'b'] })), true);
  assert.equal(holds('instances.length > 2', scope({}, {}, [1, 2, 3])), true);
  assert.equal(holds('instances.length == null', scope()), true);
});

test('a path reads own keys only: nothing of the prototype', () => {
  assert.equal(holds('parameters.constructor', scope()), false);
  assert.equal(holds('parameters.toString == null', scope()), true);
  assert.equal(holds('parameters.__proto__ == null', scope()), true);
  assert.equal(holds('headers.constructor == null', scope()), true);
});

test('strings take escapes', () => {
  assert.equal(holds(String.raw`parameters.q == 'it\'s "a" \\ b\n'`, scope({ q: 'it\'s "a" \\ b\n' })), true);
  fails(String.raw`parameters.q == 'bad \x'`, /unknown escape "\\x" in a string at position 22/);
});

test('syntax errors name the position', () => {
  fails("parameters.lang = 'de'", /unexpected character "=" \(compare with ==\) at position 17/, 17);
  fails("parameters.lang == 'de", /unterminated string at position 20/, 20);
  fails('(parameters.a == 1', /expected "\)" but found the end at position 19/, 19);
  fails('parameters.a == 1)', /unexpected "\)" at position 18/, 18);
  fails('parameters.a ==', /expected a value, a path or "\(" but found the end at position 16/);
  fails('parameters.a & parameters.b', /\(use &&\) at position 14/);
  fails('parameters.a | parameters.b', /\(use \|\|\) at position 14/);
  fails('parameters.a == 1 == 2', /unexpected "==" at position 19/);
  fails("parameters.a in 'x'", /expected "\[" but found "'x'" at position 17/);
  fails('parameters.a in [parameters.b]', /expected a string, number, true, false or null in the list but found "parameters" at position 18/);
  fails('parameters.a in [1, 2', /expected "," but found the end/);
  fails('', /the expression is empty at position 1/);
  fails('   ', /the expression is empty/);
  fails('#', /unexpected character "#" at position 1/);
  fails('parameters.', /expected a name after "\." but found the end at position 12/);
});

test('paths must start with a known root and be complete', () => {
  fails("lang == 'de'", /unknown name "lang"; a path starts with parameters\., headers\. or instances\. at position 1/);
  fails('parameters == 1', /expected parameters\.NAME at position 1/);
  fails('headers.a.b', /expected headers\.NAME \(one header name\)/);
  fails("headers.X-Tenant == 'a'", /header names are lower-case: headers\.x-tenant at position 1/);
  fails('instances.first', /of instances only instances\.length can be read/);
  fails('1e999 == 1', /number 1e999 is out of range at position 1/);
});

test('hostile input: nesting deeper than the bound is refused, not a stack overflow', () => {
  const ok = `${'('.repeat(maxExpressionDepth)}true${')'.repeat(maxExpressionDepth)}`;
  assert.equal(holds(ok), true);
  fails(`${'('.repeat(maxExpressionDepth + 1)}true${')'.repeat(maxExpressionDepth + 1)}`, new RegExp(`nests deeper than ${maxExpressionDepth} at position ${maxExpressionDepth + 1}`));
  fails(`${'!'.repeat(maxExpressionDepth + 1)}true`, /nests deeper than/);
  fails('('.repeat(400), /nests deeper than/);
  fails('!'.repeat(400), /nests deeper than/);
});

test('hostile input: a text longer than the bound is refused before it is read', () => {
  const long = `parameters.a == '${'x'.repeat(maxExpressionLength)}'`;
  fails(long, new RegExp(`longer than ${maxExpressionLength} characters`));
  const atBound = `parameters.a == '${'x'.repeat(maxExpressionLength - 18)}'`;
  assert.equal(atBound.length, maxExpressionLength);
  assert.equal(holds(atBound, scope({ a: 'x'.repeat(maxExpressionLength - 18) })), true);
  // Long flat chains stay within the bound and parse without recursion per operator.
  const chain = Array.from({ length: 50 }, (_, i) => `parameters.a${i}`).join(' || ');
  assert.ok(chain.length <= maxExpressionLength);
  assert.equal(holds(chain, scope({ a49: true })), true);
  assert.equal(holds(chain, scope()), false);
});
