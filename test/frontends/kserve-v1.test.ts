// KServe v1 frontend, inject-style (no socket): list, model readiness, :predict with rows and
// every bad body, unknown models, content types and the response limit.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { kserveV1 } from '../../src/frontends/kserve-v1.ts';
import type { FrontendDeps } from '../../src/types.ts';
import { fakeDeps, fakeModel, inject } from '../support/fake-request.ts';

const half = fakeModel('half_plus_three', { target: 'tfs/half_plus_three', infer: (req) => ({ predictions: req.instances!.map((x) => (x as number) / 2 + 3) }) });
const sleepy = fakeModel('sleepy', { ready: false });
const routesFor = (d: FrontendDeps = fakeDeps([half, sleepy]), extra: Record<string, unknown> = {}) => kserveV1.routes(kserveV1.schema.parse(extra), d);

test('GET /v1/models lists every model', async () => {
  const r = await inject(routesFor(), 'GET', '/v1/models');
  assert.deepEqual(r.json(), { models: ['half_plus_three', 'sleepy'] });
});

test('GET /v1/models/{m}: {name, ready} when ready, 503 when not, 404 when unknown', async () => {
  const a = await inject(routesFor(), 'GET', '/v1/models/half_plus_three');
  assert.deepEqual([a.status, a.json()], [200, { name: 'half_plus_three', ready: true }]);
  const b = await inject(routesFor(), 'GET', '/v1/models/sleepy');
  assert.equal(b.status, 503);
  assert.match(b.json().error, /"sleepy" is not ready/);
  const c = await inject(routesFor(), 'GET', '/v1/models/nope');
  assert.equal(c.status, 404);
  assert.equal(c.json().code, 'model_not_found');
});

test('POST :predict (the TF Serving example): instances → predictions, target header', async () => {
  const r = await inject(routesFor(), 'POST', '/v1/models/half_plus_three:predict', { body: { instances: [1.0, 2.0, 5.0] } });
  assert.equal(r.status, 200);
  assert.deepEqual(r.json(), { predictions: [3.5, 4.0, 5.5] });
  assert.equal(r.headers['x-infergate-target'], 'tfs/half_plus_three');
});

test('bad bodies → 400 naming the problem; v2 tensors are not v1', async () => {
  const cases: Array<[string, RegExp]> = [
    ['{"instances": [1.0,', /not valid JSON/],
    ['null', /request body is null; expected a JSON object/],
    ['{"inputs": {"x": [1]}}', /no "instances"; expected \{"instances": \[\.\.\.\], "parameters": \{\.\.\.\}\}$/],
    ['{"instances": 1}', /"instances" must be an array/],
    ['{"instances": []}', /empty array/],
    ['{"instances": [1], "parameters": null}', /"parameters" must be a JSON object, got null/],
  ];
  for (const [body, message] of cases) {
    const r = await inject(routesFor(), 'POST', '/v1/models/half_plus_three:predict', { body, headers: { 'content-type': 'application/json' } });
    assert.equal(r.status, 400, body);
    assert.match(r.json().error, message, body);
  }
  assert.equal(half.calls.length, 1, 'only the good request of the previous test reached the model');
});

test('unknown model → 404; wrong content type → 415; GET on :predict → 405; wrong count → 502', async () => {
  const a = await inject(routesFor(), 'POST', '/v1/models/nope:predict', { body: { instances: [1] } });
  assert.equal(a.status, 404);
  assert.match(a.json().error, /"nope" is not served here; models: "half_plus_three", "sleepy"/);
  const b = await inject(routesFor(), 'POST', '/v1/models/half_plus_three:predict', { body: 'x', headers: { 'content-type': 'application/xml' } });
  assert.equal(b.status, 415);
  assert.match(b.json().error, /"application\/xml" is not accepted here; send application\/json$/);
  const c = await inject(routesFor(), 'GET', '/v1/models/half_plus_three:predict');
  assert.equal(c.status, 405);
  const wrong = fakeModel('half_plus_three', { infer: () => ({ predictions: [] }) });
  const d = await inject(routesFor(fakeDeps([wrong])), 'POST', '/v1/models/half_plus_three:predict', { body: { instances: [1] } });
  assert.equal(d.status, 502);
  assert.match(d.json().error, /0 predictions for 1 instances/);
});

test('response limit → 413 response_too_large; v1: false serves nothing', async () => {
  const r = await inject(routesFor(undefined, { maxResponseBytes: 10 }), 'POST', '/v1/models/half_plus_three:predict', { body: { instances: [1, 2, 3] } });
  assert.equal(r.status, 413);
  assert.match(r.json().error, /limit of 10 bytes/);
  assert.deepEqual(routesFor(undefined, { v1: false }), []);
});
