// csv.test.ts — text/csv rows of numbers in, one line per prediction out.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatCsv, parseCsv } from '../../src/codecs/csv.ts';
import { GatewayError } from '../../src/errors.ts';

const badRequest = (message: RegExp) => (err: unknown): boolean =>
  err instanceof GatewayError && err.code === 'bad_request' && err.status === 400 && message.test(err.message);

test('parseCsv: one instance per line; blank lines, spaces and CRLF are ignored; exponents read', () => {
  assert.deepEqual(parseCsv(Buffer.from('1,2\n3.5, 4\r\n\n-1e3,0.5\n')), [[1, 2], [3.5, 4], [-1000, 0.5]]);
  assert.deepEqual(parseCsv(Buffer.from('7')), [[7]]);
});

test('parseCsv: a cell that is not a finite number → 400 naming line, column and the cell', () => {
  assert.throws(() => parseCsv(Buffer.from('1,2\n3,abc\n')), badRequest(/line 2, column 2: "abc" is not a number; rows must be comma-separated numbers/));
  assert.throws(() => parseCsv(Buffer.from('1,,2')), badRequest(/line 1, column 2: "" is not a number/));
  assert.throws(() => parseCsv(Buffer.from('Infinity')), badRequest(/line 1, column 1: "Infinity"/));
  // A long cell is shortened in the message.
  assert.throws(() => parseCsv(Buffer.from('x'.repeat(500))), badRequest(/"x{30}…" is not a number/));
});

test('parseCsv: a body with no rows → 400 saying what to send', () => {
  assert.throws(() => parseCsv(Buffer.from('\n\r\n  \n')), badRequest(/no rows; send one line of comma-separated numbers per instance/));
  assert.throws(() => parseCsv(Buffer.alloc(0)), badRequest(/no rows/));
});

test('formatCsv: a line per prediction; rows comma-separated; text with a comma, quote or newline quoted', () => {
  assert.equal(formatCsv([3, 7.5]), '3\n7.5\n');
  assert.equal(formatCsv([[1, 2], 'a,b', { k: 1 }, true, 10n]), '1,2\n"a,b"\n1\ntrue\n10\n');
  // An object's scalar and flat-array values are cells, in key order (the iris model's answer).
  assert.equal(formatCsv([{ label: 0, probabilities: [0.9, 0.05, 0.05] }, { label: 2, probabilities: [0, 0.1, 0.9] }]), '0,0.9,0.05,0.05\n2,0,0.1,0.9\n');
  // Deeper nesting is one JSON cell, quoted.
  assert.equal(formatCsv([[[1, 2], 3], { m: { a: 1 } }]), '"[1,2]",3\n"{""a"":1}"\n');
  assert.equal(formatCsv(['plain', 'line\nbreak', ['x', 'say "hi"']]), 'plain\n"line\nbreak"\nx,"say ""hi"""\n');
});
