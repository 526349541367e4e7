// R8 client aborts and R15 overload through the whole gateway: clients that leave mid-request
// leave nothing behind (in-flight counts back to 0, the gateway still serves), and a target at
// its maxInFlight sheds the excess with 429 overloaded + Retry-After instead of queuing it.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { startGateway, type RunningGateway } from '../support/gateway.ts';
import { startFaultBackend, type FaultBackend } from '../support/fault-backend.ts';
import { closeLoadAgent, fire, send, summary, waitFor, type Outcome } from './load.ts';

let backend: FaultBackend;
let gw: RunningGateway;

before(async () => {
  backend = await startFaultBackend();
  await backend.setMode({ kind: 'ok', delayMs: 100 });
  gw = await startGateway(`
frontends: { vertex: { model: m, predictRoute: /predict, healthRoute: /health }, kserve: {} }
backends: { a: { type: http, url: "${backend.url}" } }
models:
  m:
    timeoutMs: 2000
    breaker: { volumeThreshold: 10, errorThresholdPercentage: 50, resetTimeoutMs: 1000 }
    retry: { attempts: 1 }
    targets: [ { backend: a, name: a, maxInFlight: 4 } ]
  free:
    timeoutMs: 2000
    breaker: { volumeThreshold: 10, errorThresholdPercentage: 50, resetTimeoutMs: 1000 }
    targets: [ { backend: a, name: free } ]
`);
});

after(async () => {
  await gw?.stop();
  await backend?.close();
  await closeLoadAgent();
});

async function gauges(model = 'm', frontend = 'vertex'): Promise<{ guardInFlight: number; serverInFlight: number; breaker: string }> {
  const status = await (await request(`${gw.adminUrl}/admin/status`)).body.json() as
    { models: Record<string, { targets: Array<{ limit: { inFlight: number }; breaker?: { state: string } }> }> };
  const metrics = await (await request(`${gw.adminUrl}/metrics`)).body.text();
  const line = metrics.split('\n').find((l) => l.startsWith(`infergate_in_flight_requests{frontend="${frontend}"}`));
  const target = status.models[model]!.targets[0]!;
  return { guardInFlight: target.limit.inFlight, serverInFlight: Number(line?.split(' ').pop() ?? 0), breaker: target.breaker?.state ?? 'none' };
}

test('R15: beyond maxInFlight the target sheds at once with 429 overloaded and Retry-After', async (t) => {
  const outcomes = await fire(`${gw.url}/predict`, 40, 20, 3000);
  t.diagnostic(JSON.stringify(summary(outcomes)));
  const shed = outcomes.filter((o) => o.status === 429);
  assert.ok(shed.length > 0, 'some requests were shed');
  assert.ok(outcomes.filter((o) => o.status === 200).length >= 4, 'the admitted ones were served');
  for (const o of outcomes) assert.ok(o.status === 200 || o.status === 429, `unexpected ${o.status} ${o.code}`);
  for (const o of shed) {
    assert.equal(o.code, 'overloaded');
    assert.ok(o.retryAfter !== undefined && Number(o.retryAfter) >= 1, 'Retry-After');
  }
  assert.equal((await gauges()).breaker, 'closed', 'shedding does not count against the backend');
});

test('R8: clients leaving at a random 0–200 ms leave no in-flight request behind', async (t) => {
  const results: Outcome[] = [];
  const all: Array<Promise<void>> = [];
  for (let i = 0; i < 120; i++) {
    const leave = i % 10 < 3 ? Math.random() * 200 : undefined;
    all.push(send(`${gw.url}/v1/models/free:predict`, 3000, leave).then((o) => { results.push(o); }));
    if (i % 4 === 3) await new Promise((r) => setTimeout(r, 20));
  }
  await Promise.all(all);
  t.diagnostic(JSON.stringify(summary(results)));
  assert.ok(results.every((o) => !o.hang), 'no request hung');
  assert.ok(results.every((o) => o.status === 200 || o.transport === 'client_left'), 'served, or the client left');
  assert.ok(results.filter((o) => o.transport === 'client_left').length >= 5, 'some clients left before their answer');
  assert.ok(await waitFor(async () => {
    const g = await gauges('free', 'kserve');
    return g.guardInFlight === 0 && g.serverInFlight === 0;
  }, 3000), `in flight after idle: ${JSON.stringify(await gauges('free', 'kserve'))}`);
  assert.equal((await gauges('free', 'kserve')).breaker, 'closed', 'client aborts do not count against the backend');
  assert.equal((await send(`${gw.url}/v1/models/free:predict`, 3000)).status, 200);
  assert.equal(gw.process.exitCode, null);
});
