// Lifecycle through the real gateway process: readiness follows the backend, SIGTERM under load
// loses no in-flight request and exits 0 within drainSeconds, /admin/status and /metrics answer.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startGateway, type RunningGateway } from '../support/gateway.ts';
import { waitFor } from '../support/wait-for.ts';
import { startNodeServer, type Proc } from '../../bench/support/processes.ts';

let backend: Proc;

before(async () => {
  backend = await startNodeServer(new URL('../support/slow-backend.ts', import.meta.url).href);
});
after(() => backend.stop());

const config = (port: number, extra = ''): string => `
version: "lifecycle-1"
server: { drainSeconds: 10, drainDelaySeconds: 0.2, healthIntervalMs: 100 ${extra} }
frontends:
  vertex: { model: m, predictRoute: /predict, healthRoute: /health }
  sagemaker: { model: m }
backends:
  slow: { type: http, url: "http://127.0.0.1:${port}", predictPath: /predict, healthPath: /health }
models:
  m: { timeoutMs: 5000, targets: [ { backend: slow } ] }
`;

test('SIGTERM under load: every in-flight request succeeds, readiness flips to 503, exit 0', async (t) => {
  const gw = await startGateway(config(backend.port));
  // 40 requests that each take ~300 ms in the backend, all in flight when SIGTERM arrives.
  const body = JSON.stringify({ instances: [[1, 2], [3, 4]] });
  await fetch(`http://127.0.0.1:${backend.port}/admin/delay?ms=300`);
  t.after(() => fetch(`http://127.0.0.1:${backend.port}/admin/delay?ms=0`));
  const inflight = Array.from({ length: 40 }, () => fetch(`${gw.url}/predict`, {
    method: 'POST', body, headers: { 'content-type': 'application/json' },
  }).then(async (r) => ({ status: r.status, body: await r.json() as { predictions?: number[] } })));
  await new Promise((r) => setTimeout(r, 100));
  gw.process.kill('SIGTERM');
  await gw.waitForLog(/draining/);
  const health = await fetch(`${gw.url}/ping`);
  assert.equal(health.status, 503, 'readiness answers 503 at once while draining');
  const results = await Promise.all(inflight);
  for (const r of results) {
    assert.equal(r.status, 200);
    assert.deepEqual(r.body.predictions, [3, 7]);
  }
  const code = await new Promise<number | null>((resolve) => {
    if (gw.process.exitCode !== null) resolve(gw.process.exitCode);
    else gw.process.once('exit', (c) => resolve(c));
  });
  assert.equal(code, 0);
  await gw.stop();
});

test('readiness follows the backend; /admin/status names the reason; /metrics exports infergate_*', async (t) => {
  const gw: RunningGateway = await startGateway(config(backend.port));
  t.after(() => gw.stop());
  assert.equal((await fetch(`${gw.url}/ping`)).status, 200);
  assert.equal((await fetch(`${gw.url}/health`)).status, 200);
  await fetch(`http://127.0.0.1:${backend.port}/admin/health?ok=0`);
  await waitFor(async () => (await fetch(`${gw.url}/ping`)).status === 503, 5000);
  const status = await (await fetch(`${gw.adminUrl}/admin/status`)).json() as {
    version: string; ready: boolean; models: Record<string, { targets: { name: string; ready: boolean; reason?: string }[] }>;
  };
  assert.equal(status.version, 'lifecycle-1');
  assert.equal(status.ready, false);
  const target = status.models.m!.targets[0]!;
  assert.equal(target.ready, false);
  assert.ok(target.reason && target.reason.length > 0, 'the reason is given');
  const refused = await fetch(`${gw.url}/predict`, { method: 'POST', body: '{"instances":[[1]]}' });
  assert.equal(refused.status, 503);
  assert.ok(refused.headers.get('retry-after'));
  await fetch(`http://127.0.0.1:${backend.port}/admin/health?ok=1`);
  await waitFor(async () => (await fetch(`${gw.url}/ping`)).status === 200, 5000);
  const metrics = await (await fetch(`${gw.adminUrl}/metrics`)).text();
  for (const name of ['infergate_requests_total', 'infergate_request_duration_seconds', 'infergate_target_ready', 'process_cpu_seconds_total']) {
    assert.match(metrics, new RegExp(`^# HELP ${name} `, 'm'), name);
  }
  assert.equal((await fetch(`${gw.url}/metrics`)).status, 404, 'metrics stay off the platform port when adminPort is set');
});

test('readiness "self" stays ready while the backend is down and answers 503 JSON for its model', async (t) => {
  const gw = await startGateway(config(backend.port, ', readiness: self'));
  t.after(async () => {
    await fetch(`http://127.0.0.1:${backend.port}/admin/health?ok=1`);
    await gw.stop();
  });
  await fetch(`http://127.0.0.1:${backend.port}/admin/health?ok=0`);
  await waitFor(async () => {
    const s = await (await fetch(`${gw.adminUrl}/admin/status`)).json() as { models: { m: { targets: { ready: boolean }[] } } };
    return !s.models.m.targets[0]!.ready;
  }, 5000);
  assert.equal((await fetch(`${gw.url}/ping`)).status, 200);
  const r = await fetch(`${gw.url}/predict`, { method: 'POST', body: '{"instances":[[1]]}' });
  assert.equal(r.status, 503);
  assert.equal(((await r.json()) as { code: string }).code, 'backend_unavailable');
});
