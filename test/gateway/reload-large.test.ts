// A reload of a large config through the real gateway process: liveness is answered while the
// new state is built, warmed and swapped in (the gateway's own log orders the lines: "building
// the new config", then liveness requests, then "config reloaded"), and afterwards every model
// of the new file is served and the removed one is not.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startEchoBackend, type EchoBackend } from '../support/echo-backend.ts';
import { startGateway } from '../support/gateway.ts';

const models = 4_000;

let backend: EchoBackend;
before(async () => { backend = await startEchoBackend(); });
after(async () => { await backend.close(); });

// `first`: the index of the first model, so a reload from 1 drops m0 and adds m<models>.
const config = (version: string, timeout: string, first: number): string => [
  `version: "${version}"`,
  // Debug logs each request's line; the health poll stays out of the way of the reload's own.
  'server: { logLevel: debug, healthIntervalMs: 60000, drainDelaySeconds: 0 }',
  'frontends: { kserve: {} }',
  'backends:',
  `  be: { type: http, url: "${backend.url}" }`,
  'models:',
  ...Array.from({ length: models }, (_, i) => `  m${first + i}: { timeoutMs: ${timeout}, targets: [ { backend: be } ] }`),
].join('\n') + '\n';

test(`liveness answers while a reload of ${models} models builds, and the new file's models are all served`, async (t) => {
  const gw = await startGateway(config('v1', '5s', 0), { timeoutMs: 60_000 });
  t.after(() => gw.stop());
  gw.writeConfig(config('v2', '6s', 1));
  let reloaded = false;
  const reload = fetch(`${gw.adminUrl}/admin/reload`, { method: 'POST' }).then(async (r) => {
    const answer = { status: r.status, body: await r.text() };
    reloaded = true;
    return answer;
  });
  let live = 0;
  while (!reloaded) {
    const r = await fetch(`${gw.url}/v2/health/live`);
    assert.equal(r.status, 200);
    await r.arrayBuffer();
    live++;
  }
  const answer = await reload;
  assert.equal(answer.status, 200, answer.body);
  assert.ok(live > 0, 'liveness was asked during the reload');

  // The gateway's log, in the order it wrote it: liveness answered between the start of the build and the swap
  // (the swap's line may reach this process after the reload's answer).
  await gw.waitForLog(/config reloaded/);
  const lines = gw.logs().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { message: string; path?: string; models?: number });
  const building = lines.findIndex((l) => l.message === 'building the new config');
  const swapped = lines.findIndex((l) => l.message === 'config reloaded');
  assert.ok(building >= 0 && swapped > building, 'the reload logged its build and its swap');
  assert.equal(lines[building]!.models, models);
  const during = lines.slice(building, swapped).filter((l) => l.message === 'request' && l.path === '/v2/health/live');
  assert.ok(during.length > 0, `liveness answered while the reload built (${live} asked during the whole reload)`);

  const status = await (await fetch(`${gw.adminUrl}/admin/status`)).json() as { version: string; models: Record<string, unknown> };
  assert.equal(status.version, 'v2');
  assert.equal(Object.keys(status.models).length, models);
  assert.equal(status.models.m0, undefined);
  for (const name of ['m1', `m${models / 2}`, `m${models}`]) {
    const r = await fetch(`${gw.url}/v2/models/${name}/infer`, { method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ inputs: [{ name: 'x', shape: [1, 2], datatype: 'FP32', data: [1, 2] }] }) });
    assert.equal(r.status, 200, `${name}: ${await r.clone().text()}`);
    await r.arrayBuffer();
  }
  assert.equal((await fetch(`${gw.url}/v2/models/m0/ready`)).status, 404);
});
