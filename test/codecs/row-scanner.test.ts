// The row scanner against the parser it stands in for: whenever scanRowsBody answers, parseJson +
// readRows give the same rows (the same doubles, -0 included) and parameters; where it does not
// answer, they are left to decide (and refuse) as before. Random bodies and edge cases.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseJson } from '../../src/codecs/json.ts';
import { scanRowsBody } from '../../src/codecs/row-scanner.ts';
import { readRows } from '../../src/frontends/body.ts';
import { rowsOfBlock } from '../../src/tensors/row-block.ts';

// oracle is what the frontend made of a body before the scanner: the rows request, or the refusal.
function oracle(text: string, maxDepth = 64): { ok: true; instances: unknown[]; parameters?: unknown } | { ok: false; code: string } {
  try {
    const doc = parseJson(Buffer.from(text), { maxDepth });
    if (typeof doc === 'object' && doc !== null && !Array.isArray(doc) && (doc as Record<string, unknown>).inputs !== undefined) return { ok: false, code: 'v2' };
    const req = readRows(doc, true);
    return { ok: true, instances: req.instances!, ...(req.parameters === undefined ? {} : { parameters: req.parameters }) };
  } catch (err) {
    return { ok: false, code: (err as { code: string }).code };
  }
}

// agrees checks the scanner against the oracle and says whether the scanner answered.
function agrees(text: string, maxDepth = 64): boolean {
  const scanned = scanRowsBody(Buffer.from(text), maxDepth);
  if (scanned === undefined) return false;
  const expected = oracle(text, maxDepth);
  assert.ok(expected.ok, `the scanner answered a body parseJson/readRows refuse (${expected.ok ? '' : expected.code}): ${text.slice(0, 200)}`);
  assert.deepStrictEqual(rowsOfBlock(scanned.block), expected.instances, text.slice(0, 200));
  assert.deepStrictEqual(scanned.parameters, expected.parameters, text.slice(0, 200));
  assert.equal(scanned.block.values.buffer.byteLength, scanned.block.values.byteLength, 'the block owns its buffer');
  return true;
}

describe('scanRowsBody', () => {
  it('answers rows of numbers in every JSON number form, exactly as JSON.parse reads them', () => {
    const answered = [
      '{"instances": [[1, 2], [3, 4]]}',
      '{"instances":[0.1,0.2,0.30000000000000004]}',
      ' \n\t{ "instances" : [ [ -0 , -0.0 , 0e5 , -1E-3 ] ] , "parameters" : { "k" : [1, {"a": "b"}] } } \r\n',
      '{"parameters": {}, "instances": [[[1.5e2, 2.5E+2], [1e-7, 123456789012345]]]}',
      '{"instances": [[1.7976931348623157e308, 5e-324, 2.2250738585072014e-308, 1e-400]]}',
      '{"instances": [[0.1234567890123456789, 12345678901234567890.5, 1e22, 1e23, 9007199254740991, -9007199254740991]]}',
      '{"instances": [[3.0000000000000004, 4.35, 8.41e21, 1.0e-5, 123.456e-2]]}',
      '{"instances": [1], "other": [true, null, "x\\"]", {"y": [[]]}], "__proto__": {"instances": 5}}',
      '{"instances": [[[[[[1]]]]]]}',
      '{"instances": [[1.5, 2]], "parameters": {"big": 12345678901234567890}}',
      // Mantissas around 2^53, the one-operation path's bound, and long runs of leading zeros.
      '{"instances": [[9007199254740.991, 900719925474.0992, 0.9007199254740993, 90071992547409.93e-3, 0.0000000000000000001234]]}',
      '{"instances": [[1234567890123456, 0.1234567890123456, 1.7976931348623157, 4503599627370495.5, 0.00000000000000000000009]]}',
    ];
    for (const text of answered) assert.ok(agrees(text), `not answered: ${text}`);
  });

  it('leaves to parseJson/readRows every body that is not rows of numbers, or that they refuse', () => {
    const left = [
      '', '{}', '[]', '{"instances": []}', '{"instances": [[]]}', '{"instances": [[1], []]}', '{"instances": 5}',
      '{"instances": [[1, 2], [3]]}', '{"instances": [[1, 2], 3]}', '{"instances": [1, [2]]}', '{"instances": [[1, [2]]]}',
      '{"instances": [["1"]]}', '{"instances": [[1, null]]}', '{"instances": [[true]]}', '{"instances": [{"x": 1}]}',
      '{"instances": [[NaN]]}', '{"instances": [[Infinity]]}', '{"instances": [[-]]}', '{"instances": [[01]]}', '{"instances": [[1.]]}',
      '{"instances": [[.5]]}', '{"instances": [[+1]]}', '{"instances": [[1e]]}', '{"instances": [[1,]]}', '{"instances": [[1 2]]}',
      '{"instances": [[1e999]]}', '{"instances": [[-1e400]]}', '{"instances": [[9007199254740993]]}', '{"instances": [[9007199254740992]]}',
      '{"instances": [[1]], "instances": [[2]]}', '{"instances": [[1]], "parameters": 5}', '{"instances": [[1]], "parameters": [1]}',
      '{"instances": [[1]], "parameters": {}, "parameters": {"a": 1}}', '{"instances": [[1]], "inputs": []}',
      '{"\\u0069nstances": [[1]]}', '{"instances": [[1]]} x', '{"instances": [[1]]', '{"instances": [[1]],}', '\uFEFF{"instances": [[1]]}',
      '{"instances": [[1]], "x": tru}',
      // Truncated or unterminated bodies (the number loop relies on the closing brace) and
      // control characters where JSON allows only space.
      '{"instances": [[1, 2', '{"instances": [[1, 2]]} }x', '{"instances": [[1e5', '{"instances": [[12345', '{"instances": [[1,\u0001 2]]}',
      '{"instances": [[1\u0001]]}', '{"instances": [[1]]\u000b}', '{"instances": [[1]]}\u0000', '}',
    ];
    for (const text of left) assert.equal(scanRowsBody(Buffer.from(text)), undefined, text);
    // Invalid UTF-8 next to the rows: the parser's refusal, not the scanner's answer.
    assert.equal(scanRowsBody(Buffer.concat([Buffer.from('{"instances": [[1]], "x": "'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')])), undefined);
  });

  it('keeps parseJson\'s nesting limit for the whole body', () => {
    const deep = (levels: number): string => `{"instances": ${'['.repeat(levels)}1${']'.repeat(levels)}}`;
    assert.ok(agrees(deep(63), 64)); // 64 levels with the object
    assert.equal(scanRowsBody(Buffer.from(deep(64)), 64), undefined);
    assert.equal(oracle(deep(64), 64).ok, false);
    const deepParameters = (levels: number): string => `{"instances": [[1]], "p": ${'['.repeat(levels)}${']'.repeat(levels)}}`;
    assert.ok(agrees(deepParameters(63), 64));
    assert.equal(scanRowsBody(Buffer.from(deepParameters(64)), 64), undefined);
    assert.ok(agrees(deep(3), 4));
    assert.equal(scanRowsBody(Buffer.from(deep(4)), 4), undefined);
  });

  it('reads a large image body (1×3×224×224) the same as JSON.parse', () => {
    let seed = 3;
    const rand = (): number => { seed = (seed * 16807) % 2147483647; return seed / 2147483647; };
    const image = [Array.from({ length: 3 }, () => Array.from({ length: 224 }, () => Array.from({ length: 224 }, () => Math.round(rand() * 1000) / 1000)))];
    assert.ok(agrees(JSON.stringify({ instances: image })));
    // The block owns its doubles (a buffer of its own, not the scanner's memory): the next scan
    // leaves them as they were.
    const first = scanRowsBody(Buffer.from(JSON.stringify({ instances: image })))!.block.values;
    assert.equal(first.byteOffset, 0);
    assert.equal(first.buffer.byteLength, first.byteLength);
    scanRowsBody(Buffer.from(JSON.stringify({ instances: [image[0]!.map((plane) => plane.map((row) => row.map(() => 7)))] })));
    assert.deepStrictEqual(first, new Float64Array(image.flat(3)));
    // Doubles in JavaScript's shortest form (up to 17 significant digits), through the slow path;
    // below 1e15, so none is written as an integer beyond 2^53 (parseJson's BigInt).
    const wide = [Array.from({ length: 5000 }, () => (rand() - 0.5) * 10 ** Math.floor(rand() * 35 - 20))];
    assert.ok(agrees(JSON.stringify({ instances: wide })));
  });

  // numberText writes a double the many ways JSON allows, or a string/literal that is not one.
  const numberText = fc.oneof(
    { weight: 6, arbitrary: fc.double({ noNaN: true, noDefaultInfinity: true }).map((v) => JSON.stringify(v)) },
    { weight: 3, arbitrary: fc.integer({ min: -99999, max: 99999 }).chain((n) => fc.integer({ min: 0, max: 6 }).map((k) => (n / 10 ** k).toFixed(k))) },
    { weight: 2, arbitrary: fc.tuple(fc.integer({ min: -999, max: 999 }), fc.constantFrom('e', 'E'), fc.constantFrom('', '+', '-'), fc.integer({ min: 0, max: 400 })).map(([m, e, s, x]) => `${m}${e}${s}${x}`) },
    { weight: 2, arbitrary: fc.bigInt({ min: -(2n ** 64n), max: 2n ** 64n }).map(String) },
    // Digit runs either side of the nine the scanner adds up as int32, split anywhere by the point.
    { weight: 3, arbitrary: fc.tuple(fc.stringMatching(/^[1-9][0-9]{0,11}$/), fc.stringMatching(/^[0-9]{0,12}$/), fc.boolean()).map(([int, frac, neg]) => `${neg ? '-' : ''}${int}${frac === '' ? '' : `.${frac}`}`) },
    { weight: 1, arbitrary: fc.constantFrom('-0', '-0.0', '0', '1.0', '"1"', 'null', 'true', '1.', '.5', '01', '-', '1e', 'NaN', '[]', '{}') },
  );
  const space = fc.constantFrom('', '', '', ' ', '\n', '\t ', '\r\n  ');

  // rowsText builds instances of random shape; `ragged` sometimes drops or adds an element.
  const body = fc.record({
    shape: fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 4 }),
    seedNumbers: fc.array(numberText, { minLength: 1, maxLength: 40 }),
    ragged: fc.integer({ min: 0, max: 9 }),
    ws: fc.array(space, { minLength: 1, maxLength: 8 }),
    parameters: fc.option(fc.jsonValue(), { nil: undefined }),
    order: fc.boolean(),
  }).map(({ shape, seedNumbers, ragged, ws, parameters, order }) => {
    let k = 0;
    const w = (): string => ws[k++ % ws.length]!;
    const build = (dims: number[]): string => {
      if (dims.length === 0) return seedNumbers[k++ % seedNumbers.length]!;
      let n = dims[0]!;
      if (ragged === 0 && k % 7 === 3) n += k % 2 === 0 ? 1 : -1;
      const items = Array.from({ length: Math.max(n, 0) }, () => `${w()}${build(dims.slice(1))}${w()}`);
      return `[${items.join(',')}]`;
    };
    const rows = `"instances"${w()}:${w()}${build(shape)}`;
    const params = parameters === undefined ? undefined : `"parameters":${w()}${JSON.stringify(parameters)}`;
    const members = params === undefined ? [rows] : order ? [rows, params] : [params, rows];
    return `${w()}{${w()}${members.join(`${w()},${w()}`)}${w()}}${w()}`;
  });

  it('agrees with parseJson + readRows on random bodies, and answers most rows of numbers', () => {
    let answered = 0;
    let numeric = 0;
    fc.assert(fc.property(body, (text) => {
      const expected = oracle(text);
      const plain = expected.ok && expected.instances.every(function numbers(v: unknown): boolean {
        return typeof v === 'number' || (Array.isArray(v) && v.length > 0 && v.every(numbers));
      });
      if (agrees(text)) answered++;
      if (plain) numeric++;
    }), { numRuns: 600 });
    // Not vacuous: among bodies whose rows parse to numbers, many are answered (the rest ragged or with BigInt/params refusals).
    assert.ok(answered >= 80, `the scanner answered only ${answered} of ${numeric} numeric bodies`);
  });
});
