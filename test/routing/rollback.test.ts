import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GatewayError } from '../../src/errors.ts';
import { rollbacksTotal } from '../../src/observe/metrics.ts';
import { silentLogger } from '../../src/observe/log.ts';
import { createRollback, rollback as rollbackPlugin, rollbackSchema, type RollbackConfig } from '../../src/routing/rollback.ts';
import { createWeights } from '../../src/routing/weights.ts';
import type { Infer } from '../../src/types.ts';
import { context, fakeTarget, recordingLogger, routed, type FakeTarget } from './fakes.ts';

function rollbackConfig(fields: Partial<RollbackConfig> = {}): RollbackConfig {
  return { minRequests: 50, maxErrorRateRatio: 2, maxP99Ratio: 2, windowMs: 60_000, errorRateFloor: 0.01, latencyFloorMs: 5, ...fields };
}

/** setup: a 90/10 split of `stable` and `canary` behind a rollback watcher, on a fake clock. */
function setup(config: RollbackConfig, model = 'rb') {
  let clock = 1_000_000;
  const stable = fakeTarget('stable', 90);
  const canary = fakeTarget('canary', 10);
  const latency = new Map<string, number>([['stable', 10], ['canary', 10]]);
  // Each call takes its target's latency on the fake clock.
  const timed = (t: FakeTarget): FakeTarget => {
    const inner = t.infer;
    t.infer = async (req, ctx) => { clock += latency.get(t.name)!; return inner(req, ctx); };
    return t;
  };
  const { log, lines } = recordingLogger();
  const targets = [timed(stable), timed(canary)];
  const split = routed(targets, undefined, { model, log });
  const rollback = createRollback(config, targets, split.weights, { model, log, now: () => clock });
  const infer: Infer = rollback.stage(split.infer);
  const send = async (n: number): Promise<number> => {
    let failed = 0;
    for (let i = 0; i < n; i++) {
      clock += 5;
      await infer({ instances: [[i]] }, context()).catch(() => { failed++; });
    }
    return failed;
  };
  return { stable, canary, latency, split, rollback, send, lines, advance: (ms: number) => { clock += ms; } };
}

test('a canary that starts failing is rolled back at once: weight 0, one log line, a metric, status', async () => {
  const s = setup(rollbackConfig(), 'rb-fail');
  await s.send(1000); // both healthy: nothing happens
  assert.equal(s.split.status().targets.find((t) => t.name === 'canary')!.effectiveWeight, 10);
  s.canary.fail = new GatewayError('backend_unreachable', 'canary down');
  const failedBefore = await s.send(1000);
  const canary = s.split.status().targets.find((t) => t.name === 'canary')!;
  assert.equal(canary.effectiveWeight, 0);
  assert.match(canary.rolledBack!, /^rolled back: error rate/);
  // Rolled back as soon as the window held enough failures; after that no client saw an error.
  assert.ok(failedBefore > 0 && failedBefore < 100, `failed ${failedBefore}`);
  assert.equal(await s.send(500), 0);
  const status = s.rollback.status() as { state: string; decision: { reason: string; why: string } };
  assert.equal(status.state, 'rolledBack');
  assert.equal(status.decision.reason, 'error_rate');
  assert.equal(s.lines.filter((l) => l.level === 'warn' && /rolled back/.test(l.msg)).length, 1);
  const metric = (await rollbacksTotal.get()).values.find((v) => v.labels.model === 'rb-fail');
  assert.deepEqual([metric?.labels.target, metric?.labels.reason, metric?.value], ['canary', 'error_rate', 1]);
});

test('a healthy canary is left alone, errors at the primary\'s rate included', async () => {
  const s = setup(rollbackConfig(), 'rb-ok');
  let n = 0;
  // Both fail 5 % of calls: the same rate is no reason to roll back.
  for (const t of [s.stable, s.canary]) {
    const inner = t.infer;
    t.infer = (req, ctx) => (++n % 20 === 0 ? Promise.reject(new GatewayError('backend_error', 'flaky')) : inner(req, ctx));
  }
  await s.send(5000);
  assert.equal(s.split.status().targets.find((t) => t.name === 'canary')!.effectiveWeight, 10);
  assert.equal((s.rollback.status() as { state: string }).state, 'watching');
});

test('a canary much slower than the primary is rolled back on p99', async () => {
  const s = setup(rollbackConfig(), 'rb-slow');
  s.latency.set('canary', 50);
  await s.send(2000);
  const status = s.rollback.status() as { state: string; decision: { reason: string; p99Ratio: number } };
  assert.equal(status.state, 'rolledBack');
  assert.equal(status.decision.reason, 'p99');
  assert.ok(status.decision.p99Ratio > 4, `ratio ${status.decision.p99Ratio}`);
});

test('nothing is decided before minRequests calls of each in the window', async () => {
  const s = setup(rollbackConfig({ minRequests: 200 }), 'rb-min');
  s.canary.fail = new GatewayError('backend_error', 'broken');
  await s.send(1500); // ~150 canary calls: below minRequests
  assert.equal((s.rollback.status() as { state: string }).state, 'watching');
  await s.send(1000);
  assert.equal((s.rollback.status() as { state: string }).state, 'rolledBack');
});

test('old failures leave the sliding window', async () => {
  const s = setup(rollbackConfig({ windowMs: 10_000, minRequests: 20 }), 'rb-window');
  s.canary.fail = new GatewayError('backend_error', 'broken');
  await s.send(100); // 10 canary failures: not enough calls yet
  s.canary.fail = undefined;
  s.advance(20_000); // the window moves past them
  await s.send(400);
  assert.equal((s.rollback.status() as { state: string }).state, 'watching');
});

test('client mistakes, client aborts and shedding do not count against the canary', async () => {
  const s = setup(rollbackConfig({ minRequests: 20 }), 'rb-4xx');
  s.canary.fail = new GatewayError('bad_request', 'your fault');
  await s.send(500);
  for (const code of ['queue_full', 'overloaded', 'backend_overloaded'] as const) {
    s.canary.fail = new GatewayError(code, 'full');
    await s.send(500);
  }
  s.canary.fail = new GatewayError('client_closed', 'gone');
  await s.send(500);
  assert.equal((s.rollback.status() as { state: string }).state, 'watching');
});

test('promote gives a canary that stays healthy all the traffic', async () => {
  const s = setup(rollbackConfig({ minRequests: 20, promote: { afterRequests: 100 } }), 'rb-promote');
  await s.send(2000);
  const targets = s.split.status().targets;
  assert.equal(targets.find((t) => t.name === 'stable')!.effectiveWeight, 0);
  assert.equal(targets.find((t) => t.name === 'canary')!.effectiveWeight, 100);
  assert.equal((s.rollback.status() as { state: string }).state, 'promoted');
});

test('canary and primary default to the lightest and heaviest targets; with one target nothing is watched', () => {
  const targets = [fakeTarget('x', 5), fakeTarget('big', 80), fakeTarget('small', 1)];
  const weights = createWeights(targets, { model: 'm', log: silentLogger });
  const status = createRollback(rollbackConfig(), targets, weights, { model: 'm', log: silentLogger }).status() as { canary: string; primary: string };
  assert.deepEqual([status.canary, status.primary], ['small', 'big']);
  const named = createRollback(rollbackConfig({ canary: 'x', primary: 'small' }), targets, weights, { model: 'm', log: silentLogger }).status() as { canary: string; primary: string };
  assert.deepEqual([named.canary, named.primary], ['x', 'small']);
  const one = [fakeTarget('only', 1)];
  const alone = createRollback(rollbackConfig(), one, createWeights(one, { model: 'm', log: silentLogger }), { model: 'm', log: silentLogger });
  assert.equal((alone.status() as { state: string }).state, 'inactive');
});

test('the rollback plugin: no `rollback` block, no stage; with one, it changes the weights the split reads', async () => {
  const stable = fakeTarget('stable', 90);
  const canary = fakeTarget('canary', 10);
  const targets = [stable, canary];
  const split = routed(targets, undefined, { model: 'rb-plugin' });
  const deps = { model: 'rb-plugin', log: silentLogger, targets, weights: split.weights, timeoutMs: 30_000, backends: new Map(), metadata: () => Promise.reject(new Error('no metadata in this test')) };
  assert.equal(rollbackPlugin.create({}, deps), undefined);
  const stage = rollbackPlugin.create({ rollback: rollbackSchema.parse({ minRequests: 20 }) }, deps)!;
  canary.fail = new GatewayError('backend_error', 'broken');
  const infer = stage.stage(split.infer);
  for (let i = 0; i < 1000; i++) await infer({ instances: [[i]] }, context()).catch(() => undefined);
  assert.equal(split.weights.get('canary'), 0);
  assert.equal((stage.status!() as { state: string }).state, 'rolledBack');
});
