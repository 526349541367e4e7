// Logs without leaks (issue 9 item 8): with the default logging, request bodies never reach the
// gateway's output, whether the request succeeds, is refused or fails at the backend; at debug,
// the per-request lines still carry no body.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startEchoBackend, type EchoBackend } from '../support/echo-backend.ts';
import { startGateway, type RunningGateway } from '../support/gateway.ts';

let echo: EchoBackend;
const gateways: RunningGateway[] = [];

before(async () => {
  echo = await startEchoBackend();
});

after(async () => {
  await Promise.all(gateways.map((g) => g.stop()));
  await echo?.close();
});

const config = (level: string): string => `
server: { logLevel: ${level} }
frontends:
  vertex: { model: web, predictRoute: /predict, healthRoute: /health, rawPredictRoute: /raw, rawBackend: pass }
  kserve: {}
backends:
  echo: { type: http, url: "${echo.url}" }
  pass: { type: passthrough, url: "${echo.url}" }
  gone: { type: http, url: "http://127.0.0.1:9" }
models:
  web: { targets: [ { backend: echo } ] }
  down: { timeoutMs: 500, targets: [ { backend: gone } ] }
`;

// Bodies carrying a marker, sent where they succeed, are refused, or fail upstream.
async function sendMarked(url: string, marker: string): Promise<void> {
  const bodies: Array<[string, string]> = [
    ['/predict', `{"instances":[["${marker}-ok"]]}`],
    ['/predict', `{"instances":[[1,2]],"parameters":{"note":"${marker}-param"}}`],
    ['/raw', `{"anything":"${marker}-raw"}`],
    ['/v2/models/web/infer', `{"inputs":[{"name":"x","datatype":"BYTES","shape":[1],"data":["${marker}-tensor"]}]}`],
    ['/v2/models/down/infer', `{"inputs":[{"name":"x","datatype":"FP32","shape":[1],"data":[1]}],"id":"${marker}-down"}`],
    ['/predict', `{"instances": [[1,2]], "x": ${marker}-not-json}`],
    ['/predict', `${marker}-plain-text`],
  ];
  for (const [path, body] of bodies) {
    const res = await fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    await res.arrayBuffer();
  }
}

test('default logging: no request body in the output, whatever the outcome', async () => {
  const gw = await startGateway(config('info'));
  gateways.push(gw);
  const marker = 'BODYMARKER7Q';
  await sendMarked(gw.url, marker);
  await new Promise((r) => setTimeout(r, 300));
  const logs = gw.logs();
  assert.match(logs, /"message":"started"/);
  assert.equal(logs.includes(marker), false, logs.split('\n').filter((l) => l.includes(marker)).join('\n'));
});

test('debug logging: the request lines carry method, path and status, not bodies', async () => {
  const gw = await startGateway(config('debug'));
  gateways.push(gw);
  const marker = 'DEBUGMARKER9Z';
  await sendMarked(gw.url, marker);
  await new Promise((r) => setTimeout(r, 300));
  const lines = gw.logs().split('\n');
  assert.ok(lines.some((l) => l.includes('"message":"request"')), 'debug request lines are there');
  const leaked = lines.filter((l) => l.includes(marker));
  assert.deepEqual(leaked, [], 'no line quotes a body, not even a refused one');
});
