// A reload that changes a supervised (`spawn`) backend, through the real gateway process: with
// `{port}` in the spawn command the new process starts on a port of its own, so the old one
// keeps serving, and its health check cannot answer for the new one, until the new one is ready.
// Traffic and readiness across the reload see no 503 (issue 14 item 2).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startGateway } from '../support/gateway.ts';
import { freePort } from '../support/ports.ts';

const server = fileURLToPath(new URL('../support/generation-server.ts', import.meta.url));

const config = (gen: number, port: number): string => `
version: "v${gen}"
server: { healthIntervalMs: 200, drainDelaySeconds: 0 }
frontends:
  vertex: { model: m, predictRoute: /predict, healthRoute: /health }
backends:
  be:
    type: http
    url: "http://127.0.0.1:${port}"
    spawn:
      command: [${JSON.stringify(process.execPath)}, ${JSON.stringify(server)}, "{port}"]
      env: { GEN: "${gen}", START_DELAY_MS: "1500" }
      readyTimeoutSeconds: 30
      stopGraceSeconds: 5
models:
  m: { timeoutMs: 5000, targets: [ { backend: be } ] }
`;

test('a reload that changes a spawn backend keeps the old process serving until the new one is ready', async (t) => {
  const gw = await startGateway(config(1, await freePort()));
  t.after(() => gw.stop());
  const predict = async (): Promise<{ status: number; body: string }> => {
    const r = await fetch(`${gw.url}/predict`, { method: 'POST', body: '{"instances": [[1]]}' });
    return { status: r.status, body: await r.text() };
  };
  assert.deepEqual(JSON.parse((await predict()).body), { predictions: ['gen1'] });

  let stop = false;
  const failures: string[] = [];
  const gens = new Set<string>();
  let calls = 0;
  const loop = async (): Promise<void> => {
    for (let i = 0; i < 5000 && !stop; i++) {
      const r = await predict();
      calls++;
      if (r.status !== 200) failures.push(`predict ${r.status} ${r.body}`);
      else gens.add((JSON.parse(r.body) as { predictions: string[] }).predictions[0]!);
      const h = await fetch(`${gw.url}/health`);
      await h.arrayBuffer();
      if (h.status !== 200) failures.push(`readiness ${h.status}`);
    }
  };
  const loops = Array.from({ length: 4 }, loop);
  gw.writeConfig(config(2, await freePort()));
  const reload = await fetch(`${gw.adminUrl}/admin/reload`, { method: 'POST' });
  assert.equal(reload.status, 200, await reload.clone().text());
  // After the swap, the new generation answers; the old one has been asked to stop.
  const after = await predict();
  assert.equal(after.status, 200, after.body);
  assert.deepEqual(JSON.parse(after.body), { predictions: ['gen2'] });
  await new Promise((r) => setTimeout(r, 300));
  stop = true;
  await Promise.all(loops);
  assert.ok(calls > 20, `traffic ran across the reload (${calls} calls)`);
  assert.deepEqual(failures, [], 'no 503 (or other failure) across the reload');
  assert.deepEqual([...gens].sort(), ['gen1', 'gen2']);
  const started = gw.logs().split('\n').filter((l) => l.includes('"message":"backend process started"'));
  assert.equal(started.length, 2, 'one process per generation, no restart of a process that lost its port');
});
