// answer.test.ts — a predict answer out: one prediction per instance, the v2 form with only the
// outputs asked (JSON or binary in the request's framing), and the response limit, never cut.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeBinaryResponse } from '../../src/codecs/v2-binary.ts';
import { GatewayError } from '../../src/errors.ts';
import { checkResponseSize, jsonReply, jsonTextReply, predictionsOf, predictReply, tensorReply } from '../../src/frontends/answer.ts';
import { sizedContentType } from '../../src/frontends/body.ts';
import type { InferResponse } from '../../src/tensors/tensor.ts';
import { fakeModel } from '../support/fake-request.ts';

const limit = { frontend: 'vertex', maxResponseBytes: 1000 };
const model = fakeModel('iris');
const fail = (code: string, message: RegExp) => (err: unknown): boolean =>
  err instanceof GatewayError && err.code === code && message.test(err.message);
const outputs: InferResponse = {
  modelName: 'backend-name', modelVersion: '3',
  outputs: [
    { name: 'a', datatype: 'INT32', shape: [2], data: new Int32Array([1, 2]) },
    { name: 'b', datatype: 'FP32', shape: [1], data: new Float32Array([0.5]) },
  ],
};

test('predictionsOf: one per instance from predictions or output tensors; a wrong count is the backend\'s 502', () => {
  assert.deepEqual(predictionsOf({ instances: [1, 2] }, { predictions: ['x', 'y'] }), ['x', 'y']);
  assert.deepEqual(predictionsOf({ instances: [1, 2] }, { outputs: [{ name: 'y', datatype: 'INT32', shape: [2], data: new Int32Array([5, 6]) }] }), [5, 6]);
  assert.throws(() => predictionsOf({ instances: [1, 2] }, { predictions: [1] }),
    fail('backend_bad_reply', /returned 1 predictions for 2 instances; expected one per instance/));
  assert.throws(() => predictionsOf({ instances: [1] }, {}), fail('backend_bad_reply', /without predictions/));
});

test('predictReply: {"predictions"} for rows, the v2 form for tensors', () => {
  const rows = predictReply({ request: { instances: [1] }, framing: 'header' }, { predictions: [9] }, model, limit, { 'x-infergate-target': 't' });
  assert.deepEqual(rows, { status: 200, headers: { 'x-infergate-target': 't', 'content-type': 'application/json' }, body: '{"predictions":[9]}' });
  // Many rows of numbers are written as bytes, the same as JSON.stringify's.
  const wide = { predictions: Array.from({ length: 40 }, (_, i) => [Math.fround(i / 3), i]) };
  const bytes = predictReply({ request: { instances: Array(40).fill(1) }, framing: 'header' }, wide, model, { frontend: 'vertex', maxResponseBytes: 1e6 }, {});
  assert.ok(Buffer.isBuffer(bytes.body));
  assert.equal(String(bytes.body), JSON.stringify(wide));
  // Predictions that are not rows of numbers go through JSON.stringify.
  const labels = predictReply({ request: { instances: [1] }, framing: 'header' }, { predictions: [{ label: 'cat', p: 0.5 }] }, model, limit, {});
  assert.equal(labels.body, '{"predictions":[{"label":"cat","p":0.5}]}');
  // Rows of numbers over the frontend's limit are refused whole, as the JSON.stringify path refuses them.
  const many = { predictions: Array.from({ length: 100 }, () => [Math.fround(0.1), Math.fround(0.2)]) };
  assert.throws(() => predictReply({ request: { instances: Array(100).fill(1) }, framing: 'header' }, many, model, limit, {}),
    fail('response_too_large', /above the vertex limit of 1000 bytes/));
  const v2 = predictReply({ request: { inputs: [] }, framing: 'header' }, outputs, model, limit, {});
  assert.match(String(v2.body), /"model_name":"iris"/);
});

test('tensorReply: the outputs asked, in the order asked; the gateway\'s model name, the client\'s id, the version', () => {
  const r = tensorReply({ request: { id: 'c1', inputs: [], outputs: [{ name: 'b' }, { name: 'a' }] }, framing: 'header' }, outputs, model, limit, {});
  assert.equal(r.headers!['content-type'], 'application/json');
  const doc = JSON.parse(String(r.body));
  assert.deepEqual([doc.model_name, doc.model_version, doc.id], ['iris', '3', 'c1']);
  assert.deepEqual(doc.outputs.map((o: { name: string }) => o.name), ['b', 'a']);
  assert.throws(() => tensorReply({ request: { inputs: [], outputs: [{ name: 'c' }] }, framing: 'header' }, outputs, model, limit, {}),
    fail('bad_request', /model "iris" has no output "c"; its outputs: "a", "b"/));
  assert.throws(() => tensorReply({ request: { inputs: [] }, framing: 'header' }, { predictions: [1] }, model, limit, {}),
    fail('backend_bad_reply', /predictions where v2 output tensors were expected/));
});

test('tensorReply: binary outputs in the request\'s framing, Inference-Header-Content-Length or the content type', () => {
  const request = { inputs: [], parameters: { binary_data_output: true } };
  const byHeader = tensorReply({ request, framing: 'header' }, outputs, model, limit, {});
  assert.equal(byHeader.headers!['content-type'], 'application/octet-stream');
  const n = Number(byHeader.headers!['inference-header-content-length']);
  const res = decodeBinaryResponse(byHeader.body as Buffer, n, 'gateway');
  assert.deepEqual([...(res.outputs![0]!.data as Int32Array)], [1, 2]);
  const framing = sizedContentType('application/vnd.example.binary+json');
  const byType = tensorReply({ request, framing }, outputs, model, limit, {});
  assert.match(byType.headers!['content-type']!, /^application\/vnd\.example\.binary\+json;json-header-size=\d+$/);
  assert.equal(byType.headers!['inference-header-content-length'], undefined);
  assert.throws(() => tensorReply({ request, framing }, outputs, model, { frontend: 'vertex', maxResponseBytes: 10 }, {}),
    fail('response_too_large', /limit of 10 bytes/));
});

test('jsonReply / jsonTextReply: JSON within the limit, counted in UTF-8 bytes', () => {
  assert.deepEqual(jsonReply({ a: 1 }, limit), { status: 200, headers: { 'content-type': 'application/json' }, body: '{"a":1}' });
  const wide = JSON.stringify('é'.repeat(400)); // 402 characters, 802 bytes
  assert.throws(() => jsonTextReply(wide, { frontend: 'oci', maxResponseBytes: 700 }), fail('response_too_large', /would be 802 bytes, above the oci limit of 700 bytes \(frontends\.oci\.maxResponseBytes\)/));
  assert.throws(() => jsonTextReply('x'.repeat(2000), limit), fail('response_too_large', /would be at least 2000 bytes/));
  assert.equal(jsonTextReply(wide, { frontend: 'oci', maxResponseBytes: 802 }).status, 200);
});

test('checkResponseSize: at the limit passes; above it names the limit, its config key and what to do', () => {
  checkResponseSize(1000, limit);
  assert.throws(() => checkResponseSize(1001, limit), fail('response_too_large', /^the answer would be 1001 bytes, above the vertex limit of 1000 bytes \(frontends\.vertex\.maxResponseBytes\); send fewer instances per request$/));
});
