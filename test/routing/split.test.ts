import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GatewayError } from '../../src/errors.ts';
import { overrideHeader, targetOf } from '../../src/routing/split.ts';
import type { CallContext } from '../../src/types.ts';
import { context, counts, fakeTarget, openTarget, routed, splitConfig } from './fakes.ts';

const req = { instances: [[1]] };

/** versioned gives a context for a call that names `version`, as a model handle does. */
function versioned(version: string, headers: Record<string, string> = {}): CallContext {
  return { ...context(headers), version };
}

test('weights 3:1 over 4 picks give exactly 3 and 1, interleaved (smooth WRR)', async () => {
  const a = fakeTarget('a', 3);
  const b = fakeTarget('b', 1);
  const split = routed([a, b]);
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
    const split = routed(weights.map((w, i) => fakeTarget(`t${i}`, w)));
    const total = weights.reduce((s, w) => s + w, 0);
    for (let round = 1; round <= 3; round++) {
      const got = await counts(split.infer, cycle);
      weights.forEach((w, i) => assert.equal(got[`t${i}`] ?? 0, (cycle * w) / total, `weights ${weights}, cycle ${round}: t${i}`));
    }
  }
});

test('over 10,000 requests each target is within ±1.5 points of its weight', async () => {
  for (const weights of [[90, 10], [50, 30, 20], [33.3, 66.7], [1, 1, 1, 1, 96]]) {
    const split = routed(weights.map((w, i) => fakeTarget(`t${i}`, w)));
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
  const split = routed([a, b, c]);
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
  const split = routed([a, b]);
  const ctx = context();
  await assert.rejects(split.infer(req, ctx), (e: GatewayError) => e.code === 'circuit_open');
  assert.ok(ctx.target === 'a' || ctx.target === 'b');
  assert.equal(a.calls + b.calls, 1);
});

test('a weight of 0 is never picked; every weight 0 still answers (from some target)', async () => {
  const split = routed([fakeTarget('a', 1), fakeTarget('z', 0)]);
  assert.deepEqual(await counts(split.infer, 50), { a: 50 });
  const none = routed([fakeTarget('a', 0), fakeTarget('b', 0)]);
  assert.deepEqual(await counts(none.infer, 4), { a: 2, b: 2 });
});

test('weights come from TargetWeights: a weight set to 0 stops picks at once, and status shows why', async () => {
  const split = routed([fakeTarget('a', 90), fakeTarget('b', 10)]);
  split.weights.set('b', 0, 'rolled back: error rate');
  assert.deepEqual(await counts(split.infer, 100), { a: 100 });
  const b = split.status().targets.find((t) => t.name === 'b')!;
  assert.equal(b.weight, 10);
  assert.equal(b.effectiveWeight, 0);
  assert.equal(b.rolledBack, 'rolled back: error rate');
  assert.equal(split.status().targets.find((t) => t.name === 'a')!.picked, 100);
  split.weights.set('b', 30);
  assert.deepEqual(await counts(split.infer, 12), { a: 9, b: 3 }, 'the new ratio holds from the next pick');
  assert.equal(split.status().targets.find((t) => t.name === 'b')!.rolledBack, undefined);
});

test('the split sets ctx.target before the stage below runs; the context has none before it', async () => {
  const split = routed([fakeTarget('a', 1)]);
  const seen: Array<string | undefined> = [];
  const infer = split.split.stage(async (_r, ctx) => { seen.push(ctx.target); return { predictions: [] }; });
  const ctx = context();
  assert.equal(ctx.target, undefined);
  await infer(req, ctx);
  assert.deepEqual(seen, ['a']);
  assert.equal(ctx.target, 'a');
});

test('x-infergate-target picks an allowed target directly, even one with weight 0', async () => {
  const split = routed([fakeTarget('main', 100), fakeTarget('canary', 0)], splitConfig({ allowOverride: ['canary'] }));
  const got = await counts(split.infer, 5, () => ({ 'x-infergate-target': 'canary' }));
  assert.deepEqual(got, { canary: 5 });
  assert.deepEqual(await counts(split.infer, 5, () => ({ 'x-infergate-target': ['canary', 'main'] })), { canary: 5 });
  assert.deepEqual(await counts(split.infer, 5, () => ({ 'x-infergate-target': '' })), { main: 5 });
});

test('x-infergate-target for a name not allowed is 400 bad_request naming the allowed names', async () => {
  const main = fakeTarget('main', 100);
  const split = routed([main, fakeTarget('canary', 0)], splitConfig({ allowOverride: ['canary'] }));
  for (const asked of ['main', 'other-backend', 'CANARY', '../canary']) {
    await assert.rejects(split.infer(req, context({ 'x-infergate-target': asked })), (e: GatewayError) =>
      e.code === 'bad_request' && e.status === 400 && e.message.includes('allowed: canary') && e.message.includes(JSON.stringify(asked)));
  }
  assert.equal(main.calls, 0);
  const closed = routed([main]);
  await assert.rejects(closed.infer(req, context({ 'x-infergate-target': 'main' })), (e: GatewayError) =>
    e.code === 'bad_request' && /does not allow choosing a target/.test(e.message));
});

test('allowOverride naming no target of the model is never a way out (the config schema refuses it)', async () => {
  const split = routed([fakeTarget('a', 1)], splitConfig({ allowOverride: ['elsewhere', 'a'] }));
  await assert.rejects(split.infer(req, context({ 'x-infergate-target': 'elsewhere' })), (e: GatewayError) =>
    e.code === 'bad_request' && e.message.endsWith('allowed: a'));
});

test('a long override value is cut in the error message', async () => {
  const split = routed([fakeTarget('a', 1)], splitConfig({ allowOverride: ['a'] }));
  await assert.rejects(split.infer(req, context({ 'x-infergate-target': 'x'.repeat(5000) })), (e: GatewayError) =>
    e.code === 'bad_request' && e.message.length < 300);
});

test('a named version goes to the target pinning it, whatever the weights', async () => {
  const v1 = fakeTarget('v1', 99, { version: '1' });
  const v2 = fakeTarget('v2', 1, { version: '2' });
  const split = routed([v1, v2]);
  for (let i = 0; i < 10; i++) {
    const ctx = versioned('2');
    await split.infer(req, ctx);
    assert.equal(ctx.target, 'v2');
    assert.deepEqual(targetOf(ctx), { name: 'v2' }, 'a pinned version takes the target\'s own path');
  }
  assert.deepEqual([v1.calls, v2.calls], [0, 10]);
});

test('a version no target pins goes to a target open to any version; ctx.target names it <target>@any', async () => {
  const pinned = fakeTarget('pinned', 100, { version: '1' });
  const open = openTarget('open', 1);
  const split = routed([pinned, open]);
  const ctx = versioned('7');
  assert.deepEqual(await split.infer(req, ctx), { predictions: ['open'] });
  assert.equal(ctx.target, 'open@any');
  assert.deepEqual(targetOf(ctx), { name: 'open', version: '7' });
  assert.deepEqual(open.versions, ['7']);
  assert.equal(pinned.calls, 0);
});

test('an unpinned version skips an open target that is unavailable when another open one is up', async () => {
  const [x, y] = [openTarget('x', 1), openTarget('y', 1)];
  const split = routed([x, y]);
  x.up = false;
  for (let i = 0; i < 4; i++) {
    const ctx = versioned('3');
    await split.infer(req, ctx);
    assert.equal(ctx.target, 'y@any');
  }
});

test('a version that no target pins, with no target open to any version, is 404 model_not_found', async () => {
  const a = fakeTarget('a', 1, { version: '1' });
  const b = fakeTarget('b', 1);
  const split = routed([a, b]);
  await assert.rejects(split.infer(req, versioned('9')), (e: GatewayError) =>
    e.code === 'model_not_found' && e.status === 404 && e.message.includes('"9"'));
  assert.equal(a.calls + b.calls, 0);
});

test('precedence: a named version over the override header, the override over the sticky key, the sticky key over weights', async () => {
  const main = fakeTarget('main', 100, { version: '1' });
  const canary = fakeTarget('canary', 1);
  const split = routed([main, canary], splitConfig({ allowOverride: ['canary'], sticky: { header: 'x-user-id' } }));
  const pick = async (ctx: CallContext): Promise<string> => { await split.infer(req, ctx); return ctx.target!; };
  assert.equal(await pick(versioned('1', { [overrideHeader]: 'canary' })), 'main');
  // Find a user the sticky key keeps on main, then override it.
  let user = 0;
  while (await pick(context({ 'x-user-id': `u${user}` })) !== 'main') assert.ok(++user < 10_000);
  assert.equal(await pick(context({ 'x-user-id': `u${user}`, [overrideHeader]: 'canary' })), 'canary');
  // A sticky user whose key lands on the light canary stays there, whatever the 100:1 weights say.
  let light = 0;
  while (await pick(context({ 'x-user-id': `k${light}` })) !== 'canary') assert.ok(++light < 10_000, 'some key lands on the canary');
  for (let i = 0; i < 5; i++) assert.equal(await pick(context({ 'x-user-id': `k${light}` })), 'canary');
});
