import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { GatewayError } from '../../src/errors.ts';
import { createGuard, type Guard } from '../../src/guard/guard.ts';
import { silentLogger } from '../../src/observe/log.ts';
import type { Infer } from '../../src/types.ts';
import { okResponse, refused, testContext } from './context.ts';

const req = { instances: [[1]] };
const breaker = { errorThresholdPercentage: 50, volumeThreshold: 4, rollingCountTimeoutMs: 10_000, resetTimeoutMs: 5_000 };
const retry = { attempts: 1, budgetPercent: 20, backoffMs: 1, budgetWindowMs: 10_000, minRetries: 100 };
const guards: Guard[] = [];
after(() => guards.forEach((g) => g.close()));

function guard(config: Parameters<typeof createGuard>[0], target: string): Guard {
  const g = createGuard(config, { target, backend: 'a', log: silentLogger });
  guards.push(g);
  return g;
}

test('no breaker or retry configured: status says none and the call passes through', async () => {
  const g = guard({}, 'g-none');
  assert.deepEqual(await g.stage(async () => okResponse)(req, testContext().ctx), okResponse);
  assert.deepEqual(g.status(), { breaker: 'none', inFlight: 0, retries: 0, retriesRefused: 0, shed: 0 });
  assert.equal(g.available(), true);
});

test('a request retried once is one breaker call: the breaker opens after volumeThreshold requests', async () => {
  const g = guard({ breaker, retry }, 'g-retry');
  let calls = 0;
  const down: Infer = async () => { calls++; throw refused(); };
  for (let i = 0; i < 4; i++) await assert.rejects(g.stage(down)(req, testContext().ctx), { code: 'backend_unreachable' });
  assert.equal(calls, 8, 'each request tried twice');
  assert.equal(g.status().retries, 4);
  assert.equal(g.status().breaker, 'open');
  assert.equal(g.available(), false);
  await assert.rejects(g.stage(down)(req, testContext().ctx), (e: GatewayError) => e.code === 'circuit_open' && e.status === 503);
  assert.equal(calls, 8);
});

test('shed calls never reach the breaker, so overload cannot open it', async () => {
  const g = guard({ breaker: { ...breaker, volumeThreshold: 1 }, maxInFlight: 1 }, 'g-shed');
  let release!: () => void;
  const slow: Infer = () => new Promise((r) => { release = () => r(okResponse); });
  const held = g.stage(slow)(req, testContext().ctx);
  for (let i = 0; i < 10; i++) await assert.rejects(g.stage(slow)(req, testContext().ctx), { code: 'overloaded' });
  assert.equal(g.status().shed, 10);
  assert.equal(g.status().inFlight, 1);
  release();
  await held;
  assert.equal(g.status().breaker, 'closed');
});

test('the deadline comes first: no time left means no backend call and no breaker failure', async () => {
  const g = guard({ breaker: { ...breaker, volumeThreshold: 1 } }, 'g-deadline');
  let calls = 0;
  for (let i = 0; i < 5; i++) {
    await assert.rejects(g.stage(async () => { calls++; return okResponse; })(req, testContext(-1).ctx), { code: 'deadline_exceeded' });
  }
  assert.equal(calls, 0);
  assert.equal(g.status().breaker, 'closed');
});

test('a hanging backend: the guard answers 504 at the deadline and frees the slot', async () => {
  const g = guard({ breaker, maxInFlight: 2 }, 'g-hang');
  const hang: Infer = () => new Promise(() => {});
  await assert.rejects(g.stage(hang)(req, testContext(20).ctx), { code: 'deadline_exceeded' });
  assert.equal(g.status().inFlight, 0);
});

test('retries are refused by the budget and counted in status', async () => {
  const g = guard({ retry: { ...retry, minRetries: 1, budgetPercent: 0 } }, 'g-budget');
  const down: Infer = async () => { throw refused(); };
  for (let i = 0; i < 5; i++) await assert.rejects(g.stage(down)(req, testContext().ctx));
  assert.equal(g.status().retries, 1);
  assert.equal(g.status().retriesRefused, 4);
});
