import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GatewayError } from '../../src/errors.ts';
import { silentLogger } from '../../src/observe/log.ts';
import { createSplit } from '../../src/routing/split.ts';
import { context, counts, fakeTarget, modelConfig, recordingLogger } from './fakes.ts';

const opts = { model: 'm', log: silentLogger };
const req = { instances: [[1]] };

test('weights 3:1 over 4 picks give exactly 3 and 1, interleaved (smooth WRR)', async () => {
  const a = fakeTarget('a', 3);
  const b = fakeTarget('b', 1);
  const split = createSplit(modelConfig(), [a, b], opts);
  const order: string[] = [];
  for (let i = 0; i < 4; i++) {
    const ctx = context();
    await split.infer(req, ctx);
    order.push(ctx.target!);
  }
  assert.deepEqual(order, ['a', 'a', 'b', 'a']);
  assert.equal(a.calls, 3);
  assert.equal(b.calls, 1);
});

test('exact counts for small weight sets over whole cycles', async () => {
  const cases: Array<[number[], number]> = [[[5, 3, 2], 10], [[1, 1], 2], [[2, 1, 1], 4], [[7, 0, 3], 10], [[0.5, 0.25, 0.25], 4]];
  for (const [weights, cycle] of cases) {
    const split = createSplit(modelConfig(), weights.map((w, i) => fakeTarget(`t${i}`, w)), opts);
    const total = weights.reduce((s, w) => s + w, 0);
    for (let round = 1; round <= 3; round++) {
      const got = await counts(split.infer, cycle);
      weights.forEach((w, i) => assert.equal(got[`t${i}`] ?? 0, (cycle * w) / total, `weights ${weights}, cycle ${round}: t${i}`));
    }
  }
});

test('over 10,000 requests each target is within ±1.5 points of its weight', async () => {
  for (const weights of [[90, 10], [50, 30, 20], [33.3, 66.7], [1, 1, 1, 1, 96]]) {
    const split = createSplit(modelConfig(), weights.map((w, i) => fakeTarget(`t${i}`, w)), opts);
    const got = await counts(split.infer, 10_000);
    const total = weights.reduce((s, w) => s + w, 0);
    weights.forEach((w, i) => {
      const share = (100 * (got[`t${i}`] ?? 0)) / 10_000;
      assert.ok(Math.abs(share - (100 * w) / total) <= 1.5, `weights ${weights}: t${i} got ${share}%`);
    });
  }
});

test('unavailable targets are skipped and their share goes to the others, in proportion', async () => {
  const [a, b, c] = [fakeTarget('a', 50), fakeTarget('b', 30), fakeTarget('c', 20)];
  const split = createSplit(modelConfig(), [a, b, c], opts);
  c.up = false;
  const got = await counts(split.infer, 800);
  assert.deepEqual(got, { a: 500, b: 300 });
  c.up = true;
  const back = await counts(split.infer, 1000);
  assert.ok(back.c! >= 150 && back.c! <= 250, `c is back: ${back.c}`);
});

test('when no target is available, one is picked anyway and its own error reaches the caller', async () => {
  const a = fakeTarget('a', 1);
  const b = fakeTarget('b', 1);
  a.up = b.up = false;
  a.fail = b.fail = new GatewayError('circuit_open', 'circuit open');
  const split = createSplit(modelConfig(), [a, b], opts);
  const ctx = context();
  await assert.rejects(split.infer(req, ctx), (e: GatewayError) => e.code === 'circuit_open');
  assert.ok(ctx.target === 'a' || ctx.target === 'b');
  assert.equal(a.calls + b.calls, 1);
});

test('a weight of 0 is never picked; every weight 0 still answers (from some target)', async () => {
  const split = createSplit(modelConfig(), [fakeTarget('a', 1), fakeTarget('z', 0)], opts);
  assert.deepEqual(await counts(split.infer, 50), { a: 50 });
  const none = createSplit(modelConfig(), [fakeTarget('a', 0), fakeTarget('b', 0)], opts);
  assert.deepEqual(await counts(none.infer, 4), { a: 2, b: 2 });
});

test('setWeight takes effect at once and status shows the reason; bad calls throw', async () => {
  const { log, lines } = recordingLogger();
  const split = createSplit(modelConfig(), [fakeTarget('a', 90), fakeTarget('b', 10)], { model: 'm', log });
  split.setWeight('b', 0, 'rolled back: error rate');
  assert.deepEqual(await counts(split.infer, 100), { a: 100 });
  const b = split.status().targets.find((t) => t.name === 'b')!;
  assert.equal(b.weight, 10);
  assert.equal(b.effectiveWeight, 0);
  assert.equal(b.rolledBack, 'rolled back: error rate');
  assert.equal(split.status().targets.find((t) => t.name === 'a')!.picked, 100);
  assert.ok(lines.some((l) => l.msg === 'target weight changed' && l.obj.target === 'b'));
  split.setWeight('b', 30);
  assert.deepEqual(await counts(split.infer, 12), { a: 9, b: 3 });
  assert.throws(() => split.setWeight('nope', 1), /no target nope/);
  assert.throws(() => split.setWeight('a', -1), /not a non-negative number/);
  assert.throws(() => split.setWeight('a', Number.NaN), /not a non-negative number/);
});

test('x-infergate-target picks an allowed target directly, even one with weight 0', async () => {
  const split = createSplit(modelConfig({ allowOverride: ['canary'] }), [fakeTarget('main', 100), fakeTarget('canary', 0)], opts);
  const got = await counts(split.infer, 5, () => ({ 'x-infergate-target': 'canary' }));
  assert.deepEqual(got, { canary: 5 });
  assert.deepEqual(await counts(split.infer, 5, () => ({ 'x-infergate-target': ['canary', 'main'] })), { canary: 5 });
  assert.deepEqual(await counts(split.infer, 5, () => ({ 'x-infergate-target': '' })), { main: 5 });
});

test('x-infergate-target for a name not allowed is 400 bad_request naming the allowed names', async () => {
  const main = fakeTarget('main', 100);
  const split = createSplit(modelConfig({ allowOverride: ['canary'] }), [main, fakeTarget('canary', 0)], opts);
  for (const asked of ['main', 'other-backend', 'CANARY', '../canary']) {
    await assert.rejects(split.infer(req, context({ 'x-infergate-target': asked })), (e: GatewayError) =>
      e.code === 'bad_request' && e.status === 400 && e.message.includes('allowed: canary') && e.message.includes(JSON.stringify(asked)));
  }
  assert.equal(main.calls, 0);
  const closed = createSplit(modelConfig(), [main], opts);
  await assert.rejects(closed.infer(req, context({ 'x-infergate-target': 'main' })), (e: GatewayError) =>
    e.code === 'bad_request' && /does not allow choosing a target/.test(e.message));
});

test('allowOverride naming no target of the model is ignored with a warning: never a way out', async () => {
  const { log, lines } = recordingLogger();
  const split = createSplit(modelConfig({ allowOverride: ['elsewhere', 'a'] }), [fakeTarget('a', 1)], { model: 'm', log });
  assert.ok(lines.some((l) => l.level === 'warn' && l.obj.name === 'elsewhere'));
  await assert.rejects(split.infer(req, context({ 'x-infergate-target': 'elsewhere' })), (e: GatewayError) =>
    e.code === 'bad_request' && e.message.endsWith('allowed: a'));
});

test('a long override value is cut in the error message', async () => {
  const split = createSplit(modelConfig({ allowOverride: ['a'] }), [fakeTarget('a', 1)], opts);
  await assert.rejects(split.infer(req, context({ 'x-infergate-target': 'x'.repeat(5000) })), (e: GatewayError) =>
    e.code === 'bad_request' && e.message.length < 300);
});

test('a model without targets is refused', () => {
  assert.throws(() => createSplit(modelConfig(), [], opts), /no targets/);
});
