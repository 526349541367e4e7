// body.test.ts — a predict body in: media types, the request-header reader, the content-type
// framing of binary tensors, and each body form, refused with the status and message a client
// needs (415 before the body is read, 400 saying what came and what was expected).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeBinaryRequest } from '../../src/codecs/v2-binary.ts';
import { GatewayError } from '../../src/errors.ts';
import { header, isJsonType, mediaTypeOf, readPredictBody, readRows, sizedContentType } from '../../src/frontends/body.ts';
import { fakeRequest } from '../support/fake-request.ts';

const bad = (code: string, message: RegExp) => (err: unknown): boolean =>
  err instanceof GatewayError && err.code === code && message.test(err.message);
const framing = sizedContentType('application/vnd.example.binary+json');

test('mediaTypeOf: lower-cased, without parameters; none is ""', () => {
  assert.equal(mediaTypeOf('Application/JSON; charset=utf-8'), 'application/json');
  assert.equal(mediaTypeOf(' text/csv '), 'text/csv');
  assert.equal(mediaTypeOf(undefined), '');
});

test('isJsonType: JSON, +json and what generic clients put on a string body; not csv, xml or octet-stream', () => {
  for (const t of ['', 'application/json', 'text/json', 'application/problem+json', 'application/x-www-form-urlencoded', 'text/plain']) {
    assert.equal(isJsonType(t), true, t);
  }
  for (const t of ['text/csv', 'application/xml', 'application/octet-stream', 'image/jpeg']) assert.equal(isJsonType(t), false, t);
});

test('header: one trimmed string; repeated headers joined; absent or blank is undefined', () => {
  const req = fakeRequest({ headers: { 'X-One': '  a  ', blank: '   ' } });
  assert.equal(header(req, 'x-one'), 'a');
  assert.equal(header(req, 'blank'), undefined);
  assert.equal(header(req, 'missing'), undefined);
  req.headers['x-many'] = ['a', 'b'];
  assert.equal(header(req, 'x-many'), 'a, b');
});

test('sizedContentType: reads and writes json-header-size=N for its own media type only', () => {
  assert.equal(framing.headerLength('application/vnd.example.binary+json; json-header-size=17'), 17);
  assert.equal(framing.headerLength('application/json;json-header-size=17'), undefined);
  assert.equal(framing.headerLength('application/vnd.example.binary+json'), undefined);
  assert.equal(framing.contentType(5), 'application/vnd.example.binary+json;json-header-size=5');
});

test('readRows: instances and parameters; each wrong shape a 400 saying what came', () => {
  assert.deepEqual(readRows({ instances: [1, 2] }), { instances: [1, 2] });
  assert.deepEqual(readRows({ instances: [[1]], parameters: { k: 1 } }), { instances: [[1]], parameters: { k: 1 } });
  assert.throws(() => readRows([1, 2]), bad('bad_request', /^the request body is an array of 2; expected a JSON object \{"instances"/));
  assert.throws(() => readRows({}, true), bad('bad_request', /no "instances"; expected .* or a v2 request \{"inputs": \[\.\.\.\]\}$/));
  assert.throws(() => readRows({ instances: 'abc' }), bad('bad_request', /"instances" must be an array with one element per instance, got the string "abc"/));
  assert.throws(() => readRows({ instances: [] }), bad('bad_request', /empty array; send at least one instance/));
  assert.throws(() => readRows({ instances: [1], parameters: 7 }), bad('bad_request', /"parameters" must be a JSON object, got number 7/));
});

test('readPredictBody: rows, or v2 JSON tensors with their bytes kept, framed as the route answers binary', async () => {
  const rows = await readPredictBody(fakeRequest({ body: { instances: [1] } }), { rows: true, tensors: true, binaryType: framing });
  assert.deepEqual(rows.request, { instances: [1] });
  assert.equal(rows.framing, framing);
  const text = '{"inputs": [{"name": "x", "datatype": "INT32", "shape": [1], "data": [3]}]}';
  const v2 = await readPredictBody(fakeRequest({ body: text, headers: { 'content-type': 'application/json' } }), { rows: false, tensors: true });
  assert.equal(v2.framing, 'header');
  assert.deepEqual([...(v2.request.inputs![0]!.data as Int32Array)], [3]);
  assert.equal(v2.request.raw!.body.toString(), text);
  assert.equal(v2.request.raw!.contentType, 'application/json');
});

test('readPredictBody: binary tensors by Inference-Header-Content-Length or by the route\'s content type', async () => {
  const { body, headerLength } = encodeBinaryRequest({ inputs: [{ name: 'x', datatype: 'FP32', shape: [2], data: new Float32Array([1, 2]) }] });
  const byHeader = await readPredictBody(fakeRequest({ body, headers: { 'inference-header-content-length': String(headerLength) } }), { rows: false, tensors: true });
  assert.equal(byHeader.framing, 'header');
  assert.deepEqual(byHeader.request.raw, { contentType: 'application/octet-stream', body, headerLength });
  const byType = await readPredictBody(fakeRequest({ body, headers: { 'content-type': framing.contentType(headerLength) } }), { rows: true, tensors: true, binaryType: framing });
  assert.equal(byType.framing, framing);
  assert.deepEqual([...(byType.request.inputs![0]!.data as Float32Array)], [1, 2]);
  await assert.rejects(readPredictBody(fakeRequest({ body, headers: { 'inference-header-content-length': '12abc' } }), { rows: false, tensors: true }),
    bad('bad_request', /Inference-Header-Content-Length must be the JSON header's byte count, got "12abc"/));
  await assert.rejects(readPredictBody(fakeRequest({ body, headers: { 'content-type': framing.mediaType } }), { rows: true, tensors: true, binaryType: framing }),
    bad('bad_request', /needs json-header-size=N/));
});

test('readPredictBody: a type that is not JSON → 415 naming what the route takes, without reading the body', async () => {
  const req = fakeRequest({ body: 'x', headers: { 'content-type': 'text/csv' } });
  await assert.rejects(readPredictBody(req, { rows: true, tensors: true, binaryType: framing, alsoAccepted: ['text/xml'] }),
    bad('unsupported_media_type', /^content type "text\/csv" is not accepted here; send application\/json, or text\/xml, or application\/vnd\.example\.binary\+json;json-header-size=N$/));
  assert.equal(req.bodyReads, 0);
  await assert.rejects(readPredictBody(fakeRequest({ body: 'x', headers: { 'content-type': 'image/png' } }), { rows: false, tensors: true }),
    bad('unsupported_media_type', /send application\/json, or v2 binary tensors with Inference-Header-Content-Length$/));
});

test('readPredictBody: a tensors-only route names the v2 form; both forms at once is refused', async () => {
  const opts = { rows: false, tensors: true };
  await assert.rejects(readPredictBody(fakeRequest({ body: { instances: [1] } }), opts), bad('bad_request', /no "inputs"; expected a v2 inference request/));
  await assert.rejects(readPredictBody(fakeRequest({ body: 'null', headers: { 'content-type': 'application/json' } }), opts),
    bad('bad_request', /request body is null; expected a v2 inference request/));
  await assert.rejects(readPredictBody(fakeRequest({ body: { instances: [1], inputs: [] } }), { rows: true, tensors: true }),
    bad('bad_request', /both "instances" \(rows\) and "inputs" \(v2 tensors\); send one of them/));
  await assert.rejects(readPredictBody(fakeRequest({ body: '{"instances": [', headers: { 'content-type': 'application/json' } }), { rows: true, tensors: false }),
    bad('invalid_json', /not valid JSON/));
});

test('rows of numbers for a Triton or ONNX model come as a row block; for other servers, and other bodies, as plain rows', async () => {
  const { rowBlockOf } = await import('../../src/tensors/row-block.ts');
  const { fakeModel } = await import('../support/fake-request.ts');
  const body = '{"instances": [[1, 2.5], [-0, 4e2]], "parameters": {"k": 1}}';
  const opts = { rows: true, tensors: true };
  for (const speaks of ['triton', 'onnx'] as const) {
    const got = await readPredictBody(fakeRequest({ body }), opts, { ...fakeModel('m'), speaks });
    assert.ok(rowBlockOf(got.request) !== undefined, speaks);
    assert.deepStrictEqual(got.request.parameters, { k: 1 });
    assert.deepStrictEqual(got.request.instances, [[1, 2.5], [-0, 400]]);
  }
  for (const [handle, text] of [[fakeModel('m'), body], [{ ...fakeModel('m'), speaks: 'triton' as const }, '{"instances": [[1, "2"]]}']] as const) {
    const got = await readPredictBody(fakeRequest({ body: text }), opts, handle);
    assert.equal(rowBlockOf(got.request), undefined);
    assert.deepStrictEqual(got.request, readRows(JSON.parse(text)));
  }
  // The scanner's refusals are the parser's to make, with their own messages.
  await assert.rejects(readPredictBody(fakeRequest({ body: '{"instances": [[1, 2], [3]], ' }), opts, { ...fakeModel('m'), speaks: 'triton' }), bad('invalid_json', /not valid JSON/));
  await assert.rejects(readPredictBody(fakeRequest({ body: '{"instances": []}' }), opts, { ...fakeModel('m'), speaks: 'triton' }), bad('bad_request', /empty array/));
});
