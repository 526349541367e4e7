// SSRF and traversal (reliability.md R4, catalogue rows 9–11): no client-supplied host, request
// target, path, model name, version or header makes the gateway call an address that is not in
// its config. A canary on 127.0.0.2, which no config names, must receive 0 connections, and
// traversal names get 400/404 without any backend call.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startCanary, type Canary } from '../support/canary.ts';
import { startEchoBackend, type EchoBackend } from '../support/echo-backend.ts';
import { startGateway, type RunningGateway } from '../support/gateway.ts';
import { rawExchange, rawRequest, type RawExchange } from '../support/raw-client.ts';

let canary: Canary;
let echo: EchoBackend;
let gw: RunningGateway;

before(async () => {
  canary = await startCanary('127.0.0.2');
  echo = await startEchoBackend();
  gw = await startGateway(`
frontends:
  vertex: { model: echo, predictRoute: /predict, healthRoute: /health, rawPredictRoute: /raw, rawBackend: pass }
  oci: { model: echo, predictRoute: /oci/predict, healthRoute: /oci/health }
  sagemaker: { model: echo }
  kserve: {}
backends:
  web: { type: http, url: "${echo.url}", predictPath: "/models/{model}/versions/{version}/predict" }
  pass: { type: passthrough, url: "${echo.url}/base" }
models:
  echo:
    targets: [ { backend: web, name: a }, { backend: web, name: b, weight: 0 } ]
    allowOverride: [ b ]
`);
});

after(async () => {
  await gw?.stop();
  await echo?.close();
  await canary?.close();
});

const body = '{"instances":[[1,2]]}';

function post(target: string, headers: string[] = [], host = '127.0.0.1'): Promise<RawExchange> {
  return rawExchange(gw.port, rawRequest(`POST ${target} HTTP/1.1`,
    [`Host: ${host}`, 'Content-Type: application/json', ...headers, `Content-Length: ${body.length}`], body), { expect: 1, timeoutMs: 3000 });
}

test('request-target tricks: absolute form, scheme-relative, backslash, traversal, encodings → 400/404, no backend call', async () => {
  const c = `127.0.0.2:${canary.port}`;
  const targets = [
    `http://${c}/predict`, `http://${c}/raw`, `http://${c}/v2/models/echo/infer`, `https://${c}/raw`,
    `//${c}/raw`, `//${c}/predict`, `/\\${c}/raw`, `\\\\${c}/raw`, `/raw/../..//${c}/`, `/raw/..%2F..%2F${c}`,
    `/raw@${c}`, `/raw/@${c}/`, `@${c}/raw`, `${c}/raw`, `*`,
    '/v2/models/../infer', '/v2/models/%2e%2e/infer', '/v2/models/.%2E/infer', '/v2/models/..%2F..%2Fadmin/infer',
    `/v2/models/..%2F..%2F${c}/infer`, `/v2/models/${c}/infer`, '/v2/models/echo%2F..%2F..%2Fx/infer',
    '/v2/models/echo/versions/../infer', '/v2/models/echo/versions/%2e%2e/infer', '/v2/models/echo/versions/1%2F..%2F..%2Fx/infer',
    `/v2/models/echo/versions/x@${c}/infer`, '/v2/models/ech%6F/infer', '/v2/models/ech\u043e/infer', '/v2/models/\uff45cho/infer',
    '/v2/models/e\u0301cho/infer', '/v2/models/echo%00/infer', '/v1/models/..:predict', '/v1/models/%2e%2e:predict',
    '/v2/models/echo/../../raw', '/./raw', '/raw/.', '/RAW', '/raw/', '/predict/', '/predict;x=1', '/%70redict',
  ];
  const before = echo.requests.length;
  const results = await Promise.all(targets.map(async (t) => ({ t, ex: await post(t, [], c) })));
  for (const { t, ex } of results) {
    const status = ex.responses[0]?.status;
    assert.ok(status === 400 || status === 404 || status === 405, `${t}: status ${status} ${ex.responses[0]?.body ?? ''}`);
    assert.match(ex.responses[0]!.headers['content-type'] ?? '', /^application\/json/, t);
  }
  assert.deepEqual(echo.requests.slice(before).map((r) => r.path), [], 'no backend call for a rejected target');
  assert.equal(canary.hits(), 0, `canary got: ${JSON.stringify(canary.seen)}`);
});

test('header tricks on valid routes reach only the configured origin', async () => {
  const c = `127.0.0.2:${canary.port}`;
  const cases: Array<[string, string[], string, number[]]> = [
    ['/raw', [`X-Forwarded-Host: ${c}`, `Forwarded: host=${c};proto=http`, `X-Original-URL: http://${c}/`, `X-Rewrite-URL: http://${c}/`], c, [200]],
    ['/raw?next=http://127.0.0.2/&url=//127.0.0.2', [], c, [200]],
    ['/predict', [`X-Forwarded-Host: ${c}`, `X-Forwarded-Proto: http`], c, [200]],
    ['/predict', [`x-infergate-target: http://${c}/`], '127.0.0.1', [400]],
    ['/predict', ['x-infergate-target: pass'], '127.0.0.1', [400]],
    ['/predict', ['x-infergate-target: web'], '127.0.0.1', [400]],
    ['/predict', ['x-infergate-target: ../b'], '127.0.0.1', [400]],
    ['/predict', ['x-infergate-target: b'], '127.0.0.1', [200]],
    ['/oci/predict', [`model_name: http://${c}/x`], '127.0.0.1', [400, 404]],
    ['/oci/predict', ['model_name: ../echo'], '127.0.0.1', [400, 404]],
    ['/oci/predict', ['model_name: echo%2F..%2F..'], '127.0.0.1', [400, 404]],
    ['/oci/predict', ['model_name: echo', 'model_version: ../../x'], '127.0.0.1', [400, 404]],
    ['/oci/predict', ['model_name: echo', `model_version: 1@${c}`], '127.0.0.1', [400, 404]],
    ['/oci/predict', ['model_name: echo', 'model_version: 1%2F..'], '127.0.0.1', [400, 404]],
    ['/invocations', [`X-Amzn-SageMaker-Target-Model: http://${c}/x.tar.gz`], '127.0.0.1', [200, 400, 404]],
    ['/invocations', ['X-Amzn-SageMaker-Target-Model: ../../echo.tar.gz'], '127.0.0.1', [200, 400, 404]],
  ];
  const before = echo.requests.length;
  for (const [target, headers, host, allowed] of cases) {
    const ex = await post(target, headers, host);
    const res = ex.responses[0];
    assert.ok(res !== undefined && allowed.includes(res.status), `${target} ${headers.join('; ')}: ${res?.status} ${res?.body}`);
    assert.doesNotMatch(res.body, /"predictions":\[42\]/, 'the canary answered');
  }
  // Everything that reached a backend went to the configured origin and path shapes only.
  for (const r of echo.requests.slice(before)) {
    assert.match(r.path, /^\/base\/raw(\?|$)|^\/models\/echo\/versions\/\/predict$/, `unexpected backend path ${r.path}`);
  }
  assert.equal(canary.hits(), 0, `canary got: ${JSON.stringify(canary.seen)}`);
});

test('CONNECT and absolute-form GETs are not proxied', async () => {
  const c = `127.0.0.2:${canary.port}`;
  for (const bytes of [
    rawRequest(`CONNECT ${c} HTTP/1.1`, [`Host: ${c}`]),
    rawRequest(`GET http://${c}/ HTTP/1.1`, [`Host: ${c}`]),
    rawRequest(`GET http://${c}/health HTTP/1.1`, [`Host: ${c}`]),
    rawRequest('GET /health HTTP/1.1', [`Host: ${c}`, 'Max-Forwards: 0', `Via: 1.1 ${c}`]),
  ]) {
    const ex = await rawExchange(gw.port, bytes, { expect: 1, timeoutMs: 2000 });
    const status = ex.responses[0]?.status;
    assert.ok(status === undefined ? ex.closedByServer : status < 500, `${bytes.split('\r\n')[0]}: ${status}`);
  }
  assert.equal(canary.hits(), 0, `canary got: ${JSON.stringify(canary.seen)}`);
});

test('the canary does count a direct request (the checks above can fail)', async () => {
  const before = canary.hits();
  const res = await fetch(`http://127.0.0.2:${canary.port}/x`, { method: 'POST', body });
  assert.equal(res.status, 200);
  await res.arrayBuffer();
  assert.equal(canary.hits(), before + 1);
});
