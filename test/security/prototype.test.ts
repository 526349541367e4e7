// Prototype pollution (catalogue row 7): `__proto__` / `constructor.prototype` keys in bodies,
// tensor names, parameters, headers and path names answer < 500 and change nothing: the same
// set of normal requests answers byte for byte the same before and after the attempts.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startEchoBackend, type EchoBackend } from '../support/echo-backend.ts';
import { startGateway, type RunningGateway } from '../support/gateway.ts';

let echo: EchoBackend;
let gw: RunningGateway;
let input = 'input';

before(async () => {
  echo = await startEchoBackend();
  gw = await startGateway(`
frontends:
  vertex: { model: web, predictRoute: /predict, healthRoute: /health }
  oci: { model: web, predictRoute: /oci/predict, healthRoute: /oci/health }
  kserve: {}
backends:
  local: { type: onnx, modelRepository: backends/onnx }
  echo: { type: http, url: "${echo.url}" }
models:
  iris: { timeoutMs: 5000, targets: [ { backend: local } ] }
  web:
    timeoutMs: 5000
    targets: [ { backend: echo, name: a }, { backend: echo, name: b, weight: 0 } ]
    allowOverride: [ b ]
    sticky: { header: x-user }
`);
  const meta = await (await fetch(`${gw.url}/v2/models/iris`)).json() as { inputs: Array<{ name: string }> };
  input = meta.inputs[0]!.name;
});

after(async () => {
  await gw?.stop();
  await echo?.close();
});

interface Probe { path: string; method?: string; headers?: Record<string, string>; body?: string; expect?: RegExp }

// normal is a fixed set of ordinary requests whose answers must not change.
const normal = (): Probe[] => [
  { path: '/predict', body: '{"instances":[[1,2],[3,4]]}' },
  { path: '/predict', body: '{"instances":[[1,2]],"parameters":{"k":1}}', headers: { 'x-user': 'u1' } },
  { path: '/predict', body: '{"instances":[[1,2]]}', headers: { 'x-infergate-target': 'b' } },
  { path: '/predict', body: '{"instances":[[1,2]]}', headers: { 'x-infergate-target': 'c' } },
  { path: '/predict', body: '{"nothing":1}' },
  { path: '/oci/predict', body: '{"instances":[[5,6]]}' },
  { path: '/oci/predict', body: '{"instances":[[5,6]]}', headers: { model_name: 'polluted' } },
  { path: '/v2/models/iris/infer', body: JSON.stringify({ inputs: [{ name: input, datatype: 'FP32', shape: [1, 4], data: [5.1, 3.5, 1.4, 0.2] }] }) },
  { path: '/v2/models/iris/infer', body: JSON.stringify({ inputs: [{ name: input, datatype: 'FP32', shape: [1, 3], data: [5.1, 3.5, 1.4] }] }) },
  { path: '/v2/models/polluted/infer', body: '{}' },
  { path: '/v2/models/iris', method: 'GET' },
  { path: '/v2/models/polluted', method: 'GET' },
  { path: '/v2/health/ready', method: 'GET' },
  { path: '/v1/models', method: 'GET' },
];

async function answer(p: Probe): Promise<string> {
  const res = await fetch(`${gw.url}${p.path}`, {
    method: p.method ?? 'POST', headers: { 'content-type': 'application/json', ...p.headers }, body: p.body,
  });
  const headers = [...res.headers].filter(([k]) => !['date', 'x-request-id', 'keep-alive', 'connection'].includes(k));
  return `${res.status} ${JSON.stringify(headers)} ${await res.text()}`;
}

const pollutions = (): Probe[] => {
  const row = '"instances":[[1,2]]';
  const proto = '{"polluted":"yes","instances":[[9,9]],"status":500,"code":"internal","headers":{"x-polluted":"1"},"allowOverride":["a","b","c"],"weight":100,"timeoutMs":1,"maxBatchSize":0,"ready":false,"predictions":[7],"outputs":[]}';
  const tensor = (name: string): string => `{"name":"${name}","datatype":"FP32","shape":[1,4],"data":[1,2,3,4]}`;
  return [
    // The own "instances" is read, never the one under __proto__ ([[9,9]] would sum to 18).
    { path: '/predict', body: `{"__proto__":${proto},${row}}`, expect: /^200 .*\{"predictions":\[3\]\}$/ },
    { path: '/predict', body: `{"constructor":{"prototype":${proto}},${row}}`, expect: /^200 .*\{"predictions":\[3\]\}$/ },
    { path: '/predict', body: `{"__proto__":${proto}}`, expect: /^400 / },
    { path: '/predict', body: `{${row},"parameters":{"__proto__":${proto},"constructor":{"prototype":${proto}}}}` },
    { path: '/predict', body: `{"instances":[{"__proto__":${proto}},{"constructor":{"prototype":{"x":1}}}]}` },
    { path: '/predict', body: `{"__proto__":[],${row}}` },
    { path: '/predict', body: `{"instances":{"__proto__":[[1,2]],"length":1}}`, expect: /^400 / },
    { path: '/predict', body: `{${row}}`, headers: { 'x-user': '__proto__' } },
    { path: '/predict', body: `{${row}}`, headers: { 'x-infergate-target': '__proto__' } },
    { path: '/predict', body: `{${row}}`, headers: { 'x-infergate-target': 'constructor' } },
    { path: '/predict', body: `{${row}}`, headers: { 'x-infergate-target': 'toString' } },
    { path: '/predict', body: `{${row}}`, headers: { __proto__: 'polluted', constructor: 'x', prototype: 'y' } as Record<string, string> },
    { path: '/predict', body: `{${row}}`, headers: { 'x-request-timeout-ms': '__proto__', 'x-request-id': '__proto__' } },
    { path: '/predict', body: `{${row}}`, headers: { 'content-type': 'application/json; __proto__=x; constructor=y' } },
    { path: '/oci/predict', body: `{${row}}`, headers: { model_name: '__proto__' } },
    { path: '/oci/predict', body: `{${row}}`, headers: { model_name: 'constructor' } },
    { path: '/oci/predict', body: `{${row}}`, headers: { model_name: 'hasOwnProperty' } },
    { path: '/oci/predict', body: `{${row}}`, headers: { model_name: 'web', model_version: 'constructor' } },
    { path: '/v2/models/iris/infer', body: `{"inputs":[${tensor('__proto__')}]}` },
    { path: '/v2/models/iris/infer', body: `{"inputs":[${tensor('constructor')}]}` },
    { path: '/v2/models/iris/infer', body: `{"inputs":[${tensor(input)}],"outputs":[{"name":"__proto__"},{"name":"constructor"}]}` },
    { path: '/v2/models/iris/infer', body: `{"inputs":[${tensor(input)}],"parameters":{"__proto__":${proto}},"__proto__":${proto}}` },
    { path: '/v2/models/iris/infer', body: `{"inputs":[{"__proto__":${proto},"name":"${input}","datatype":"FP32","shape":[1,4],"data":[1,2,3,4]}]}` },
    { path: '/v2/models/iris/infer', body: `{"inputs":{"__proto__":[${tensor(input)}]}}`, expect: /^400 / },
    { path: '/v2/models/iris/infer', body: `{"__proto__":{"inputs":[${tensor(input)}]}}`, expect: /^400 / },
    { path: '/v2/models/constructor/infer', body: '{}' },
    { path: '/v2/models/toString/infer', body: '{}' },
    { path: '/v2/models/hasOwnProperty/ready', method: 'GET' },
    { path: '/v2/models/__proto__', method: 'GET' },
    { path: '/v2/models/valueOf/versions/constructor/infer', body: '{}' },
    { path: '/v2/models/iris/versions/constructor/infer', body: `{"inputs":[${tensor(input)}]}` },
    { path: '/v2/models/iris/versions/__proto__/infer', body: `{"inputs":[${tensor(input)}]}` },
    { path: '/v1/models/constructor:predict', body: `{${row}}` },
    { path: '/v1/models/iris:predict', body: `{"__proto__":${proto},"instances":[[5.1,3.5,1.4,0.2]]}` },
  ];
};

test('__proto__ and constructor keys in bodies, headers and names: < 500, and nothing changes afterwards', async () => {
  const beforeAnswers = [];
  for (const p of normal()) beforeAnswers.push(await answer(p));
  for (const p of pollutions()) {
    const a = await answer(p);
    const status = Number(a.slice(0, 3));
    assert.ok(status < 500, `${p.path} ${JSON.stringify(p.headers ?? {})} ${p.body ?? ''}: ${a.slice(0, 300)}`);
    if (p.expect !== undefined) assert.match(a, p.expect, `${p.path} ${p.body}`);
    // A pollution that reached a reply's headers or status would show here.
    assert.doesNotMatch(a.slice(0, a.indexOf(']') + 1), /polluted/, `${p.path}: ${a.slice(0, 300)}`);
  }
  const afterAnswers = [];
  for (const p of normal()) afterAnswers.push(await answer(p));
  assert.deepEqual(afterAnswers, beforeAnswers);
  // The model names that are Object.prototype members are unknown models, not crashes.
  for (const name of ['constructor', 'toString', 'hasOwnProperty', 'valueOf', 'isPrototypeOf']) {
    const res = await fetch(`${gw.url}/v2/models/${name}`);
    assert.equal(res.status, 404, name);
    await res.arrayBuffer();
  }
  assert.doesNotMatch(gw.logs(), /uncaught exception|"severity":"(ERROR|CRITICAL)"/);
});

test('the backend never received rows the client did not send at the top level', () => {
  for (const r of echo.requests.filter((x) => x.method === 'POST')) {
    const doc = JSON.parse(r.body) as { instances?: unknown };
    assert.notDeepEqual(doc.instances, [[9, 9]], r.body);
  }
});
