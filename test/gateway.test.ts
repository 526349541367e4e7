// End to end through the real gateway process: split, sticky key, override and a shadow that
// hangs or is down, with in-process http backends (test/support/fault-backend.ts).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startFaultBackend, type FaultBackend } from './support/fault-backend.ts';
import { startGateway, type RunningGateway } from './support/gateway.ts';

let a: FaultBackend;
let b: FaultBackend;
let s: FaultBackend;
let gw: RunningGateway;

before(async () => {
  [a, b, s] = await Promise.all([startFaultBackend(), startFaultBackend(), startFaultBackend()]);
  gw = await startGateway(`
frontends: { vertex: { model: m, predictRoute: /predict, healthRoute: /health } }
backends: { a: { type: http, url: "${a.url}" }, b: { type: http, url: "${b.url}" }, s: { type: http, url: "${s.url}" } }
models:
  m:
    timeoutMs: 2000
    targets: [ { backend: a, name: a, weight: 75 }, { backend: b, name: b, weight: 25 } ]
    allowOverride: [ b ]
    sticky: { header: x-user }
    shadow: { backend: s, percent: 50, maxInFlight: 2 }
`);
});

after(async () => {
  await gw?.stop();
  await Promise.all([a?.close(), b?.close(), s?.close()]);
});

async function predict(headers: Record<string, string> = {}, row = [1, 2]): Promise<{ status: number; target: string | null; body: Record<string, unknown> }> {
  const res = await fetch(`${gw.url}/predict`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ instances: [row] }) });
  return { status: res.status, target: res.headers.get('x-infergate-target'), body: await res.json() as Record<string, unknown> };
}

async function metric(name: string, labels: string): Promise<number> {
  const text = await (await fetch(`${gw.adminUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(labels));
  return line === undefined ? 0 : Number(line.split(' ').pop());
}

test('requests are split by weight and the answer names its target', async () => {
  const got: Record<string, number> = {};
  for (let i = 0; i < 40; i++) {
    const r = await predict({}, [i, 1]);
    assert.equal(r.status, 200);
    assert.deepEqual(r.body.predictions, [i + 1]);
    got[r.target!] = (got[r.target!] ?? 0) + 1;
  }
  assert.ok(Math.abs(got.a! - 30) <= 1 && Math.abs(got.b! - 10) <= 1, JSON.stringify(got));
});

test('the same sticky key always reaches the same target', async () => {
  for (const user of ['alice', 'bob', 'carol', 'dave']) {
    const first = (await predict({ 'x-user': user })).target;
    for (let i = 0; i < 5; i++) assert.equal((await predict({ 'x-user': user })).target, first, user);
  }
});

test('x-infergate-target reaches an allowed target; any other name is 400 naming the allowed ones', async () => {
  for (let i = 0; i < 5; i++) assert.equal((await predict({ 'x-infergate-target': 'b' })).target, 'b');
  for (const name of ['a', 's', 'http://evil']) {
    const r = await predict({ 'x-infergate-target': name });
    assert.equal(r.status, 400);
    assert.equal(r.body.code, 'bad_request');
    assert.match(String(r.body.error), /allowed: b$/);
  }
});

test('a shadow that hangs or is down changes nothing for clients; drops and failures are counted', async () => {
  await s.setMode({ kind: 'hang' });
  // Were the primary waiting for the shadow, these would all end in 504 after 2 s.
  const hung = await Promise.all(Array.from({ length: 20 }, (_, i) => predict({}, [i, 0])));
  assert.deepEqual(hung.map((r) => r.status), Array(20).fill(200));
  assert.deepEqual(hung.map((r) => r.body.predictions), Array.from({ length: 20 }, (_, i) => [i]));
  assert.ok(await metric('infergate_shadow_requests_total', 'outcome="dropped"') > 0, 'copies beyond maxInFlight were dropped');
  await s.setMode({ kind: 'status', status: 500 });
  const down = await Promise.all(Array.from({ length: 20 }, () => predict()));
  assert.deepEqual(down.map((r) => r.status), Array(20).fill(200));
  await s.setMode({ kind: 'ok' });
  // The hung copies hold the cap until their 2 s timeout; then copies are sent again.
  const before = await metric('infergate_shadow_requests_total', 'outcome="sent"');
  const deadline = Date.now() + 8000;
  while (await metric('infergate_shadow_requests_total', 'outcome="sent"') < before + 5 && Date.now() < deadline) {
    assert.equal((await predict()).status, 200);
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.ok(await metric('infergate_shadow_requests_total', 'outcome="sent"') >= before + 5);
  assert.ok(await metric('infergate_shadow_requests_total', 'outcome="failed"') > 0);
  assert.equal(await metric('infergate_shadow_agreement_ratio', 'model="m"'), 1);
});

test('a canary that starts failing is rolled back: its weight drops to 0 and clients stop seeing its errors', async () => {
  const [stable, canary] = await Promise.all([startFaultBackend(), startFaultBackend()]);
  const yaml = (window: string): string => `
frontends: { vertex: { model: m, predictRoute: /predict, healthRoute: /health } }
backends: { stable: { type: http, url: "${stable.url}" }, canary: { type: http, url: "${canary.url}" } }
models:
  m:
    targets: [ { backend: stable, name: stable, weight: 80 }, { backend: canary, name: canary, weight: 20 } ]
    rollback: { minRequests: 20, windowMs: ${window} }
`;
  const rgw = await startGateway(yaml('60s'));
  try {
    const send = (n: number): Promise<number[]> => Promise.all(Array.from({ length: n }, async () =>
      (await fetch(`${rgw.url}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"instances":[[1]]}' })).status));
    assert.deepEqual(new Set(await send(150)), new Set([200]));
    await canary.setMode({ kind: 'status', status: 500 });
    const during = await send(150);
    assert.ok(during.includes(500) || during.includes(502), 'the canary failed some calls before the rollback');
    await rgw.waitForLog(/canary canary rolled back/, 5000);
    const callsBefore = canary.calls();
    assert.deepEqual(new Set(await send(100)), new Set([200]));
    assert.equal(canary.calls(), callsBefore, 'no traffic reaches the rolled-back canary');
    const metrics = await (await fetch(`${rgw.adminUrl}/metrics`)).text();
    assert.match(metrics, /infergate_rollbacks_total\{model="m",target="canary",reason="error_rate"\} 1/);
    // /admin/status shows it rolled back, with why, and the split gives it no weight...
    type Status = { models: { m: { rollback: { state: string; decision?: unknown }; split: { targets: Array<{ name: string; effectiveWeight: number; rolledBack?: string }> } } } };
    const canaryOf = (st: Status) => st.models.m.split.targets.find((x) => x.name === 'canary')!;
    const status = await (await fetch(`${rgw.adminUrl}/admin/status`)).json() as Status;
    assert.equal(status.models.m.rollback.state, 'rolledBack', JSON.stringify(status.models.m.rollback));
    assert.ok(status.models.m.rollback.decision !== undefined, 'the reason is shown');
    assert.equal(canaryOf(status).effectiveWeight, 0, JSON.stringify(status.models.m.split));
    assert.match(canaryOf(status).rolledBack ?? '', /error rate/);
    // ...until a reload changes the model's config: the canary gets its weight back and is
    // watched again (a reload that leaves the model as it was keeps the decision).
    await canary.setMode({ kind: 'ok' });
    rgw.writeConfig(yaml('61s'));
    const reload = await fetch(`${rgw.adminUrl}/admin/reload`, { method: 'POST' });
    assert.equal(reload.status, 200, await reload.clone().text());
    const after = await (await fetch(`${rgw.adminUrl}/admin/status`)).json() as Status;
    assert.equal(after.models.m.rollback.state, 'watching');
    assert.equal(canaryOf(after).effectiveWeight, 20);
    const callsAfter = canary.calls();
    await send(50);
    assert.ok(canary.calls() > callsAfter, 'the canary takes traffic again after the reload');
  } finally {
    await rgw.stop();
    await Promise.all([stable.close(), canary.close()]);
  }
});
