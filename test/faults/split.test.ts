// A split of two targets, one failing: once its breaker opens, the healthy target takes the
// traffic and fewer than 1 % of client requests fail (only the half-open probes can).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, type RunningGateway } from '../support/gateway.ts';
import { startFaultBackend, type FaultBackend } from '../support/fault-backend.ts';
import { breakerStateOf, closeLoadAgent, fire, summary, waitFor } from './load.ts';

let a: FaultBackend;
let b: FaultBackend;
let gw: RunningGateway;

before(async () => {
  a = await startFaultBackend();
  b = await startFaultBackend();
  gw = await startGateway(`
frontends: { vertex: { model: m, predictRoute: /predict, healthRoute: /health } }
backends: { a: { type: http, url: "${a.url}" }, b: { type: http, url: "${b.url}" } }
models:
  m:
    timeoutMs: 1000
    breaker: { volumeThreshold: 10, errorThresholdPercentage: 50, resetTimeoutMs: 1000 }
    retry: { attempts: 1 }
    targets: [ { backend: a, name: a, weight: 50 }, { backend: b, name: b, weight: 50 } ]
`);
});

after(async () => {
  await gw?.stop();
  await a?.close();
  await b?.close();
  await closeLoadAgent();
});

test('both targets serve while healthy', async () => {
  const outcomes = await fire(`${gw.url}/predict`, 40, 4, 2000);
  assert.deepEqual(summary(outcomes), { 200: 40 });
  assert.ok(a.calls() > 0 && b.calls() > 0);
});

test('a failing target is routed around once its breaker opens: client errors < 1 %', async (t) => {
  await a.setMode({ kind: 'status', status: 500 });
  const warm = await fire(`${gw.url}/predict`, 60, 8, 2000);
  assert.ok(warm.every((o) => o.status === 200 || o.code === 'backend_error' || o.code === 'circuit_open'), JSON.stringify(summary(warm)));
  assert.ok(await waitFor(async () => (await breakerStateOf(gw.adminUrl, 'a')) === 2, 3000), 'breaker of a opened');
  // The failures are the failing target's, in the metrics as in the answer.
  const metrics = await (await fetch(`${gw.adminUrl}/metrics`)).text();
  assert.match(metrics, /infergate_requests_total\{frontend="vertex",model="m",target="a",code="502"\} [1-9]/);
  assert.doesNotMatch(metrics, /infergate_requests_total\{frontend="vertex",model="m",target="b",code="502"\}/);
  const aBefore = a.calls();
  const outcomes = await fire(`${gw.url}/predict`, 1000, 8, 2000);
  t.diagnostic(JSON.stringify(summary(outcomes)));
  const failed = outcomes.filter((o) => o.status !== 200).length;
  assert.ok(failed / outcomes.length < 0.01, `error rate ${failed}/${outcomes.length}: ${JSON.stringify(summary(outcomes))}`);
  assert.ok(a.calls() - aBefore <= 5, `the open target got ${a.calls() - aBefore} calls (probes only)`);
});

test('an error answer names the target that failed in x-infergate-target', async () => {
  await b.setMode({ kind: 'status', status: 500 });
  try {
    const res = await fetch(`${gw.url}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"instances":[[1,2]]}' });
    const body = await res.json() as { code: string };
    assert.equal(res.status, 502, JSON.stringify(body));
    assert.equal(body.code, 'backend_error');
    // a's breaker is open or half-open and both fail now: whichever took the call is named.
    assert.ok(['a', 'b'].includes(res.headers.get('x-infergate-target') ?? ''), `x-infergate-target: ${res.headers.get('x-infergate-target')}`);
  } finally {
    await b.setMode({ kind: 'ok' });
  }
});

test('after recovery the target is closed again and takes traffic', async () => {
  await a.setMode({ kind: 'ok' });
  assert.ok(await waitFor(async () => {
    await fire(`${gw.url}/predict`, 4, 2, 2000);
    return (await breakerStateOf(gw.adminUrl, 'a')) === 0;
  }, 4000), 'breaker of a closed');
  const aBefore = a.calls();
  const outcomes = await fire(`${gw.url}/predict`, 40, 4, 2000);
  assert.deepEqual(summary(outcomes), { 200: 40 });
  assert.ok(a.calls() > aBefore);
});
