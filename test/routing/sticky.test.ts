import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rendezvousPick, stickyKey, stickySchema, type StickyCandidate } from '../../src/routing/sticky.ts';
import { context, counts, fakeTarget, routed, splitConfig } from './fakes.ts';

const keys = Array.from({ length: 10_000 }, (_, i) => `user-${i}`);

function assign(candidates: StickyCandidate[]): string[] {
  return keys.map((k) => candidates[rendezvousPick(k, candidates)]!.name);
}

function shares(names: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const n of names) out[n] = (out[n] ?? 0) + 100 / names.length;
  return out;
}

test('each target gets its weight\'s share of keys, within ±1.5 points', () => {
  for (const weights of [[90, 10], [50, 30, 20], [1, 1, 1, 1]]) {
    const got = shares(assign(weights.map((w, i) => ({ name: `t${i}`, weight: w }))));
    const total = weights.reduce((s, w) => s + w, 0);
    weights.forEach((w, i) => assert.ok(Math.abs(got[`t${i}`]! - (100 * w) / total) <= 1.5, `${weights}: t${i} ${got[`t${i}`]}%`));
  }
});

test('the same key always reaches the same target, whatever the candidates\' order', () => {
  const c = [{ name: 'a', weight: 2 }, { name: 'b', weight: 1 }, { name: 'c', weight: 1 }];
  const first = assign(c);
  assert.deepEqual(assign(c), first);
  assert.deepEqual(assign([c[2]!, c[0]!, c[1]!]), first);
});

test('raising one weight moves only the keys that must move, all of them to that target', () => {
  const before = assign([{ name: 'a', weight: 50 }, { name: 'b', weight: 50 }]);
  const after = assign([{ name: 'a', weight: 150 }, { name: 'b', weight: 50 }]); // 75 : 25
  let moved = 0;
  for (let i = 0; i < keys.length; i++) {
    if (before[i] === after[i]) continue;
    moved++;
    assert.equal(after[i], 'a', 'a key moved away from the target whose weight went up');
  }
  // From 50/50 to 75/25, exactly a quarter of the keys must move.
  assert.ok(Math.abs((100 * moved) / keys.length - 25) <= 1.5, `moved ${(100 * moved) / keys.length}%`);
});

test('lowering one weight among three moves keys only away from it, in proportion to the others', () => {
  const w = (c: number): StickyCandidate[] => [{ name: 'a', weight: 40 }, { name: 'b', weight: 40 }, { name: 'c', weight: c }];
  const before = assign(w(20));
  const after = assign(w(0));
  let moved = 0;
  const to: Record<string, number> = {};
  for (let i = 0; i < keys.length; i++) {
    if (before[i] === after[i]) continue;
    moved++;
    assert.equal(before[i], 'c');
    to[after[i]!] = (to[after[i]!] ?? 0) + 1;
  }
  assert.equal(moved, before.filter((n) => n === 'c').length, 'every key of c moves, and nothing else');
  assert.ok(Math.abs(to.a! - to.b!) / moved < 0.1, `c's keys spread over a and b: ${JSON.stringify(to)}`);
});

test('adding a target takes only its share of keys, from everyone', () => {
  const before = assign([{ name: 'a', weight: 1 }, { name: 'b', weight: 1 }]);
  const after = assign([{ name: 'a', weight: 1 }, { name: 'b', weight: 1 }, { name: 'c', weight: 1 }]);
  const moved = before.filter((n, i) => n !== after[i]);
  assert.ok(after.every((n, i) => n === before[i] || n === 'c'));
  assert.ok(Math.abs((100 * moved.length) / keys.length - 100 / 3) <= 1.5);
});

test('no candidate with a positive weight gives -1', () => {
  assert.equal(rendezvousPick('k', []), -1);
  assert.equal(rendezvousPick('k', [{ name: 'a', weight: 0 }, { name: 'b', weight: Number.NaN }]), -1);
});

test('stickyKey reads a header (case-insensitively, first of several) or a dotted field', () => {
  assert.equal(stickyKey({ header: 'X-User-Id' }, { 'x-user-id': 'u1' }, {}), 'u1');
  assert.equal(stickyKey({ header: 'x-user-id' }, { 'x-user-id': ['u1', 'u2'] as unknown as string }, {}), 'u1');
  assert.equal(stickyKey({ header: 'x-user-id' }, { 'x-user-id': '' }, {}), undefined);
  assert.equal(stickyKey({ header: 'x-user-id' }, {}, {}), undefined);
  const req = { instances: [{ user: 'v' }], parameters: { user_id: 42, name: 'n', nested: { id: 'deep' }, flag: true, empty: '', obj: {} } };
  assert.equal(stickyKey({ field: 'parameters.user_id' }, {}, req), '42');
  assert.equal(stickyKey({ field: 'parameters.name' }, {}, req), 'n');
  assert.equal(stickyKey({ field: 'parameters.nested.id' }, {}, req), 'deep');
  assert.equal(stickyKey({ field: 'parameters.flag' }, {}, req), 'true');
  assert.equal(stickyKey({ field: 'instances.0.user' }, {}, req), 'v');
  for (const missing of ['parameters.empty', 'parameters.obj', 'parameters.nope', 'parameters.user_id.x', 'parameters.__proto__', 'parameters.constructor', 'nope.x']) {
    assert.equal(stickyKey({ field: missing }, {}, req), undefined, missing);
  }
});

test('a sticky split keeps each key on one target; requests without a key are split by weight', async () => {
  const split = routed([fakeTarget('a', 50), fakeTarget('b', 50)], splitConfig({ sticky: { header: 'x-user-id' } }));
  const first = new Map<string, string>();
  for (let round = 0; round < 3; round++) {
    for (let u = 0; u < 200; u++) {
      const ctx = context({ 'x-user-id': `u${u}` });
      await split.infer({ instances: [[1]] }, ctx);
      if (round === 0) first.set(`u${u}`, ctx.target!);
      else assert.equal(ctx.target, first.get(`u${u}`));
    }
  }
  const spread = [...first.values()].filter((t) => t === 'a').length;
  assert.ok(spread > 60 && spread < 140, `keys spread over both targets: ${spread} of 200 on a`);
  assert.deepEqual(await counts(split.infer, 10), { a: 5, b: 5 });
});

test('a sticky split moves the keys of an unavailable target and brings them back', async () => {
  const a = fakeTarget('a', 1);
  const b = fakeTarget('b', 1);
  const split = routed([a, b], splitConfig({ sticky: { field: 'parameters.user' } }));
  const pick = async (u: number): Promise<string> => {
    const ctx = context();
    await split.infer({ instances: [[1]], parameters: { user: u } }, ctx);
    return ctx.target!;
  };
  const before = await Promise.all(Array.from({ length: 100 }, (_, u) => pick(u)));
  b.up = false;
  const during = await Promise.all(Array.from({ length: 100 }, (_, u) => pick(u)));
  assert.ok(during.every((t) => t === 'a'));
  b.up = true;
  assert.deepEqual(await Promise.all(Array.from({ length: 100 }, (_, u) => pick(u))), before);
});

test('a weight change on a sticky split moves only the keys that must move', async () => {
  const split = routed([fakeTarget('stable', 90), fakeTarget('canary', 10)], splitConfig({ sticky: { header: 'x-user-id' } }));
  const pick = async (u: number): Promise<string> => {
    const ctx = context({ 'x-user-id': `user-${u}` });
    await split.infer({ instances: [[1]] }, ctx);
    return ctx.target!;
  };
  const before = await Promise.all(Array.from({ length: 2000 }, (_, u) => pick(u)));
  split.weights.set('canary', 0, 'rolled back');
  const after = await Promise.all(Array.from({ length: 2000 }, (_, u) => pick(u)));
  before.forEach((t, i) => assert.equal(after[i], 'stable', `${t} → ${after[i]}`));
  assert.equal(after.filter((t, i) => t !== before[i]).length, before.filter((t) => t === 'canary').length);
});

test('stickySchema takes exactly one of header and field', () => {
  assert.equal(stickySchema.safeParse({ header: 'x-user-id' }).success, true);
  assert.equal(stickySchema.safeParse({ field: 'parameters.user' }).success, true);
  assert.equal(stickySchema.safeParse({}).success, false);
  assert.equal(stickySchema.safeParse({ header: 'x', field: 'y' }).success, false);
  assert.equal(stickySchema.safeParse({ cookie: 'x' }).success, false);
});
