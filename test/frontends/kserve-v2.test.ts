// KServe v2 frontend, inject-style (no socket): health, server and model metadata, model
// readiness, infer with v2 JSON (the protocol document's example as fixture) and with Triton's
// binary extension, output selection, per-output binary_data, id echo, errors and the limit.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { decodeBinaryResponse, encodeBinaryRequest } from '../../src/codecs/v2-binary.ts';
import { kserveV2 } from '../../src/frontends/kserve-v2.ts';
import type { InferResponse, ModelMetadata } from '../../src/tensors/tensor.ts';
import type { FrontendDeps } from '../../src/types.ts';
import { fakeDeps, fakeModel, inject } from '../support/fake-request.ts';

const fixture = readFileSync(new URL('../fixtures/v2/infer-request.json', import.meta.url));
const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

const metadata: ModelMetadata = {
  name: 'mymodel', versions: ['1'], platform: 'onnx_onnxv1',
  inputs: [{ name: 'input0', datatype: 'UINT32', shape: [-1, 2] }], outputs: [{ name: 'output0', datatype: 'FP32', shape: [-1, 2] }],
};
// Answers two outputs whatever is asked, as a backend that ignores `outputs` would.
const twoOutputs = (): InferResponse => ({
  id: 'backend-id', modelName: 'mymodel-on-backend',
  outputs: [
    { name: 'output0', datatype: 'FP32', shape: [3, 2], data: new Float32Array([1, 1.5, 2, 2.5, 3, 3.5]) },
    { name: 'output1', datatype: 'BYTES', shape: [1], data: [Buffer.from('ok')] },
  ],
});
const model = fakeModel('mymodel', { metadata, target: 'triton/mymodel', infer: twoOutputs });
const v1 = fakeModel('mymodel', { version: '1', metadata, ready: false, infer: twoOutputs });
const deps = fakeDeps([model], { versions: { 'mymodel@1': v1 } });
const routesFor = (d: FrontendDeps = deps, extra: Record<string, unknown> = {}) => kserveV2.routes(kserveV2.schema.parse(extra), d);

test('health: live is 200 even when not ready; ready follows the gateway', async () => {
  const d = fakeDeps([model]);
  const routes = routesFor(d);
  assert.equal((await inject(routes, 'GET', '/v2/health/live')).status, 200);
  assert.equal((await inject(routes, 'GET', '/v2/health/ready')).status, 200);
  d.setReady(false);
  assert.equal((await inject(routes, 'GET', '/v2/health/live')).status, 200);
  const r = await inject(routes, 'GET', '/v2/health/ready');
  assert.equal(r.status, 503);
  assert.equal(r.json().code, 'not_ready');
});

test('GET /v2: server metadata with the package version and the extensions served', async () => {
  const r = await inject(routesFor(), 'GET', '/v2');
  assert.deepEqual(r.json(), { name: 'infergate', version: pkg.version, extensions: ['binary_tensor_data', 'model_configuration', 'statistics', 'model_repository'] });
});

test('model metadata, with and without a version, is what the handle reports', async () => {
  for (const path of ['/v2/models/mymodel', '/v2/models/mymodel/versions/1']) {
    const r = await inject(routesFor(), 'GET', path);
    assert.equal(r.status, 200, path);
    assert.deepEqual(r.json(), {
      name: 'mymodel', versions: ['1'], platform: 'onnx_onnxv1',
      inputs: [{ name: 'input0', datatype: 'UINT32', shape: [-1, 2] }], outputs: [{ name: 'output0', datatype: 'FP32', shape: [-1, 2] }],
    });
  }
});

test('unknown model or version → 404 model_not_found on every model route; a dotted name never matches', async () => {
  for (const [method, path] of [['GET', '/v2/models/nope'], ['GET', '/v2/models/nope/ready'], ['POST', '/v2/models/nope/infer'],
    ['GET', '/v2/models/mymodel/versions/9'], ['POST', '/v2/models/mymodel/versions/9/infer']] as const) {
    const r = await inject(routesFor(), method, path, { body: '{}' });
    assert.equal(r.status, 404, path);
    assert.equal(r.json().code, 'model_not_found', path);
    assert.match(r.json().error, path.includes('/9') ? /no version "9"/ : /"nope" is not served here/);
  }
  const dots = await inject(routesFor(), 'GET', '/v2/models/../ready');
  assert.equal(dots.json().code, 'not_found');
});

test('model ready: 200 {name, ready} when ready, 503 not_ready otherwise', async () => {
  const a = await inject(routesFor(), 'GET', '/v2/models/mymodel/ready');
  assert.deepEqual([a.status, a.json()], [200, { name: 'mymodel', ready: true }]);
  const b = await inject(routesFor(), 'GET', '/v2/models/mymodel/versions/1/ready');
  assert.equal(b.status, 503);
  assert.match(b.json().error, /"mymodel" version "1" is not ready/);
});

test('infer, JSON (protocol example): outputs selection honoured, id echoed, raw bytes kept, target header', async () => {
  const r = await inject(routesFor(), 'POST', '/v2/models/mymodel/infer', { body: fixture, headers: { 'content-type': 'application/json' } });
  assert.equal(r.status, 200);
  assert.deepEqual(r.json(), {
    model_name: 'mymodel', id: '42',
    outputs: [{ name: 'output0', shape: [3, 2], datatype: 'FP32', data: [1, 1.5, 2, 2.5, 3, 3.5] }],
  });
  assert.equal(r.headers['x-infergate-target'], 'triton/mymodel');
  const sent = model.calls.at(-1)!;
  assert.deepEqual(sent.raw, { contentType: 'application/json', body: fixture });
  assert.deepEqual(sent.outputs, [{ name: 'output0' }]);
  assert.deepEqual([...(sent.inputs![0]!.data as Uint32Array)], [1, 2, 3, 4]);
});

test('infer without `outputs` returns every output; without `id` none is invented', async () => {
  const body = { inputs: [{ name: 'input0', shape: [1, 2], datatype: 'UINT32', data: [[1, 2]] }] };
  const r = await inject(routesFor(), 'POST', '/v2/models/mymodel/versions/1/infer', { body });
  assert.equal(r.status, 200);
  const res = r.json();
  assert.equal(res.id, undefined);
  assert.equal(res.model_version, '1');
  assert.deepEqual(res.outputs.map((o: { name: string }) => o.name), ['output0', 'output1']);
  assert.deepEqual(res.outputs[1].data, ['ok']);
});

test('binary request (Inference-Header-Content-Length); binary_data on one output → mixed binary answer', async () => {
  const { body, headerLength } = encodeBinaryRequest({
    id: 'b1',
    inputs: [{ name: 'input0', datatype: 'UINT32', shape: [2, 2], data: new Uint32Array([1, 2, 3, 4]) }],
    outputs: [{ name: 'output0', parameters: { binary_data: true } }, { name: 'output1', parameters: { binary_data: false } }],
  });
  const r = await inject(routesFor(), 'POST', '/v2/models/mymodel/infer', {
    body, headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(headerLength) },
  });
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-type'], 'application/octet-stream');
  const n = Number(r.headers['inference-header-content-length']);
  const header = JSON.parse(r.raw.subarray(0, n).toString());
  assert.equal(header.id, 'b1');
  assert.deepEqual(header.outputs[0].parameters, { binary_data_size: 24 });
  assert.deepEqual(header.outputs[1].data, ['ok'], 'output1 asked as JSON stays in the header');
  const res = decodeBinaryResponse(r.raw, n, 'gateway');
  assert.deepEqual([...(res.outputs![0]!.data as Float32Array)], [1, 1.5, 2, 2.5, 3, 3.5]);
  const raw = model.calls.at(-1)!.raw!;
  assert.equal(raw.headerLength, headerLength, 'binary bodies are kept for a v2 backend to forward');
  assert.ok(raw.body.equals(body));
});

test('binary_data_output on a JSON request → every output binary', async () => {
  const body = { parameters: { binary_data_output: true }, inputs: [{ name: 'input0', shape: [1, 2], datatype: 'UINT32', data: [1, 2] }] };
  const r = await inject(routesFor(), 'POST', '/v2/models/mymodel/infer', { body });
  const n = Number(r.headers['inference-header-content-length']);
  assert.ok(n > 0);
  const res = decodeBinaryResponse(r.raw, n, 'gateway');
  assert.deepEqual(res.outputs!.map((o) => o.name), ['output0', 'output1']);
  assert.equal(Buffer.from((res.outputs![1]!.data as Uint8Array[])[0]!).toString(), 'ok');
});

test('bad requests → 400 naming the problem; wrong content type → 415; binary header past the body → 400', async () => {
  const cases: Array<[unknown, RegExp]> = [
    ['{"inputs": [', /not valid JSON/],
    [{ instances: [1] }, /no "inputs"; expected a v2 inference request/],
    ['[1]', /request body is an array of 1; expected a v2 inference request/],
    [{ inputs: {} }, /"inputs" must be an array of tensors/],
    [{ inputs: [{ name: 'x', datatype: 'FP8', shape: [1], data: [1] }] }, /tensor "x": "datatype" the string "FP8" is not a v2 datatype/],
    [{ inputs: [{ name: 'x', datatype: 'FP32', shape: [3], data: [1, 2] }] }, /tensor "x": shape \[3\] holds 3 elements, "data" has 2/],
    [{ inputs: [{ name: 'x', datatype: 'FP32', shape: [1], data: [1] }], outputs: [{ name: 'nope' }] }, /no output "nope"; its outputs: "output0", "output1"/],
  ];
  for (const [body, message] of cases) {
    const r = await inject(routesFor(), 'POST', '/v2/models/mymodel/infer', { body, headers: { 'content-type': 'application/json' } });
    assert.equal(r.status, 400, String(body));
    assert.match(r.json().error, message);
  }
  const t = await inject(routesFor(), 'POST', '/v2/models/mymodel/infer', { body: 'x', headers: { 'content-type': 'application/octet-stream' } });
  assert.equal(t.status, 415);
  assert.match(t.json().error, /Inference-Header-Content-Length/);
  const b = await inject(routesFor(), 'POST', '/v2/models/mymodel/infer', { body: '{}', headers: { 'inference-header-content-length': '50' } });
  assert.equal(b.status, 400);
  assert.match(b.json().error, /does not fit a body of 2 bytes/);
});

test('a backend that answers predictions to a tensor request → 502; a too-large answer → 413', async () => {
  const rowsOnly = fakeModel('mymodel', { infer: () => ({ predictions: [1] }) });
  const body = { inputs: [{ name: 'x', datatype: 'FP32', shape: [1], data: [1] }] };
  const a = await inject(routesFor(fakeDeps([rowsOnly])), 'POST', '/v2/models/mymodel/infer', { body });
  assert.equal(a.status, 502);
  assert.equal(a.json().code, 'backend_bad_reply');
  const r = await inject(routesFor(deps, { maxResponseBytes: 100 }), 'POST', '/v2/models/mymodel/infer', { body });
  assert.equal(r.status, 413);
  assert.match(r.json().error, /limit of 100 bytes \(frontends\.kserve\.maxResponseBytes\)/);
  const bin = await inject(routesFor(deps, { maxResponseBytes: 100 }), 'POST', '/v2/models/mymodel/infer', {
    body: { ...body, parameters: { binary_data_output: true } },
  });
  assert.equal(bin.status, 413, 'binary answers are limited too');
});
