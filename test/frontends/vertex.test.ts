// Vertex frontend, inject-style (no socket): the predict and health routes against fake models,
// every bad body the issue lists, the Triton-on-Vertex binary framing and the response limit.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { decodeBinaryResponse, encodeBinaryRequest } from '../../src/codecs/v2-binary.ts';
import { vertex } from '../../src/frontends/vertex.ts';
import type { Backend, FrontendDeps, RawRoute } from '../../src/types.ts';
import { fakeDeps, fakeModel, inject } from '../support/fake-request.ts';

const routesFor = (deps: FrontendDeps, extra: Record<string, unknown> = {}) =>
  vertex.routes(vertex.schema.parse({ model: 'iris', ...extra }), deps);

test('schema defaults: /predict, /health, a dedicated endpoint; routes are route paths', () => {
  const c = vertex.schema.parse({ model: 'iris' });
  assert.equal(c.predictRoute, '/predict');
  assert.equal(c.healthRoute, '/health');
  assert.equal(c.endpoint, 'dedicated');
  assert.equal(c.maxResponseBytes, undefined, 'from the endpoint type');
  assert.equal(vertex.schema.safeParse({ model: 'iris', endpoint: 'private' }).success, false);
  assert.equal(vertex.schema.safeParse({ model: 'iris', predictRoute: '/p/{x}' }).success, false);
  assert.equal(vertex.schema.safeParse({}).success, false, 'model is required');
});

test('predict: instances and parameters reach the model; one prediction per instance, in order, no deployedModelId', async () => {
  const model = fakeModel('iris', { target: 'local/iris', infer: (req) => ({ predictions: req.instances!.map((_, i) => `p${i}`) }) });
  const routes = routesFor(fakeDeps([model]), { predictRoute: '/v1/endpoints/1/deployedModels/2:predict' });
  const r = await inject(routes, 'POST', '/v1/endpoints/1/deployedModels/2:predict', {
    body: { instances: [[1, 2], { values: [3], key: 1 }, 'x'], parameters: { threshold: 0.5 } },
  });
  assert.equal(r.status, 200);
  assert.deepEqual(r.json(), { predictions: ['p0', 'p1', 'p2'] });
  assert.equal(r.headers['content-type'], 'application/json');
  assert.equal(r.headers['x-infergate-target'], 'local/iris');
  assert.deepEqual(model.calls[0], { instances: [[1, 2], { values: [3], key: 1 }, 'x'], parameters: { threshold: 0.5 } });
  assert.equal(r.request.call.model, 'iris', 'the handle named its model in the call');
});

test('predict without a Content-Type, or with what curl -d / fetch put on a string, is read as JSON', async () => {
  const routes = routesFor(fakeDeps([fakeModel('iris')]));
  for (const ct of [undefined, 'application/x-www-form-urlencoded', 'text/plain;charset=UTF-8', 'application/json; charset=utf-8']) {
    const r = await inject(routes, 'POST', '/predict', { body: '{"instances": [1]}', headers: ct === undefined ? {} : { 'content-type': ct } });
    assert.equal(r.status, 200, String(ct));
    assert.deepEqual(r.json(), { predictions: [1] });
  }
});

test('bad bodies: 400 with a message that names the problem', async () => {
  const model = fakeModel('iris');
  const routes = routesFor(fakeDeps([model]));
  const cases: Array<[string, string, RegExp]> = [
    ['{"instances": [1,', 'invalid_json', /not valid JSON/],
    ['[1, 2]', 'bad_request', /request body is an array of 2; expected a JSON object/],
    ['"instances"', 'bad_request', /request body is the string "instances"; expected a JSON object/],
    ['{"parameters": {}}', 'bad_request', /no "instances"/],
    ['{"instances": "1,2"}', 'bad_request', /"instances" must be an array.*got the string "1,2"/],
    ['{"instances": {"a": 1}}', 'bad_request', /"instances" must be an array.*got an object/],
    ['{"instances": []}', 'bad_request', /"instances" is an empty array/],
    ['{"instances": [1], "parameters": [1]}', 'bad_request', /"parameters" must be a JSON object, got an array/],
    ['{"instances": [1], "parameters": "x"}', 'bad_request', /"parameters" must be a JSON object, got the string "x"/],
    ['{"instances": [1], "inputs": []}', 'bad_request', /both "instances".*and "inputs"/],
    [`${'['.repeat(100)}${']'.repeat(100)}`, 'invalid_json', /nests 100 levels deep/],
  ];
  for (const [body, code, message] of cases) {
    const r = await inject(routes, 'POST', '/predict', { body, headers: { 'content-type': 'application/json' } });
    assert.equal(r.status, 400, body);
    assert.equal(r.json().code, code, body);
    assert.match(r.json().error, message, body);
  }
  assert.equal(model.calls.length, 0, 'no bad body reaches the model');
});

test('a content type that is neither JSON nor Vertex binary → 415 naming what is accepted, body unread', async () => {
  const routes = routesFor(fakeDeps([fakeModel('iris')]));
  const r = await inject(routes, 'POST', '/predict', { body: '1,2', headers: { 'content-type': 'text/csv' } });
  assert.equal(r.status, 415);
  assert.equal(r.json().code, 'unsupported_media_type');
  assert.match(r.json().error, /"text\/csv".*application\/json.*vnd\.vertex-ai-triton\.binary\+json/);
  assert.equal(r.request.bodyReads, 0);
});

test('a backend that returns the wrong number of predictions → 502 backend_bad_reply', async () => {
  const routes = routesFor(fakeDeps([fakeModel('iris', { infer: () => ({ predictions: [1] }) })]));
  const r = await inject(routes, 'POST', '/predict', { body: { instances: [1, 2] } });
  assert.equal(r.status, 502);
  assert.equal(r.json().code, 'backend_bad_reply');
  assert.match(r.json().error, /1 predictions for 2 instances/);
});

test('tensors from the backend for a rows request become one prediction per row', async () => {
  const routes = routesFor(fakeDeps([fakeModel('iris', {
    infer: () => ({ outputs: [{ name: 'y', datatype: 'FP32', shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) }] }),
  })]));
  const r = await inject(routes, 'POST', '/predict', { body: { instances: [[0], [0]] } });
  assert.deepEqual(r.json(), { predictions: [[1, 2], [3, 4]] });
});

test('the endpoint type sets the answer limit: 10 MB on a dedicated endpoint, 1.5 MB on a shared one', async () => {
  const twoMb = 'x'.repeat(2 * 1024 * 1024);
  const deps = fakeDeps([fakeModel('iris', { infer: () => ({ predictions: [twoMb] }) })]);
  const dedicated = await inject(routesFor(deps), 'POST', '/predict', { body: { instances: [1] } });
  assert.equal(dedicated.status, 200);
  const shared = await inject(routesFor(deps, { endpoint: 'shared' }), 'POST', '/predict', { body: { instances: [1] } });
  assert.equal(shared.status, 413);
  assert.match(shared.json().error, /limit of 1572864 bytes/);
  const eleven = await inject(routesFor(fakeDeps([fakeModel('iris', { infer: () => ({ predictions: ['x'.repeat(11 * 1024 * 1024)] }) })])), 'POST', '/predict', { body: { instances: [1] } });
  assert.equal(eleven.status, 413);
});

test('the endpoint type bounds timeoutMs: up to 1 h on a dedicated endpoint, 60 s on a shared one', () => {
  assert.doesNotThrow(() => routesFor(fakeDeps([]), { timeoutMs: '1h' }));
  assert.throws(() => routesFor(fakeDeps([]), { timeoutMs: '61m' }), /longer than a dedicated endpoint allows \(3600 s\)/);
  assert.throws(() => routesFor(fakeDeps([]), { endpoint: 'shared', timeoutMs: '90s' }), /longer than a shared endpoint allows \(60 s\)/);
});

test('an answer above maxResponseBytes → 413 response_too_large naming the limit, never cut', async () => {
  const big = 'x'.repeat(600);
  const routes = routesFor(fakeDeps([fakeModel('iris', { infer: (req) => ({ predictions: req.instances!.map(() => big) }) })]), { maxResponseBytes: '1kb' });
  const ok = await inject(routes, 'POST', '/predict', { body: { instances: [1] } });
  assert.equal(ok.status, 200);
  const r = await inject(routes, 'POST', '/predict', { body: { instances: [1, 2] } });
  assert.equal(r.status, 413);
  assert.equal(r.json().code, 'response_too_large');
  assert.match(r.json().error, /limit of 1024 bytes \(frontends\.vertex\.maxResponseBytes\)/);
  // Multi-byte text: 400 characters of "é" are 800 bytes in UTF-8, above a 700-byte limit.
  const wide = routesFor(fakeDeps([fakeModel('iris', { infer: () => ({ predictions: ['é'.repeat(400)] }) })]), { maxResponseBytes: 700 });
  const w = await inject(wide, 'POST', '/predict', { body: { instances: [1] } });
  assert.equal(w.status, 413);
  assert.match(w.json().error, /would be 8\d\d bytes/);
});

test('v2 {"inputs"} on the predict route: answered in v2 form, raw bytes kept for a v2 backend', async () => {
  const model = fakeModel('iris');
  const routes = routesFor(fakeDeps([model]));
  const body = JSON.stringify({ id: 'a1', inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], data: [1, 2] }] });
  const r = await inject(routes, 'POST', '/predict', { body, headers: { 'content-type': 'application/json' } });
  assert.equal(r.status, 200);
  assert.deepEqual(r.json(), { model_name: 'iris', id: 'a1', outputs: [{ name: 'x', shape: [1, 2], datatype: 'FP32', data: [1, 2] }] });
  assert.equal(model.calls[0]!.raw!.body.toString(), body);
  assert.equal(model.calls[0]!.instances, undefined);
});

test('Triton-on-Vertex binary: json-header-size in the content type, binary outputs answered in the same framing', async () => {
  const model = fakeModel('iris');
  const routes = routesFor(fakeDeps([model]));
  const { body, headerLength } = encodeBinaryRequest({
    inputs: [{ name: 'x', datatype: 'INT32', shape: [2], data: new Int32Array([7, -8]) }],
  }, { binaryOutputs: true });
  const r = await inject(routes, 'POST', '/predict', {
    body, headers: { 'content-type': `application/vnd.vertex-ai-triton.binary+json;json-header-size=${headerLength}` },
  });
  assert.equal(r.status, 200);
  const m = /^application\/vnd\.vertex-ai-triton\.binary\+json;json-header-size=(\d+)$/.exec(r.headers['content-type']!);
  assert.ok(m, r.headers['content-type']);
  assert.equal(r.headers['inference-header-content-length'], undefined);
  const res = decodeBinaryResponse(r.raw, Number(m[1]), 'gateway');
  assert.deepEqual([...(res.outputs![0]!.data as Int32Array)], [7, -8]);
  assert.deepEqual([...(model.calls[0]!.inputs![0]!.data as Int32Array)], [7, -8]);
});

test('Vertex binary content type without json-header-size, or a header size past the body → 400', async () => {
  const routes = routesFor(fakeDeps([fakeModel('iris')]));
  const a = await inject(routes, 'POST', '/predict', { body: '{}', headers: { 'content-type': 'application/vnd.vertex-ai-triton.binary+json' } });
  assert.equal(a.status, 400);
  assert.match(a.json().error, /needs json-header-size=N/);
  const b = await inject(routes, 'POST', '/predict', { body: '{}', headers: { 'content-type': 'application/vnd.vertex-ai-triton.binary+json;json-header-size=99' } });
  assert.equal(b.status, 400);
  assert.match(b.json().error, /header length 99 does not fit a body of 2 bytes/);
});

test('health: 200 when ready, 503 not_ready with Retry-After otherwise', async () => {
  const deps = fakeDeps([fakeModel('iris')]);
  const routes = routesFor(deps, { healthRoute: '/v1/endpoints/1/deployedModels/2' });
  assert.equal((await inject(routes, 'GET', '/v1/endpoints/1/deployedModels/2')).status, 200);
  deps.setReady(false);
  const r = await inject(routes, 'GET', '/v1/endpoints/1/deployedModels/2');
  assert.equal(r.status, 503);
  assert.equal(r.json().code, 'not_ready');
  assert.ok(r.headers['retry-after']);
});

test('the configured model is unknown → 404 model_not_found listing the models; GET on predict → 405', async () => {
  const routes = vertex.routes(vertex.schema.parse({ model: 'gone' }), fakeDeps([fakeModel('iris')]));
  const r = await inject(routes, 'POST', '/predict', { body: { instances: [1] } });
  assert.equal(r.status, 404);
  assert.equal(r.json().code, 'model_not_found');
  assert.match(r.json().error, /"gone".*models: "iris"/);
  const m = await inject(routes, 'GET', '/predict');
  assert.equal(m.status, 405);
  assert.equal(m.headers.allow, 'POST');
});

test('rawPredictRoute streams to the raw backend\'s proxy; a wrong rawBackend fails when routes are built', () => {
  const proxied: string[] = [];
  const backend = { name: 'flask', type: 'http', proxy: (_q: IncomingMessage, _s: ServerResponse, path: string) => { proxied.push(path); } } as unknown as Backend;
  const deps: FrontendDeps = { ...fakeDeps([fakeModel('iris')]), backend: (n) => (n === 'flask' ? backend : undefined) };
  const routes = routesFor(deps, { rawPredictRoute: '/raw', rawBackend: 'flask' });
  const raw = routes.find((r): r is RawRoute => 'raw' in r)!;
  assert.equal(raw.path, '/raw');
  raw.raw({} as IncomingMessage, {} as ServerResponse, { requestId: 'r', log: deps.log, path: '/raw?x=1', fail: () => {} });
  const fixed = routesFor(deps, { rawPredictRoute: '/raw', rawBackend: 'flask', rawBackendPath: '/predict' }).find((r): r is RawRoute => 'raw' in r)!;
  fixed.raw({} as IncomingMessage, {} as ServerResponse, { requestId: 'r', log: deps.log, path: '/raw?x=1', fail: () => {} });
  assert.deepEqual(proxied, ['/raw?x=1', '/predict?x=1']);
  assert.throws(() => routesFor(deps, { rawPredictRoute: '/raw' }), /needs rawBackend/);
  assert.throws(() => routesFor(deps, { rawPredictRoute: '/raw', rawBackend: 'nope' }), /unknown backend "nope"/);
  assert.throws(() => routesFor(deps, { rawPredictRoute: '/predict', rawBackend: 'flask' }), /must differ from predictRoute/);
  const noProxy: FrontendDeps = { ...deps, backend: () => ({ name: 'o', type: 'onnx' }) as unknown as Backend };
  assert.throws(() => routesFor(noProxy, { rawPredictRoute: '/raw', rawBackend: 'o' }), /cannot stream raw requests/);
});
