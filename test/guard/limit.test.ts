import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { GatewayError } from '../../src/errors.ts';
import { createConcurrencyLimit, limit as limitPlugin } from '../../src/guard/limit.ts';
import { shedTotal } from '../../src/observe/metrics.ts';
import type { Infer } from '../../src/types.ts';
import { okResponse, targetDeps, testContext } from './context.ts';

const req = { instances: [[1]] };

function gate(): { next: Infer; open(): void; calls(): number } {
  const waiting: Array<() => void> = [];
  let calls = 0;
  return {
    next: () => { calls++; return new Promise((r) => waiting.push(() => r(okResponse))); },
    open: () => waiting.splice(0).forEach((f) => f()),
    calls: () => calls,
  };
}

test('sheds beyond maxInFlight with 429 overloaded and Retry-After, at once', async () => {
  const limit = createConcurrencyLimit(2, { target: 'lim', reason: 'max_in_flight' });
  const g = gate();
  const infer = limit.stage(g.next);
  const a = infer(req, testContext().ctx);
  const b = infer(req, testContext().ctx);
  await assert.rejects(infer(req, testContext().ctx), (e: GatewayError) =>
    e.code === 'overloaded' && e.status === 429 && e.retryAfter === 1);
  assert.equal(g.calls(), 2);
  assert.equal(limit.inFlight(), 2);
  assert.equal(limit.shed(), 1);
  const shed = (await shedTotal.get()).values.find((v) => v.labels.target === 'lim');
  assert.equal(shed?.value, 1);
  g.open();
  await Promise.all([a, b]);
  assert.equal(limit.inFlight(), 0);
});

test('a failed or throwing call frees its slot', async () => {
  const limit = createConcurrencyLimit(1, { target: 'lim2', reason: 'max_in_flight' });
  await assert.rejects(limit.stage(async () => { throw new Error('x'); })(req, testContext().ctx));
  await assert.rejects(limit.stage(() => { throw new Error('sync'); })(req, testContext().ctx));
  assert.equal(limit.inFlight(), 0);
  assert.deepEqual(await limit.stage(async () => okResponse)(req, testContext().ctx), okResponse);
});

test('no maxInFlight: counts but never sheds', async () => {
  const limit = createConcurrencyLimit(undefined, { target: 'lim3', reason: 'max_in_flight' });
  const g = gate();
  const all = Array.from({ length: 50 }, () => limit.stage(g.next)(req, testContext().ctx));
  assert.equal(limit.inFlight(), 50);
  g.open();
  await Promise.all(all);
  assert.equal(limit.shed(), 0);
});

test('the limit plugin reads the target\'s maxInFlight and shows its calls in flight and those shed', async () => {
  const stage = limitPlugin.create({ maxInFlight: 1 }, targetDeps('lim-plugin'));
  const g = gate();
  const infer = stage.stage(g.next);
  const held = infer(req, testContext().ctx);
  await assert.rejects(infer(req, testContext().ctx), (e: GatewayError) => e.code === 'overloaded' && e.status === 429);
  assert.deepEqual(stage.status(), { inFlight: 1, shed: 1 });
  g.open();
  await held;
  assert.deepEqual(stage.status(), { inFlight: 0, shed: 1 });
});

test('without maxInFlight the limit plugin still counts calls for status, and never sheds', async () => {
  const stage = limitPlugin.create({}, targetDeps('lim-plugin-none'));
  const g = gate();
  const all = Array.from({ length: 20 }, () => stage.stage(g.next)(req, testContext().ctx));
  assert.deepEqual(stage.status(), { inFlight: 20, shed: 0 });
  g.open();
  await Promise.all(all);
});
