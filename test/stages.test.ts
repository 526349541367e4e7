// stages.test.ts — the stage registry and the composition of a path from it: the order of the
// stages (src/stages.ts) is what makes them work together — readiness and shedding before the
// breaker, the breaker around the retries — so these tests build a target's stages the way
// src/target.ts does, compose(targetStages, config, deps), and check what the order promises.

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { compose, type Composed } from '../src/compose.ts';
import { GatewayError } from '../src/errors.ts';
import { breakerSchema } from '../src/guard/breaker.ts';
import { retrySchema } from '../src/guard/retry.ts';
import { silentLogger } from '../src/observe/log.ts';
import { createWeights } from '../src/routing/weights.ts';
import { modelStages, targetStages } from '../src/stages.ts';
import type { CallContext, Health, Infer, RoutedTarget, StageInstance, StagePlugin } from '../src/types.ts';
import { modelContext, okResponse, refused, targetDeps, testContext } from './guard/context.ts';

const req = { instances: [[1]] };
const breaker = breakerSchema.parse({ errorThresholdPercentage: 50, volumeThreshold: 4, rollingCountTimeoutMs: 10_000, resetTimeoutMs: 5_000 });
const retry = retrySchema.parse({ attempts: 1, budgetPercent: 20, backoffMs: 1, budgetWindowMs: 10_000, minRetries: 100 });
const built: Composed[] = [];
after(() => Promise.all(built.map((c) => c.close())));

/** targetPath composes a target's stages from `config` (the model's keys with the target's over them). */
function targetPath(config: Record<string, unknown>, target: string, health?: () => Health): Composed {
  const c = compose(targetStages, config, targetDeps(target, health));
  built.push(c);
  return c;
}

test('the registry lists the stages in path order', () => {
  assert.deepEqual(modelStages.map((s) => s.name), ['deadline', 'transform', 'classification', 'maxRows', 'shadow', 'rollback', 'split']);
  assert.deepEqual(targetStages.map((s) => s.name), ['ready', 'batcher', 'limit', 'adaptiveLimit', 'breaker', 'retry']);
});

test('no breaker or retry configured: only the counting limit is built, and the call passes through', async () => {
  const t = targetPath({}, 'c-none');
  assert.deepEqual(await t.stage(async () => okResponse)(req, testContext().ctx), okResponse);
  assert.deepEqual(t.status(), { limit: { inFlight: 0, shed: 0 } });
  assert.equal(t.available(), true);
});

test('a request retried once is one breaker call: the breaker opens after volumeThreshold requests', async () => {
  const t = targetPath({ breaker, retry }, 'c-retry');
  let calls = 0;
  const down: Infer = async () => { calls++; throw refused(); };
  for (let i = 0; i < 4; i++) await assert.rejects(t.stage(down)(req, testContext().ctx), { code: 'backend_unreachable' });
  assert.equal(calls, 8, 'each request tried twice');
  assert.deepEqual(t.status().retry, { retries: 4, refused: 0 });
  assert.deepEqual(t.status().breaker, { state: 'open' });
  assert.equal(t.available(), false);
  await assert.rejects(t.stage(down)(req, testContext().ctx), (e: GatewayError) => e.code === 'circuit_open' && e.status === 503);
  assert.equal(calls, 8);
});

test('shed calls never reach the breaker, so overload cannot open it', async () => {
  const t = targetPath({ breaker: { ...breaker, volumeThreshold: 1 }, maxInFlight: 1 }, 'c-shed');
  let release!: () => void;
  const slow: Infer = () => new Promise((r) => { release = () => r(okResponse); });
  const held = t.stage(slow)(req, testContext().ctx);
  for (let i = 0; i < 10; i++) await assert.rejects(t.stage(slow)(req, testContext().ctx), { code: 'overloaded' });
  assert.deepEqual(t.status().limit, { inFlight: 1, shed: 10 });
  release();
  await held;
  assert.deepEqual(t.status().breaker, { state: 'closed' });
});

test('a target that is not ready refuses first: no backend call, no slot taken, no breaker failure', async () => {
  const t = targetPath({ breaker: { ...breaker, volumeThreshold: 1 }, maxInFlight: 1 }, 'c-ready', () => ({ ready: false, reason: 'down' }));
  let calls = 0;
  for (let i = 0; i < 5; i++) {
    await assert.rejects(t.stage(async () => { calls++; return okResponse; })(req, testContext().ctx), { code: 'backend_unavailable' });
  }
  assert.equal(calls, 0);
  assert.deepEqual(t.status().limit, { inFlight: 0, shed: 0 });
  assert.deepEqual(t.status().breaker, { state: 'closed' });
  assert.equal(t.available(), false, 'a split routes around it');
});

test('no time left means no backend call and no breaker failure', async () => {
  const t = targetPath({ breaker: { ...breaker, volumeThreshold: 1 } }, 'c-deadline');
  let calls = 0;
  for (let i = 0; i < 5; i++) {
    await assert.rejects(t.stage(async () => { calls++; return okResponse; })(req, testContext(-1).ctx), { code: 'deadline_exceeded' });
  }
  assert.equal(calls, 0);
  assert.deepEqual(t.status().breaker, { state: 'closed' });
});

test('a hanging backend: the target answers 504 at the deadline and frees the slot', async () => {
  const t = targetPath({ breaker, maxInFlight: 2 }, 'c-hang');
  const hang: Infer = () => new Promise(() => {});
  await assert.rejects(t.stage(hang)(req, testContext(20).ctx), { code: 'deadline_exceeded' });
  assert.equal((t.status().limit as { inFlight: number }).inFlight, 0);
});

test('retries are refused by the budget and counted in status', async () => {
  const t = targetPath({ retry: { ...retry, minRetries: 1, budgetPercent: 0 } }, 'c-budget');
  const down: Infer = async () => { throw refused(); };
  for (let i = 0; i < 5; i++) await assert.rejects(t.stage(down)(req, testContext().ctx));
  assert.deepEqual(t.status().retry, { retries: 1, refused: 4 });
});

test('compose: the first plugin is outermost, absent stages are left out, and status, availability and close are folded', async () => {
  const order: string[] = [];
  let up = true;
  let closed = 0;
  const plugin = (name: string, extra: Partial<StageInstance> = {}, present = true): StagePlugin<object, unknown> => ({
    name, schema: {},
    create: () => (present ? {
      stage: (next) => (r, ctx) => { order.push(name); return next(r, ctx); },
      close: () => { closed++; },
      ...extra,
    } : undefined),
  });
  const c = compose([
    plugin('outer', { status: () => ({ n: 1 }) }),
    plugin('absent', {}, false),
    plugin('gate', { available: () => up }),
    plugin('inner'),
  ], {}, undefined);
  await c.stage(async () => { order.push('next'); return okResponse; })(req, testContext().ctx);
  assert.deepEqual(order, ['outer', 'gate', 'inner', 'next']);
  assert.deepEqual(c.status(), { outer: { n: 1 } });
  assert.equal(c.available(), true);
  up = false;
  assert.equal(c.available(), false);
  await c.close();
  assert.equal(closed, 3);
});

test('a model\'s path: the deadline is made above the split, and the split names the target for the stage below', async () => {
  const targets: RoutedTarget[] = [{ name: 'only', weight: 100, available: () => true }];
  const top = compose(modelStages, { timeoutMs: 1_000, allowOverride: [] }, {
    model: 'm', log: silentLogger, targets, weights: createWeights(targets, { model: 'm', log: silentLogger }), timeoutMs: 1_000, backends: new Map(), metadata: () => Promise.reject(new Error('no metadata in this test')),
  });
  built.push(top);
  let below: CallContext | undefined;
  const { ctx } = modelContext();
  const before = performance.now();
  await top.stage(async (_r, c) => { below = { ...c }; return okResponse; })(req, ctx);
  assert.equal(below?.target, 'only');
  assert.ok(below.deadline >= before + 1_000 && below.deadline <= performance.now() + 1_000);
  assert.deepEqual(Object.keys(top.status()), ['split']);
});
