// Hot reload through the real gateway process: a valid new file is swapped in under load with
// zero failed requests; an invalid one changes nothing and says why; SIGHUP reloads too.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startNodeServer, type Proc } from '../../bench/support/processes.ts';
import { startGateway } from '../support/gateway.ts';

let a: Proc;
let b: Proc;
before(async () => {
  a = await startNodeServer(new URL('../support/slow-backend.ts', import.meta.url).href);
  b = await startNodeServer(new URL('../support/slow-backend.ts', import.meta.url).href);
});
after(async () => { await a.stop(); await b.stop(); });

const config = (version: string, port: number): string => `
version: "${version}"
server: { healthIntervalMs: 200, drainDelaySeconds: 0 }
frontends:
  vertex: { model: m, predictRoute: /predict, healthRoute: /health }
backends:
  be: { type: http, url: "http://127.0.0.1:${port}" }
models:
  m: { timeoutMs: 5000, targets: [ { backend: be } ] }
`;

test('reload under load: zero failed requests, the new version answers after the swap', async (t) => {
  const gw = await startGateway(config('v1', a.port));
  t.after(() => gw.stop());
  let stop = false;
  const statuses: number[] = [];
  const loop = async (): Promise<void> => {
    while (!stop) {
      const r = await fetch(`${gw.url}/predict`, { method: 'POST', body: '{"instances": [[1, 2]]}' });
      statuses.push(r.status);
      await r.arrayBuffer();
    }
  };
  const loops = Array.from({ length: 8 }, loop);
  await new Promise((r) => setTimeout(r, 200));
  gw.writeConfig(config('v2', b.port));
  const reload = await fetch(`${gw.adminUrl}/admin/reload`, { method: 'POST' });
  assert.equal(reload.status, 200, await reload.clone().text());
  await new Promise((r) => setTimeout(r, 300));
  stop = true;
  await Promise.all(loops);
  assert.ok(statuses.length > 20, `load ran (${statuses.length} requests)`);
  assert.deepEqual([...new Set(statuses)], [200], 'no request failed during the reload');
  const status = await (await fetch(`${gw.adminUrl}/admin/status`)).json() as { version: string };
  assert.equal(status.version, 'v2');
});

test('an invalid file is rejected with its errors and the running config keeps serving; SIGHUP reloads', async (t) => {
  const gw = await startGateway(config('v1', a.port));
  t.after(() => gw.stop());
  gw.writeConfig(config('v2', a.port).replace('timeoutMs: 5000', 'timeoutMs: soon'));
  const r = await fetch(`${gw.adminUrl}/admin/reload`, { method: 'POST' });
  assert.equal(r.status, 400);
  const body = await r.json() as { error: string; code: string };
  assert.match(body.error, /models\.m\.timeoutMs/);
  assert.equal((await (await fetch(`${gw.adminUrl}/admin/status`)).json() as { version: string }).version, 'v1');
  assert.equal((await fetch(`${gw.url}/predict`, { method: 'POST', body: '{"instances": [[1]]}' })).status, 200);
  const metrics = await (await fetch(`${gw.adminUrl}/metrics`)).text();
  assert.match(metrics, /infergate_config_reloads_total\{outcome="rejected"\} 1/);
  gw.writeConfig(config('v3', a.port));
  gw.process.kill('SIGHUP');
  await gw.waitForLog(/config reloaded/);
  assert.equal((await (await fetch(`${gw.adminUrl}/admin/status`)).json() as { version: string }).version, 'v3');
});
