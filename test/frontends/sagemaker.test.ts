// SageMaker frontend, inject-style (no socket): /ping, /invocations with JSON rows, v2 tensors,
// Triton-on-SageMaker binary and text/csv (answered in CSV when accepted), the target-model
// header, content types and the 6 MB response limit.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeBinaryResponse, encodeBinaryRequest } from '../../src/codecs/v2-binary.ts';
import { sagemaker } from '../../src/frontends/sagemaker.ts';
import type { FrontendDeps } from '../../src/types.ts';
import { fakeDeps, fakeModel, inject } from '../support/fake-request.ts';

const sum = (row: unknown): number => (row as number[]).reduce((a, b) => a + b, 0);
const iris = fakeModel('iris', { infer: (req) => ({ predictions: req.instances?.map(sum) }) });
const routesFor = (d: FrontendDeps = fakeDeps([iris]), extra: Record<string, unknown> = {}) =>
  sagemaker.routes(sagemaker.schema.parse({ model: 'iris', ...extra }), d);

test('schema: 6 MB response limit by default', () => {
  assert.equal(sagemaker.schema.parse({ model: 'iris' }).maxResponseBytes, 6 * 1024 * 1024);
});

test('GET /ping: 200 with an empty body when ready, 503 not_ready otherwise', async () => {
  const d = fakeDeps([iris]);
  const ok = await inject(routesFor(d), 'GET', '/ping');
  assert.equal(ok.status, 200);
  assert.equal(ok.raw.length, 0);
  d.setReady(false);
  const no = await inject(routesFor(d), 'GET', '/ping');
  assert.equal(no.status, 503);
  assert.equal(no.json().code, 'not_ready');
});

test('POST /invocations with JSON rows → JSON predictions', async () => {
  const r = await inject(routesFor(), 'POST', '/invocations', { body: { instances: [[1, 2], [3, 4]] } });
  assert.equal(r.status, 200);
  assert.deepEqual(r.json(), { predictions: [3, 7] });
});

test('text/csv rows of numbers → instances; CSV answer when Accept is text/csv, JSON otherwise', async () => {
  const csv = await inject(routesFor(), 'POST', '/invocations', { body: '1,2\n3.5, 4\r\n\n', headers: { 'content-type': 'text/csv', accept: 'text/csv' } });
  assert.equal(csv.status, 200);
  assert.equal(csv.headers['content-type'], 'text/csv');
  assert.equal(csv.text(), '3\n7.5\n');
  const json = await inject(routesFor(), 'POST', '/invocations', { body: '1,2', headers: { 'content-type': 'text/csv; charset=utf-8' } });
  assert.deepEqual(json.json(), { predictions: [3] });
  const jsonFirst = await inject(routesFor(), 'POST', '/invocations', { body: '1,2', headers: { 'content-type': 'text/csv', accept: 'application/json, text/csv' } });
  assert.deepEqual(jsonFirst.json(), { predictions: [3] });
  // JSON in, CSV out; rows become comma-separated lines, an object its values as cells.
  const rows = fakeModel('iris', { infer: () => ({ predictions: [[1, 2], 'a,b', { label: 1, probabilities: [0.25, 0.75] }] }) });
  const r = await inject(routesFor(fakeDeps([rows])), 'POST', '/invocations', { body: { instances: [1, 2, 3] }, headers: { accept: 'text/csv' } });
  assert.equal(r.text(), '1,2\n"a,b"\n1,0.25,0.75\n');
});

test('Accept is honoured with q-values and wildcards; one that allows nothing offered is 406 naming what is', async () => {
  const ask = (accept: string) => inject(routesFor(), 'POST', '/invocations', { body: '1,2\n3,4', headers: { 'content-type': 'text/csv', accept } });
  assert.equal((await ask('text/csv;q=0.5, application/json;q=0.9')).headers['content-type'], 'application/json');
  assert.equal((await ask('application/json;q=0, text/*')).headers['content-type'], 'text/csv');
  assert.equal((await ask('*/*')).headers['content-type'], 'application/json');
  const lines = await ask('application/jsonlines');
  assert.equal(lines.headers['content-type'], 'application/jsonlines');
  assert.equal(lines.text(), '3\n7\n');
  const refused = await ask('image/png, text/html');
  assert.equal(refused.status, 406);
  assert.equal(refused.json().code, 'not_acceptable');
  assert.match(refused.json().error, /"image\/png, text\/html" allows none of .*application\/json, text\/csv, application\/jsonlines/);
  // A v2 tensor answer is JSON or binary: CSV is not offered for it.
  const tensors = await inject(routesFor(fakeDeps([fakeModel('iris')])), 'POST', '/invocations', {
    body: { inputs: [{ name: 'x', datatype: 'FP32', shape: [1], data: [1] }] }, headers: { accept: 'text/csv' },
  });
  assert.equal(tensors.status, 406);
});

test('JSON Lines in: one instance per line; a bad line is 400 naming it', async () => {
  const r = await inject(routesFor(), 'POST', '/invocations', { body: '[1,2]\n\n[3,4]\n', headers: { 'content-type': 'application/jsonlines', accept: 'application/jsonlines' } });
  assert.equal(r.status, 200);
  assert.equal(r.text(), '3\n7\n');
  const bad = await inject(routesFor(), 'POST', '/invocations', { body: '[1,2]\n[3,\n', headers: { 'content-type': 'application/jsonl' } });
  assert.equal(bad.status, 400);
  assert.match(bad.json().error, /^JSON Lines line 2: /);
});

test('X-Amzn-SageMaker-Custom-Attributes goes on to the backend as it came; a value SageMaker would refuse is 400', async () => {
  let seen: Record<string, string> | undefined;
  const model = fakeModel('iris', { infer: (_req, ctx) => { seen = { ...ctx.forward }; return { predictions: [1] }; } });
  const r = await inject(routesFor(fakeDeps([model])), 'POST', '/invocations', { body: { instances: [1] }, headers: { 'x-amzn-sagemaker-custom-attributes': 'trace=abc,k=v' } });
  assert.equal(r.status, 200);
  assert.equal(seen?.['x-amzn-sagemaker-custom-attributes'], 'trace=abc,k=v');
  const long = await inject(routesFor(fakeDeps([model])), 'POST', '/invocations', { body: { instances: [1] }, headers: { 'x-amzn-sagemaker-custom-attributes': 'x'.repeat(1025) } });
  assert.equal(long.status, 400);
});

test('bad CSV → 400 naming line and column; empty CSV → 400', async () => {
  const r = await inject(routesFor(), 'POST', '/invocations', { body: '1,2\n3,abc\n', headers: { 'content-type': 'text/csv' } });
  assert.equal(r.status, 400);
  assert.match(r.json().error, /line 2, column 2: "abc" is not a number/);
  const e = await inject(routesFor(), 'POST', '/invocations', { body: '\n\n', headers: { 'content-type': 'text/csv' } });
  assert.equal(e.status, 400);
  assert.match(e.json().error, /no rows/);
});

test('bad JSON bodies → 400 naming the problem; other content types → 415 naming text/csv too', async () => {
  const cases: Array<[string, RegExp]> = [
    ['{', /not valid JSON/],
    ['[]', /request body is an array/],
    ['{"instance": [1]}', /no "instances"/],
    ['{"instances": 1}', /"instances" must be an array/],
    ['{"instances": []}', /empty array/],
    ['{"instances": [1], "parameters": []}', /"parameters" must be a JSON object/],
  ];
  for (const [body, message] of cases) {
    const r = await inject(routesFor(), 'POST', '/invocations', { body, headers: { 'content-type': 'application/json' } });
    assert.equal(r.status, 400, body);
    assert.match(r.json().error, message, body);
  }
  const t = await inject(routesFor(), 'POST', '/invocations', { body: 'x', headers: { 'content-type': 'image/jpeg' } });
  assert.equal(t.status, 415);
  assert.equal(t.json().code, 'unsupported_media_type');
  assert.match(t.json().error, /"image\/jpeg".*application\/json.*text\/csv.*vnd\.sagemaker-triton\.binary\+json/);
});

test('X-Amzn-SageMaker-Target-Model picks the model it names; an unknown one is 404 naming the loaded models, never the default', async () => {
  const other = fakeModel('resnet', { infer: () => ({ predictions: ['resnet'] }) });
  const d = fakeDeps([iris, other]);
  const a = await inject(routesFor(d), 'POST', '/invocations', { body: { instances: [[1]] }, headers: { 'x-amzn-sagemaker-target-model': 'resnet.tar.gz' } });
  assert.deepEqual(a.json(), { predictions: ['resnet'] });
  const b = await inject(routesFor(d), 'POST', '/invocations', { body: { instances: [[1]] }, headers: { 'x-amzn-sagemaker-target-model': 'unknown.tar.gz' } });
  assert.equal(b.status, 404);
  assert.deepEqual(b.json(), { code: 'model_not_found', error: 'model "unknown.tar.gz" is not loaded; loaded models: "iris", "resnet"' });
  const c = await inject(routesFor(d), 'POST', '/invocations', { body: { instances: [[1]] }, headers: { 'x-amzn-sagemaker-target-model': 'prefix/resnet.tar.gz' } });
  assert.deepEqual(c.json(), { predictions: ['resnet'] }, 'a relative path names the artifact');
});

test('v2 tensors as JSON, and Triton-on-SageMaker binary framing both ways', async () => {
  const echo = fakeModel('iris');
  // INT64 above 2^53 stays exact through the JSON path.
  const j = await inject(routesFor(fakeDeps([echo])), 'POST', '/invocations', {
    body: '{"inputs": [{"name": "x", "datatype": "INT64", "shape": [1], "data": [9007199254740993]}]}',
    headers: { 'content-type': 'application/json' },
  });
  assert.equal(j.status, 200);
  assert.match(j.text(), /"data":\[9007199254740993\]/);
  const { body, headerLength } = encodeBinaryRequest({ inputs: [{ name: 'x', datatype: 'FP64', shape: [2], data: new Float64Array([0.25, 8]) }] }, { binaryOutputs: true });
  const r = await inject(routesFor(fakeDeps([echo])), 'POST', '/invocations', {
    body, headers: { 'content-type': `application/vnd.sagemaker-triton.binary+json;json-header-size=${headerLength}` },
  });
  assert.equal(r.status, 200);
  const m = /^application\/vnd\.sagemaker-triton\.binary\+json;json-header-size=(\d+)$/.exec(r.headers['content-type']!);
  assert.ok(m, r.headers['content-type']);
  const res = decodeBinaryResponse(r.raw, Number(m[1]), 'gateway');
  assert.deepEqual([...(res.outputs![0]!.data as Float64Array)], [0.25, 8]);
});

test('the answer above maxResponseBytes → 413 response_too_large, in JSON and in CSV', async () => {
  const big = fakeModel('iris', { infer: () => ({ predictions: [Array.from({ length: 400 }, (_, i) => i)] }) });
  const routes = routesFor(fakeDeps([big]), { maxResponseBytes: 1000 });
  const j = await inject(routes, 'POST', '/invocations', { body: { instances: [1] } });
  assert.equal(j.status, 413);
  assert.match(j.json().error, /limit of 1000 bytes \(frontends\.sagemaker\.maxResponseBytes\)/);
  const c = await inject(routes, 'POST', '/invocations', { body: '1', headers: { 'content-type': 'text/csv', accept: 'text/csv' } });
  assert.equal(c.status, 413);
  assert.equal(c.json().code, 'response_too_large');
});
