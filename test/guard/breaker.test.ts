import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { GatewayError, isBackendFault } from '../../src/errors.ts';
import { breaker as breakerPlugin, breakerSchema, createBreaker, type TargetBreaker } from '../../src/guard/breaker.ts';
import { breakerState } from '../../src/observe/metrics.ts';
import { silentLogger } from '../../src/observe/log.ts';
import type { Infer } from '../../src/types.ts';
import { okResponse, refused, targetDeps, testContext } from './context.ts';

const req = { instances: [[1]] };
const made: TargetBreaker[] = [];
after(() => made.forEach((b) => b.close()));

function breaker(target: string, overrides: Partial<{ volumeThreshold: number; errorThresholdPercentage: number; resetTimeoutMs: number }> = {}): TargetBreaker {
  const b = createBreaker({ errorThresholdPercentage: 50, volumeThreshold: 5, rollingCountTimeoutMs: 10_000, resetTimeoutMs: 60, ...overrides },
    { target, log: silentLogger });
  made.push(b);
  return b;
}

const failing = (err: () => GatewayError): { next: Infer; calls: () => number } => {
  let calls = 0;
  return { next: async () => { calls++; throw err(); }, calls: () => calls };
};

async function callN(infer: Infer, n: number): Promise<Array<GatewayError | 'ok'>> {
  const out: Array<GatewayError | 'ok'> = [];
  for (let i = 0; i < n; i++) {
    try { await infer(req, testContext().ctx); out.push('ok'); } catch (e) { out.push(e as GatewayError); }
  }
  return out;
}

async function metricValue(target: string): Promise<number | undefined> {
  return (await breakerState.get()).values.find((v) => v.labels.target === target)?.value;
}

const waitForReset = (): Promise<void> => new Promise((r) => setTimeout(r, 90));

test('isBackendFault: backend faults count, client faults, the gateway\'s own refusals and a backend\'s 429 do not', () => {
  for (const code of ['backend_unreachable', 'backend_error', 'backend_bad_reply', 'backend_unavailable', 'deadline_exceeded'] as const) {
    assert.equal(isBackendFault(new GatewayError(code, 'x')), true, code);
  }
  for (const code of ['bad_request', 'bad_tensor', 'model_not_found', 'client_closed', 'overloaded', 'queue_full', 'circuit_open', 'internal',
    'payload_too_large', 'backend_overloaded', 'backend_queue_full'] as const) {
    assert.equal(isBackendFault(new GatewayError(code, 'x')), false, code);
  }
  // A backend's own 4xx passed on with its status is the client's fault.
  assert.equal(isBackendFault(new GatewayError('backend_error', 'x', { status: 422 })), false);
});

test('a backend answering 429 (backend_overloaded) never opens the breaker: it refused the work, it did not fail at it', async () => {
  const b = breaker('t-429');
  const f = failing(() => new GatewayError('backend_overloaded', 'busy'));
  const results = await callN(b.stage(f.next), 40);
  assert.equal(b.state(), 'closed');
  assert.equal(f.calls(), 40);
  assert.ok(results.every((r) => r !== 'ok' && r.code === 'backend_overloaded' && r.status === 429));
});

test('4xx answers never open the breaker, however many', async () => {
  const b = breaker('t-4xx');
  const f = failing(() => new GatewayError('bad_request', 'bad input'));
  const results = await callN(b.stage(f.next), 40);
  assert.equal(b.state(), 'closed');
  assert.equal(f.calls(), 40);
  assert.ok(results.every((r) => r !== 'ok' && r.code === 'bad_request'));
});

test('client aborts never open the breaker', async () => {
  const b = breaker('t-abort');
  const f = failing(() => new GatewayError('client_closed', 'gone'));
  await callN(b.stage(f.next), 20);
  assert.equal(b.state(), 'closed');
});

test('refused connections open it once volumeThreshold calls are in; then 503 circuit_open without calling next', async () => {
  const b = breaker('t-refused', { resetTimeoutMs: 3_000 });
  const f = failing(refused);
  const first = await callN(b.stage(f.next), 4);
  assert.equal(b.state(), 'closed', 'below the volume threshold');
  assert.ok(first.every((r) => r !== 'ok' && r.code === 'backend_unreachable'));
  await callN(b.stage(f.next), 1);
  assert.equal(b.state(), 'open');
  assert.equal(b.available(), false);
  assert.equal(await metricValue('t-refused'), 2);
  const [rejected] = await callN(b.stage(f.next), 1);
  assert.equal(f.calls(), 5, 'next is not called while open');
  assert.ok(rejected instanceof GatewayError);
  assert.equal(rejected.code, 'circuit_open');
  assert.equal(rejected.status, 503);
  assert.ok(rejected.retryAfter !== undefined && rejected.retryAfter >= 1 && rejected.retryAfter <= 3, `Retry-After ${rejected.retryAfter}`);
});

test('deadline timeouts count: a backend that hangs opens the breaker', async () => {
  const b = breaker('t-hang', { volumeThreshold: 3 });
  const hang: Infer = () => new Promise(() => {});
  for (let i = 0; i < 3; i++) {
    await assert.rejects(b.stage(hang)(req, testContext(15).ctx), { code: 'deadline_exceeded' });
  }
  assert.equal(b.state(), 'open');
});

test('30 % failures with a 50 % threshold never open it', async () => {
  const b = breaker('t-30');
  let n = 0;
  const next: Infer = async () => { if (n++ % 10 < 3) throw refused(); return okResponse; };
  await callN(b.stage(next), 100);
  assert.equal(b.state(), 'closed');
});

test('half-open lets exactly one probe through; success closes with a fresh window', async () => {
  const b = breaker('t-probe');
  await callN(b.stage(failing(refused).next), 5);
  assert.equal(b.state(), 'open');
  await waitForReset();
  assert.equal(b.state(), 'half-open');
  assert.equal(b.available(), true, 'a half-open target takes its probe');
  assert.equal(await metricValue('t-probe'), 1);

  let release!: () => void;
  let calls = 0;
  const slow: Infer = () => { calls++; return new Promise((r) => { release = () => r(okResponse); }); };
  const probe = b.stage(slow)(req, testContext().ctx);
  assert.equal(b.available(), false, 'others route around while the probe is out');
  const others = await callN(b.stage(slow), 4);
  assert.equal(calls, 1);
  assert.ok(others.every((r) => r !== 'ok' && r.code === 'circuit_open' && r.retryAfter === 1));
  release();
  assert.deepEqual(await probe, okResponse);
  assert.equal(b.state(), 'closed');
  assert.equal(await metricValue('t-probe'), 0);
  await new Promise((r) => setImmediate(r));
  // The outage's failures are gone from the window: one new failure does not re-open it.
  await callN(b.stage(failing(refused).next), 1);
  assert.equal(b.state(), 'closed');
});

test('a failed probe opens it again at once', async () => {
  const b = breaker('t-probe-fail');
  const f = failing(refused);
  await callN(b.stage(f.next), 5);
  await waitForReset();
  assert.equal(b.state(), 'half-open');
  const [probe] = await callN(b.stage(f.next), 1);
  assert.ok(probe !== 'ok' && probe.code === 'backend_unreachable');
  assert.equal(b.state(), 'open');
  assert.equal(f.calls(), 6);
});

test('a client abort during the probe neither closes nor counts: it stays open for another reset', async () => {
  const b = breaker('t-probe-abort');
  await callN(b.stage(failing(refused).next), 5);
  await waitForReset();
  const { ctx, disconnect } = testContext();
  const hang: Infer = () => new Promise(() => {});
  const probe = b.stage(hang)(req, ctx);
  disconnect();
  await assert.rejects(probe, { code: 'client_closed' });
  assert.equal(b.state(), 'open');
  await waitForReset();
  assert.equal(b.state(), 'half-open');
});

test('a 4xx answer to the probe closes it: the backend is answering', async () => {
  const b = breaker('t-probe-4xx');
  await callN(b.stage(failing(refused).next), 5);
  await waitForReset();
  await callN(b.stage(failing(() => new GatewayError('bad_request', 'x')).next), 1);
  assert.equal(b.state(), 'closed');
});

test('the breaker plugin: no `breaker` block, no stage; with one, status shows the state and available() follows it', async () => {
  assert.equal(breakerPlugin.create({}, targetDeps('t-plugin-none')), undefined);
  const stage = breakerPlugin.create({ breaker: breakerSchema.parse({ volumeThreshold: 2, resetTimeoutMs: 60_000 }) }, targetDeps('t-plugin'))!;
  try {
    assert.deepEqual(stage.status!(), { state: 'closed' });
    assert.equal(stage.available!(), true);
    await callN(stage.stage(failing(refused).next), 2);
    assert.deepEqual(stage.status!(), { state: 'open' });
    assert.equal(stage.available!(), false);
  } finally {
    await stage.close!();
  }
});

test('breakerSchema: defaults, durations, and no unknown keys', () => {
  assert.deepEqual(breakerSchema.parse({}), { errorThresholdPercentage: 50, volumeThreshold: 20, rollingCountTimeoutMs: 10_000, resetTimeoutMs: 10_000 });
  assert.equal(breakerSchema.parse({ resetTimeoutMs: '2s' }).resetTimeoutMs, 2_000);
  assert.equal(breakerSchema.safeParse({ volumeThreshold: 0 }).success, false);
  assert.equal(breakerSchema.safeParse({ threshold: 5 }).success, false);
});
