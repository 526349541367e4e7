// Each backend fault under concurrent load, through the whole gateway (vertex frontend → http
// backend → fault backend): the gateway stays up, no request waits past its deadline + 1 s,
// every answer is 2xx or a JSON error with the fault's code, the breaker opens within its volume
// and closes once the backend recovers.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, type RunningGateway } from '../support/gateway.ts';
import { startFaultBackend, type FaultBackend, type FaultMode } from '../support/fault-backend.ts';
import { breakerStateOf, closeLoadAgent, fire, send, summary, waitFor, type Outcome } from './load.ts';

const timeoutMs = 1000;
const patience = timeoutMs + 1000;
const volume = 10;
const resetMs = 500;
const concurrency = 8;
let backend: FaultBackend;
let gw: RunningGateway;
let predict: string;

before(async () => {
  backend = await startFaultBackend();
  gw = await startGateway(`
server: { healthIntervalMs: 200 }
frontends: { vertex: { model: m, predictRoute: /predict, healthRoute: /health } }
backends: { a: { type: http, url: "${backend.url}" } }
models:
  m:
    timeoutMs: ${timeoutMs}
    breaker: { volumeThreshold: ${volume}, errorThresholdPercentage: 50, resetTimeoutMs: ${resetMs} }
    retry: { attempts: 1 }
    targets: [ { backend: a, name: a } ]
`);
  predict = `${gw.url}/predict`;
});

after(async () => {
  await gw?.stop();
  await backend?.close();
  await closeLoadAgent();
});

function checkOutcomes(outcomes: Outcome[], allowed: string[]): void {
  const s = JSON.stringify(summary(outcomes));
  for (const o of outcomes) {
    assert.ok(!o.hang, `a request hung past deadline + 1 s: ${s}`);
    assert.equal(o.transport, undefined, `a request got no HTTP answer: ${s}`);
    assert.ok(o.ms <= patience, `a request took ${Math.round(o.ms)} ms: ${s}`);
    if (o.status >= 200 && o.status < 300) continue;
    assert.ok(o.code !== undefined && allowed.includes(o.code), `unexpected answer ${o.status} ${o.code}; allowed ${allowed.join(', ')}: ${s}`);
  }
}

async function recover(): Promise<void> {
  await backend.setMode({ kind: 'ok' });
  // Closed again within resetTimeout + health polling + slack.
  const back = await waitFor(async () => (await send(predict, patience)).status === 200, resetMs + 3000, 100);
  assert.ok(back, 'the target serves again after the backend recovers');
  assert.ok(await waitFor(async () => (await breakerStateOf(gw.adminUrl, 'a')) === 0, 2000), 'breaker closed');
  assert.equal(gw.process.exitCode, null, 'gateway alive');
}

// Fault → the codes a client may see (besides circuit_open once the breaker opens, and
// backend_unavailable when health polling marks the target down).
const faults: Array<{ mode: FaultMode; codes: string[]; opens: boolean }> = [
  { mode: { kind: 'status', status: 500 }, codes: ['backend_error'], opens: true },
  { mode: { kind: 'status', status: 503 }, codes: ['backend_unavailable'], opens: true },
  { mode: { kind: 'hang' }, codes: ['deadline_exceeded'], opens: true },
  { mode: { kind: 'reset' }, codes: ['backend_unreachable', 'backend_bad_reply'], opens: true },
  { mode: { kind: 'garbage' }, codes: ['backend_bad_reply'], opens: true },
  { mode: { kind: 'truncated' }, codes: ['backend_unreachable', 'backend_bad_reply'], opens: true },
  { mode: { kind: 'wrongRows' }, codes: ['backend_bad_reply'], opens: true },
  { mode: { kind: 'dribble', bytesPerSecond: 5 }, codes: ['deadline_exceeded'], opens: true },
  { mode: { kind: 'refuse' }, codes: ['backend_unreachable'], opens: false },
  { mode: { kind: 'slowStart', readyAfterMs: 1500 }, codes: [], opens: false },
];

for (const fault of faults) {
  test(`backend fault "${fault.mode.kind}${'status' in fault.mode ? ` ${fault.mode.status}` : ''}": definite answers, breaker, recovery`, async (t) => {
    assert.equal((await send(predict, patience)).status, 200, 'healthy before the fault');
    const before = backend.calls();
    await backend.setMode(fault.mode);
    const outcomes = await fire(predict, 60, concurrency, patience);
    t.diagnostic(JSON.stringify(summary(outcomes)));
    checkOutcomes(outcomes, [...fault.codes, 'circuit_open', 'backend_unavailable']);
    const errors = outcomes.filter((o) => o.status !== 200).length;
    assert.ok(errors >= outcomes.length - 2, `the fault shows: ${JSON.stringify(summary(outcomes))}`);
    if (fault.opens) {
      assert.ok(outcomes.some((o) => o.code === 'circuit_open'), `breaker opened: ${JSON.stringify(summary(outcomes))}`);
      // Backend calls before it opened: the volume, plus what was already in flight, plus retries.
      const open = outcomes.findIndex((o) => o.code === 'circuit_open');
      assert.ok(open <= volume + 2 * concurrency, `opened after ${open} requests`);
      assert.ok(backend.calls() - before <= 2 * (volume + 2 * concurrency), `backend saw ${backend.calls() - before} calls`);
    }
    await recover();
  });
}

test('the gateway process is still up after every fault', () => {
  assert.equal(gw.process.exitCode, null);
  assert.equal(gw.process.signalCode, null);
});
