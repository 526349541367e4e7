// OCI frontend, inject-style (no socket): /predict with rows or v2 tensors, model_name /
// model_version headers choosing the model, /health, bad bodies and the 10 MB response limit.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeBinaryRequest } from '../../src/codecs/v2-binary.ts';
import { oci } from '../../src/frontends/oci.ts';
import type { FrontendDeps } from '../../src/types.ts';
import { fakeDeps, fakeModel, inject } from '../support/fake-request.ts';

const iris = fakeModel('iris', { infer: (req) => ({ predictions: req.instances!.map(() => 'iris') }) });
const dense = fakeModel('densenet', { infer: (req) => ({ predictions: req.instances!.map(() => 'densenet') }) });
const denseV1 = fakeModel('densenet', { version: '1', target: 'triton/densenet@1', infer: () => ({ outputs: [{ name: 'fc6_1', datatype: 'FP32', shape: [1, 2], data: new Float32Array([0.5, -1]) }] }) });
const deps = fakeDeps([iris, dense], { versions: { 'densenet@1': denseV1 } });
const routesFor = (d: FrontendDeps = deps, extra: Record<string, unknown> = {}) => oci.routes(oci.schema.parse({ model: 'iris', ...extra }), d);

test('schema defaults: /predict, /predictWithResponseStream, /health, 10 MB response limit', () => {
  const c = oci.schema.parse({ model: 'iris' });
  assert.deepEqual(c, { model: 'iris', predictRoute: '/predict', streamRoute: '/predictWithResponseStream', healthRoute: '/health', maxResponseBytes: 10 * 1024 * 1024 });
  assert.deepEqual(routesFor().map((r) => `${r.method} ${r.path}`), ['POST /predict', 'POST /predictWithResponseStream', 'GET /health']);
  assert.deepEqual(routesFor(deps, { streamRoute: '' }).map((r) => r.path), ['/predict', '/health'], '"" turns the stream route off');
});

test('rows go to the configured model when no model_name header is sent', async () => {
  const r = await inject(routesFor(), 'POST', '/predict', { body: { instances: [[5.1, 3.5], [6.7, 3.0]] } });
  assert.equal(r.status, 200);
  assert.deepEqual(r.json(), { predictions: ['iris', 'iris'] });
});

test('model_name picks the model; with model_version, that version (OCI Triton mode, v2 body, v2 answer)', async () => {
  const a = await inject(routesFor(), 'POST', '/predict', { body: { instances: [1] }, headers: { model_name: 'densenet' } });
  assert.deepEqual(a.json(), { predictions: ['densenet'] });
  const body = { inputs: [{ name: 'data_0', shape: [1, 2], datatype: 'FP32', data: [1, 2] }], outputs: [{ name: 'fc6_1' }] };
  const b = await inject(routesFor(), 'POST', '/predict', { body, headers: { model_name: 'densenet', model_version: '1' } });
  assert.equal(b.status, 200);
  assert.deepEqual(b.json(), { model_name: 'densenet', model_version: '1', outputs: [{ name: 'fc6_1', shape: [1, 2], datatype: 'FP32', data: [0.5, -1] }] });
  assert.equal(b.headers['x-infergate-target'], 'triton/densenet@1');
  assert.equal(denseV1.calls[0]!.inputs![0]!.name, 'data_0');
  assert.ok(denseV1.calls[0]!.raw, 'plain v2 JSON keeps its bytes for a v2 backend');
});

test('model_version alone applies to the configured model', async () => {
  const irisV2 = fakeModel('iris', { version: '2', infer: () => ({ predictions: ['v2'] }) });
  const d = fakeDeps([iris], { versions: { 'iris@2': irisV2 } });
  const r = await inject(routesFor(d), 'POST', '/predict', { body: { instances: [1] }, headers: { model_version: '2' } });
  assert.deepEqual(r.json(), { predictions: ['v2'] });
});

test('unknown model or version → 404 model_not_found; a malformed model_name → 400 bad_name', async () => {
  const a = await inject(routesFor(), 'POST', '/predict', { body: { instances: [1] }, headers: { model_name: 'resnet' } });
  assert.equal(a.status, 404);
  assert.equal(a.json().code, 'model_not_found');
  assert.match(a.json().error, /"resnet" is not served here; models: "iris", "densenet"/);
  const b = await inject(routesFor(), 'POST', '/predict', { body: { instances: [1] }, headers: { model_name: 'densenet', model_version: '7' } });
  assert.equal(b.status, 404);
  assert.match(b.json().error, /"densenet" has no version "7"/);
  for (const bad of ['../etc', 'a b', '.hidden', 'x'.repeat(129)]) {
    const c = await inject(routesFor(), 'POST', '/predict', { body: { instances: [1] }, headers: { model_name: bad } });
    assert.equal(c.status, 400, bad);
    assert.equal(c.json().code, 'bad_name');
    assert.match(c.json().error, /model_name header/);
  }
  const v = await inject(routesFor(), 'POST', '/predict', { body: { instances: [1] }, headers: { model_version: '1/../2' } });
  assert.equal(v.status, 400);
  assert.match(v.json().error, /model_version header/);
});

test('bad bodies: 400 naming the problem; wrong content type → 415', async () => {
  const cases: Array<[string, RegExp]> = [
    ['not json', /not valid JSON/],
    ['7', /request body is number 7; expected a JSON object/],
    ['{}', /no "instances".*or a v2 request \{"inputs"/],
    ['{"instances": null}', /"instances" must be an array.*got null/],
    ['{"instances": []}', /empty array/],
    ['{"instances": [1], "parameters": 3}', /"parameters" must be a JSON object, got number 3/],
    ['{"inputs": [{"name": "x", "datatype": "FP32", "shape": [2], "data": [1]}]}', /tensor "x": shape \[2\] holds 2 elements, "data" has 1/],
  ];
  for (const [body, message] of cases) {
    const r = await inject(routesFor(), 'POST', '/predict', { body, headers: { 'content-type': 'application/json' } });
    assert.equal(r.status, 400, body);
    assert.match(r.json().error, message, body);
  }
  const t = await inject(routesFor(), 'POST', '/predict', { body: '<x/>', headers: { 'content-type': 'application/xml' } });
  assert.equal(t.status, 415);
  assert.match(t.json().error, /"application\/xml" is not accepted here; send application\/json/);
});

test('binary v2 tensors with Inference-Header-Content-Length; a malformed header value → 400', async () => {
  const { body, headerLength } = encodeBinaryRequest({ inputs: [{ name: 'data_0', datatype: 'FP32', shape: [1, 2], data: new Float32Array([1, 2]) }] });
  const r = await inject(routesFor(), 'POST', '/predict', {
    body, headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(headerLength), model_name: 'densenet', model_version: '1' },
  });
  assert.equal(r.status, 200);
  assert.equal(r.json().outputs[0].name, 'fc6_1');
  const bad = await inject(routesFor(), 'POST', '/predict', { body, headers: { 'inference-header-content-length': '-3' } });
  assert.equal(bad.status, 400);
  assert.match(bad.json().error, /Inference-Header-Content-Length must be/);
});

test('response limit and backend count check', async () => {
  const big = fakeModel('iris', { infer: () => ({ predictions: ['y'.repeat(2000)] }) });
  const r = await inject(routesFor(fakeDeps([big]), { maxResponseBytes: '1kb' }), 'POST', '/predict', { body: { instances: [1] } });
  assert.equal(r.status, 413);
  assert.match(r.json().error, /frontends\.oci\.maxResponseBytes/);
  const wrong = fakeModel('iris', { infer: () => ({ predictions: [1, 2, 3] }) });
  const w = await inject(routesFor(fakeDeps([wrong])), 'POST', '/predict', { body: { instances: [1] } });
  assert.equal(w.status, 502);
  assert.equal(w.json().code, 'backend_bad_reply');
});

test('health: 200 when ready, 503 otherwise, on the configured path', async () => {
  const d = fakeDeps([iris]);
  const routes = routesFor(d, { healthRoute: '/v1/health/ready', predictRoute: '/generate' });
  assert.equal((await inject(routes, 'GET', '/v1/health/ready')).status, 200);
  d.setReady(false);
  assert.equal((await inject(routes, 'GET', '/v1/health/ready')).status, 503);
  assert.equal((await inject(routes, 'POST', '/generate', { body: { instances: [1] } })).status, 200);
  assert.equal((await inject(routes, 'POST', '/predict', { body: { instances: [1] } })).status, 404);
});
