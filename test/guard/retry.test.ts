import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GatewayError, isRetryable } from '../../src/errors.ts';
import { backoffMs, createRetry, retry, retrySchema, RetryBudget } from '../../src/guard/retry.ts';
import { silentLogger } from '../../src/observe/log.ts';
import type { Infer } from '../../src/types.ts';
import { okResponse, refused, resetAfterSend, targetDeps, testContext } from './context.ts';

const req = { instances: [[1]] };
const config = { attempts: 2, budgetPercent: 20, backoffMs: 1, budgetWindowMs: 10_000, minRetries: 3 };

function flaky(errors: Array<() => GatewayError>): { next: Infer; calls: () => number } {
  let calls = 0;
  return {
    next: async () => {
      const e = errors[calls++];
      if (e !== undefined) throw e();
      return okResponse;
    },
    calls: () => calls,
  };
}

test('isRetryable: only what cannot have had an effect', () => {
  assert.equal(isRetryable(refused()), true);
  assert.equal(isRetryable(new GatewayError('backend_unavailable', 'busy')), true);
  assert.equal(isRetryable(new GatewayError('backend_unreachable', 'x', {
    cause: Object.assign(new Error('t'), { code: 'UND_ERR_CONNECT_TIMEOUT' }) })), true);
  // Nested cause (undici wraps the socket error).
  assert.equal(isRetryable(new GatewayError('backend_unreachable', 'x', {
    cause: new Error('fetch failed', { cause: Object.assign(new Error('r'), { code: 'ECONNREFUSED' }) }) })), true);
  assert.equal(isRetryable(resetAfterSend()), false);
  assert.equal(isRetryable(new GatewayError('backend_unreachable', 'no cause')), false);
  for (const code of ['backend_error', 'backend_bad_reply', 'deadline_exceeded', 'bad_request', 'client_closed', 'internal',
    'backend_overloaded', 'backend_queue_full', 'overloaded', 'circuit_open'] as const) {
    assert.equal(isRetryable(new GatewayError(code, 'x')), false, code);
  }
  assert.equal(isRetryable(new GatewayError('backend_unavailable', 'x', { status: 502 })), false);
});

test('backoffMs is fully jittered below (2^n − 1)·base and capped at 10·base', () => {
  assert.equal(backoffMs(1, 25, () => 0), 0);
  assert.ok(backoffMs(1, 25, () => 0.999) < 25);
  assert.ok(backoffMs(2, 25, () => 0.999) < 75);
  assert.ok(backoffMs(2, 25, () => 0.999) > 70);
  assert.ok(backoffMs(9, 25, () => 0.999) < 250);
});

test('retries a refused connection and answers from the second attempt', async () => {
  const r = createRetry(config, { target: 't', log: silentLogger });
  const f = flaky([refused]);
  assert.deepEqual(await r.stage(f.next)(req, testContext().ctx), okResponse);
  assert.equal(f.calls(), 2);
  assert.equal(r.retries(), 1);
});

test('retries a 503 backend_unavailable', async () => {
  const r = createRetry(config, { target: 't', log: silentLogger });
  const f = flaky([() => new GatewayError('backend_unavailable', 'busy')]);
  await r.stage(f.next)(req, testContext().ctx);
  assert.equal(f.calls(), 2);
});

test('never retries a reset after sending, a 5xx answer, a bad reply, a timeout or a 4xx', async () => {
  for (const err of [resetAfterSend, () => new GatewayError('backend_error', '500'), () => new GatewayError('backend_bad_reply', 'garbage'),
    () => new GatewayError('deadline_exceeded', 'slow'), () => new GatewayError('bad_request', 'bad')]) {
    const r = createRetry(config, { target: 't', log: silentLogger });
    const f = flaky([err, err]);
    await assert.rejects(r.stage(f.next)(req, testContext().ctx), { code: err().code });
    assert.equal(f.calls(), 1, err().code);
    assert.equal(r.retries(), 0);
  }
});

test('at most `attempts` retries, then the last error', async () => {
  const r = createRetry(config, { target: 't', log: silentLogger });
  const f = flaky([refused, refused, refused, refused]);
  await assert.rejects(r.stage(f.next)(req, testContext().ctx), { code: 'backend_unreachable' });
  assert.equal(f.calls(), 3);
});

test('no retry once the client has gone', async () => {
  const r = createRetry(config, { target: 't', log: silentLogger });
  const { ctx, disconnect } = testContext();
  let calls = 0;
  const next: Infer = async () => { calls++; disconnect(); throw refused(); };
  await assert.rejects(r.stage(next)(req, ctx));
  assert.equal(calls, 1);
});

test('no retry when the backoff would pass the deadline', async () => {
  const r = createRetry({ ...config, backoffMs: 10_000 }, { target: 't', log: silentLogger, random: () => 0.99 });
  const f = flaky([refused]);
  await assert.rejects(r.stage(f.next)(req, testContext(200).ctx), { code: 'backend_unreachable' });
  assert.equal(f.calls(), 1);
});

test('the budget caps retries under an outage: ≤ max(minRetries, 20 % of calls)', async () => {
  const r = createRetry({ ...config, attempts: 3 }, { target: 't', log: silentLogger });
  let calls = 0;
  const down: Infer = async () => { calls++; throw refused(); };
  const requests = 200;
  await Promise.all(Array.from({ length: requests }, () => r.stage(down)(req, testContext().ctx).catch(() => {})));
  assert.ok(r.retries() <= Math.max(3, 0.2 * requests), `retries ${r.retries()}`);
  assert.ok(r.retries() >= 3, 'some retries are still allowed');
  assert.equal(calls, requests + r.retries());
  assert.ok(r.refused() > 0, 'refused retries are counted');
});

test('RetryBudget: minRetries at low traffic, then a share of calls; old buckets expire', () => {
  let now = 0;
  const b = new RetryBudget(1000, 10, 2, () => now);
  b.call();
  assert.equal(b.tryRetry(), true);
  assert.equal(b.tryRetry(), true);
  assert.equal(b.tryRetry(), false);
  for (let i = 0; i < 50; i++) b.call();
  assert.equal(b.tryRetry(), true, '10 % of 51 calls allows a third');
  assert.equal(b.tryRetry(), true);
  assert.equal(b.tryRetry(), true);
  assert.equal(b.tryRetry(), false);
  now = 5_000;
  assert.equal(b.tryRetry(), true, 'the window moved on');
});

test('the retry plugin: no `retry` block or 0 attempts, no stage; otherwise status counts retries made and refused', async () => {
  assert.equal(retry.create({}, targetDeps('rt-none')), undefined);
  assert.equal(retry.create({ retry: retrySchema.parse({ attempts: 0 }) }, targetDeps('rt-zero')), undefined);
  const stage = retry.create({ retry: retrySchema.parse({ attempts: 1, backoffMs: 1, minRetries: 1, budgetPercent: 0 }) }, targetDeps('rt'))!;
  const down: Infer = async () => { throw refused(); };
  for (let i = 0; i < 3; i++) await assert.rejects(stage.stage(down)(req, testContext().ctx), { code: 'backend_unreachable' });
  assert.deepEqual(stage.status!(), { retries: 1, refused: 2 });
});

test('retrySchema: defaults, at most 5 attempts, no unknown keys', () => {
  assert.deepEqual(retrySchema.parse({}), { attempts: 1, budgetPercent: 20, backoffMs: 25, budgetWindowMs: 10_000, minRetries: 3 });
  assert.equal(retrySchema.safeParse({ attempts: 6 }).success, false);
  assert.equal(retrySchema.safeParse({ tries: 2 }).success, false);
});
