// Outlier ejection through the whole gateway (vertex frontend → http backend with three urls →
// three fault backends): a replica that answers 5xx is ejected after `consecutive5xx` failures
// and the others take its share; a replica whose health check fails is ejected at the next poll
// and comes back when it passes (70% may be out, so both can be at once); /admin/status shows
// who is out.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, type RunningGateway } from '../support/gateway.ts';
import { startFaultBackend, type FaultBackend } from '../support/fault-backend.ts';
import { closeLoadAgent, fire, summary, waitFor } from './load.ts';

let replicas: FaultBackend[];
let gw: RunningGateway;
let predict: string;
const consecutive = 3;
const concurrency = 4;

before(async () => {
  replicas = await Promise.all([startFaultBackend(), startFaultBackend(), startFaultBackend()]);
  gw = await startGateway(`
server: { healthIntervalMs: 200 }
frontends: { vertex: { model: m, predictRoute: /predict, healthRoute: /health } }
backends:
  r:
    type: http
    urls: [${replicas.map((r) => `"${r.url}"`).join(', ')}]
    outlierDetection: { consecutive5xx: ${consecutive}, baseEjectionTimeMs: 60000, maxEjectionPercent: 70 }
models:
  m:
    timeoutMs: 2000
    breaker: { volumeThreshold: 1000 }
    retry: { attempts: 1 }
    targets: [ { backend: r } ]
`);
  predict = `${gw.url}/predict`;
});

after(async () => {
  await gw?.stop();
  await Promise.all(replicas?.map((r) => r.close()) ?? []);
  await closeLoadAgent();
});

async function endpointsOf(): Promise<Record<string, { inFlight: number; ejected: boolean }>> {
  const res = await fetch(`${gw.adminUrl}/admin/status`);
  const doc = await res.json() as { backends: Record<string, { endpoints: Record<string, { inFlight: number; ejected: boolean }> }> };
  return doc.backends.r!.endpoints;
}

test('a replica answering 5xx is ejected after consecutive5xx failures; the others take its share', async () => {
  const [, , bad] = replicas as [FaultBackend, FaultBackend, FaultBackend];
  await bad.setMode({ kind: 'status', status: 500 });
  const before = bad.calls();
  const outcomes = await fire(predict, 90, concurrency, 3000);
  const hits = bad.calls() - before;
  const failed = outcomes.filter((o) => o.status !== 200);
  // Calls already on their way when the third failure came back may fail too, no more.
  assert.ok(hits >= consecutive && hits <= consecutive + concurrency, `the failing replica got ${hits} calls`);
  assert.equal(failed.length, hits, `only the calls it got failed: ${JSON.stringify(summary(outcomes))}`);
  for (const o of failed) assert.equal(o.code, 'backend_error');
  const endpoints = await endpointsOf();
  assert.equal(endpoints[bad.url]?.ejected, true, JSON.stringify(endpoints));
  assert.equal(Object.values(endpoints).filter((e) => e.ejected).length, 1);

  // Its /health still passes: a passing probe does not bring back what failing calls took out.
  await new Promise((r) => setTimeout(r, 500));
  const later = bad.calls();
  const again = await fire(predict, 30, concurrency, 3000);
  assert.equal(bad.calls(), later, 'still out for its ejection time');
  assert.ok(again.every((o) => o.status === 200), JSON.stringify(summary(again)));
  await bad.setMode({ kind: 'ok' });
});

test('a replica whose health check fails is ejected at the next poll and returns when it passes', async () => {
  const [, sick] = replicas as [FaultBackend, FaultBackend, FaultBackend];
  await sick.setMode({ kind: 'slowStart', readyAfterMs: 1500 });
  assert.ok(await waitFor(async () => (await endpointsOf())[sick.url]?.ejected === true, 1000), 'ejected after a failed probe');
  const before = sick.calls();
  const outcomes = await fire(predict, 30, concurrency, 3000);
  assert.equal(sick.calls(), before, 'an ejected replica gets no calls');
  assert.ok(outcomes.every((o) => o.status === 200), JSON.stringify(summary(outcomes)));
  assert.ok(await waitFor(async () => (await endpointsOf())[sick.url]?.ejected === false, 3000), 'restored once /health passes');
  const back = sick.calls();
  await fire(predict, 30, concurrency, 3000);
  assert.ok(sick.calls() > back, 'it takes calls again');
});
