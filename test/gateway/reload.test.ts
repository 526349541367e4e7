// Hot reload through the real gateway process: a valid new file is swapped in under load with
// zero failed requests; an invalid one changes nothing and says why; SIGHUP reloads too; a
// request still sending its body finishes on the old routes, even past drainSeconds; reloads
// that come together run one at a time (a burst joins the next one); new targets are warmed
// before the swap.

import assert from 'node:assert/strict';
import { connect } from 'node:net';
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

const batched = (version: string, port: number): string => `
version: "${version}"
server: { healthIntervalMs: 200, drainDelaySeconds: 0, drainSeconds: 10 }
frontends:
  vertex: { model: m, predictRoute: /predict, healthRoute: /health }
backends:
  be: { type: http, url: "http://127.0.0.1:${port}" }
models:
  m: { timeoutMs: 5000, batching: { maxBatchSize: 8 }, targets: [ { backend: be } ] }
`;

// sendSlowly writes the headers and half the body, waits for `between`, then the rest; it
// resolves with the status line's code.
function sendSlowly(port: number, between: () => Promise<void>): Promise<number> {
  const body = '{"instances": [[1, 2], [3, 4]]}';
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(`POST /predict HTTP/1.1\r\nhost: a\r\ncontent-type: application/json\r\nconnection: close\r\ncontent-length: ${body.length}\r\n\r\n${body.slice(0, 10)}`);
      between().then(() => socket.write(body.slice(10)), reject);
    });
    let text = '';
    socket.on('data', (c: Buffer) => { text += c.toString(); });
    socket.on('close', () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0)));
    socket.on('error', reject);
  });
}

test('a request still sending its body when the config is swapped finishes on the old routes', async (t) => {
  const gw = await startGateway(batched('v1', a.port));
  t.after(() => gw.stop());
  const status = await sendSlowly(gw.port, async () => {
    gw.writeConfig(batched('v2', b.port));
    const reload = await fetch(`${gw.adminUrl}/admin/reload`, { method: 'POST' });
    assert.equal(reload.status, 200, await reload.clone().text());
    // Long enough for the old pipelines (their batcher) to have been closed had the slow
    // request not been counted.
    await new Promise((r) => setTimeout(r, 400));
  });
  assert.equal(status, 200, 'the slow request was answered by the old config');
  assert.equal((await (await fetch(`${gw.adminUrl}/admin/status`)).json() as { version: string }).version, 'v2');
});

test('reloads that come together run one at a time (a burst joins the next); the last file wins and nothing leaks', async (t) => {
  const gw = await startGateway(config('v1', a.port));
  t.after(() => gw.stop());
  gw.writeConfig(config('v2', b.port));
  const answers = await Promise.all([1, 2, 3].map(() => fetch(`${gw.adminUrl}/admin/reload`, { method: 'POST' })));
  for (const r of answers) assert.equal(r.status, 200, await r.text());
  gw.writeConfig(config('v3', a.port));
  gw.process.kill('SIGHUP');
  const last = await fetch(`${gw.adminUrl}/admin/reload`, { method: 'POST' });
  assert.equal(last.status, 200);
  assert.equal((await (await fetch(`${gw.adminUrl}/admin/status`)).json() as { version: string }).version, 'v3');
  assert.equal((await fetch(`${gw.url}/predict`, { method: 'POST', body: '{"instances": [[1]]}' })).status, 200);
  const metrics = await (await fetch(`${gw.adminUrl}/metrics`)).text();
  // The three together apply once or twice; the SIGHUP and the last one once each, or once together.
  assert.match(metrics, /infergate_config_reloads_total\{outcome="applied"\} [2-4]\n/);
});

test('a new target is warmed before the swap: the first request after the reload finds it ready', async (t) => {
  const gw = await startGateway(config('v1', a.port));
  t.after(async () => { await fetch(`http://127.0.0.1:${b.port}/admin/health?ok=1`); await gw.stop(); });
  // The new backend is not ready yet; it becomes ready a moment after the reload starts.
  await fetch(`http://127.0.0.1:${b.port}/admin/health?ok=0`);
  gw.writeConfig(config('v2', b.port));
  const reload = fetch(`${gw.adminUrl}/admin/reload`, { method: 'POST' });
  await new Promise((r) => setTimeout(r, 600));
  assert.equal((await (await fetch(`${gw.adminUrl}/admin/status`)).json() as { version: string }).version, 'v1', 'not swapped while the new target is cold');
  await fetch(`http://127.0.0.1:${b.port}/admin/health?ok=1`);
  assert.equal((await reload).status, 200);
  const first = await fetch(`${gw.url}/predict`, { method: 'POST', body: '{"instances": [[1, 2]]}' });
  assert.equal(first.status, 200, await first.text());
  assert.equal((await (await fetch(`${gw.adminUrl}/admin/status`)).json() as { version: string }).version, 'v2');
});

test('an upload longer than drainSeconds that started before a reload still gets its answer from the old config', async (t) => {
  const slow = (version: string, port: number): string => batched(version, port).replace('drainSeconds: 10', 'drainSeconds: 1');
  const gw = await startGateway(slow('v1', a.port));
  t.after(() => gw.stop());
  const status = await sendSlowly(gw.port, async () => {
    gw.writeConfig(slow('v2', b.port));
    const reload = await fetch(`${gw.adminUrl}/admin/reload`, { method: 'POST' });
    assert.equal(reload.status, 200, await reload.clone().text());
    // Three times drainSeconds: drainSeconds bounds SIGTERM, not a reload's old config.
    await new Promise((r) => setTimeout(r, 3000));
  });
  assert.equal(status, 200, 'the slow upload was answered by the old config');
  assert.equal((await (await fetch(`${gw.adminUrl}/admin/status`)).json() as { version: string }).version, 'v2');
});
