// R9: the backend process is SIGKILLed in the middle of a load run and restarted a second later.
// Every request the gateway accepted gets an answer (2xx or a JSON 502/503/504) within its
// deadline + 1 s: the count of accepted requests without an answer is 0. The gateway recovers.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, type RunningGateway } from '../support/gateway.ts';
import { spawnFaultBackend, type SpawnedFaultBackend } from '../support/fault-backend.ts';
import { closeLoadAgent, fireFor, send, summary, waitFor } from './load.ts';

let backend: SpawnedFaultBackend;
let gw: RunningGateway;

before(async () => {
  backend = await spawnFaultBackend();
  await backend.setMode({ kind: 'ok', delayMs: 5 });
  gw = await startGateway(`
server: { healthIntervalMs: 250 }
frontends: { vertex: { model: m, predictRoute: /predict, healthRoute: /health } }
backends: { a: { type: http, url: "${backend.url}" } }
models:
  m:
    timeoutMs: 1000
    breaker: { volumeThreshold: 10, errorThresholdPercentage: 50, resetTimeoutMs: 1000 }
    retry: { attempts: 1 }
    targets: [ { backend: a, name: a } ]
`);
});

after(async () => {
  await gw?.stop();
  await backend?.close();
  await closeLoadAgent();
});

test('backend killed mid-load: 0 accepted requests without an answer, then recovery', async (t) => {
  const load = fireFor(`${gw.url}/predict`, 3000, 16, 2000);
  await new Promise((r) => setTimeout(r, 700));
  await backend.kill();
  await new Promise((r) => setTimeout(r, 1000));
  await backend.restart();
  await backend.setMode({ kind: 'ok', delayMs: 5 });
  const outcomes = await load;
  const s = JSON.stringify(summary(outcomes));
  t.diagnostic(s);
  const unanswered = outcomes.filter((o) => o.hang === true || o.transport !== undefined);
  assert.equal(unanswered.length, 0, `requests without an answer: ${s}`);
  const allowed = new Set(['backend_unreachable', 'backend_unavailable', 'circuit_open', 'deadline_exceeded', 'backend_bad_reply']);
  for (const o of outcomes) {
    assert.ok(o.status === 200 || (o.code !== undefined && allowed.has(o.code)), `unexpected ${o.status} ${o.code}: ${s}`);
  }
  assert.ok(outcomes.some((o) => o.status !== 200), `the kill showed: ${s}`);
  assert.ok(outcomes.filter((o) => o.status === 200).length > 0);
  // Serving again within resetTimeout + 1 s (+ health polling) of the backend being healthy.
  assert.ok(await waitFor(async () => (await send(`${gw.url}/predict`, 2000)).status === 200, 2500), 'recovered');
  assert.equal(gw.process.exitCode, null, 'gateway alive');
});
