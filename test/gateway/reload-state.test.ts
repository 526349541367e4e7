// Reloads keep what the running gateway learned, through the real gateway process: a target
// whose effective config did not change keeps its path (an open breaker stays open), a model
// whose config did not change keeps its model stages (a rolled-back canary stays rolled back),
// and reloads that arrive while one runs join the next one instead of each applying (issue 14
// item 10).

import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, test } from 'node:test';
import { startFaultBackend, type FaultBackend } from '../support/fault-backend.ts';
import { startGateway, type RunningGateway } from '../support/gateway.ts';

let good: FaultBackend;
let bad: FaultBackend;
let slowHealth: Server;
let slowHealthPort = 0;
before(async () => {
  good = await startFaultBackend();
  bad = await startFaultBackend();
  await bad.setMode({ kind: 'status', status: 500 });
  // A backend whose health check takes 300 ms: a reload (which polls health) takes that long.
  slowHealth = createServer((req, res) => {
    req.resume();
    if (req.method === 'GET') setTimeout(() => res.writeHead(200).end('{}'), 300);
    else res.writeHead(200, { 'content-type': 'application/json' }).end('{"predictions":[1]}');
  });
  await new Promise<void>((r) => slowHealth.listen(0, '127.0.0.1', () => r()));
  slowHealthPort = (slowHealth.address() as { port: number }).port;
});
after(async () => {
  await good.close();
  await bad.close();
  slowHealth.closeAllConnections();
  await new Promise((r) => slowHealth.close(r));
});

const predict = (gw: RunningGateway, path = '/predict'): Promise<Response> =>
  fetch(`${gw.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"instances": [[1, 2]]}' });

interface TargetStatus { name: string; breaker?: { state: string } }
interface ModelStatus { rollback?: { state: string }; targets: TargetStatus[] }
const modelStatus = async (gw: RunningGateway, model: string): Promise<ModelStatus> =>
  ((await (await fetch(`${gw.adminUrl}/admin/status`)).json()) as { models: Record<string, ModelStatus> }).models[model]!;

const applied = async (gw: RunningGateway): Promise<number> => {
  const text = await (await fetch(`${gw.adminUrl}/metrics`)).text();
  return Number(/infergate_config_reloads_total\{outcome="applied"\} (\d+)/.exec(text)?.[1] ?? 0);
};

test('an open breaker stays open across a reload of the same file', async (t) => {
  const gw = await startGateway(`
server: { healthIntervalMs: 200, drainDelaySeconds: 0 }
frontends:
  vertex: { model: m, predictRoute: /predict, healthRoute: /health }
backends:
  bad: { type: http, url: "${bad.url}" }
models:
  m:
    breaker: { volumeThreshold: 5, errorThresholdPercentage: 50, resetTimeoutMs: 5m, rollingCountTimeoutMs: 5m }
    targets: [ { backend: bad } ]
`);
  t.after(() => gw.stop());
  for (let i = 0; i < 10; i++) await (await predict(gw)).arrayBuffer();
  assert.equal((await modelStatus(gw, 'm')).targets[0]!.breaker!.state, 'open');
  const calls = bad.calls();
  const reload = await fetch(`${gw.adminUrl}/admin/reload`, { method: 'POST' });
  assert.equal(reload.status, 200, await reload.text());
  assert.equal((await modelStatus(gw, 'm')).targets[0]!.breaker!.state, 'open', 'the reload kept the breaker');
  const r = await predict(gw);
  assert.equal(r.status, 503, await r.text());
  assert.equal(bad.calls(), calls, 'the open breaker keeps calls off the failing backend after the reload');
});

test('a rolled-back canary stays rolled back across a reload that changes another model only', async (t) => {
  const yaml = (otherTimeout: string): string => `
server: { healthIntervalMs: 200, drainDelaySeconds: 0 }
frontends:
  vertex: { model: m, predictRoute: /predict, healthRoute: /health }
  sagemaker: { model: n }
backends:
  good: { type: http, url: "${good.url}" }
  bad: { type: http, url: "${bad.url}" }
models:
  m:
    rollback: { canary: canary, primary: primary, minRequests: 5, windowMs: 5m }
    targets:
      - { name: primary, backend: good, weight: 50 }
      - { name: canary, backend: bad, weight: 50 }
  n: { timeoutMs: ${otherTimeout}, targets: [ { backend: good } ] }
`;
  const gw = await startGateway(yaml('5s'));
  t.after(() => gw.stop());
  for (let i = 0; i < 40 && (await modelStatus(gw, 'm')).rollback!.state !== 'rolledBack'; i++) await (await predict(gw)).arrayBuffer();
  assert.equal((await modelStatus(gw, 'm')).rollback!.state, 'rolledBack');
  gw.writeConfig(yaml('6s'));
  const reload = await fetch(`${gw.adminUrl}/admin/reload`, { method: 'POST' });
  assert.equal(reload.status, 200, await reload.text());
  assert.equal((await modelStatus(gw, 'm')).rollback!.state, 'rolledBack', 'the reload kept the rollback decision');
  const calls = bad.calls();
  for (let i = 0; i < 10; i++) {
    const r = await predict(gw);
    assert.equal(r.status, 200, await r.text());
    assert.equal(r.headers.get('x-infergate-target'), 'primary');
  }
  assert.equal(bad.calls(), calls, 'the rolled-back canary gets no traffic after the reload');
  const n = await fetch(`${gw.url}/invocations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"instances": [[1]]}' });
  assert.equal(n.status, 200, await n.text());
});

test('50 parallel reloads apply at most twice; every caller gets the result of the one it joined', async (t) => {
  const gw = await startGateway(`
server: { healthIntervalMs: 1s, drainDelaySeconds: 0 }
frontends:
  vertex: { model: m, predictRoute: /predict, healthRoute: /health }
backends:
  be: { type: http, url: "http://127.0.0.1:${slowHealthPort}" }
models:
  m: { targets: [ { backend: be } ] }
`);
  t.after(() => gw.stop());
  const before = await applied(gw);
  const answers = await Promise.all(Array.from({ length: 50 }, async () => {
    const r = await fetch(`${gw.adminUrl}/admin/reload`, { method: 'POST' });
    return { status: r.status, body: await r.text() };
  }));
  for (const a of answers) assert.equal(a.status, 200, a.body);
  const grown = (await applied(gw)) - before;
  assert.ok(grown >= 1 && grown <= 2, `reloads applied: ${grown}`);
  assert.equal((await predict(gw)).status, 200);
});
