// version-paths.test.ts — the per-version paths of a target open to any version: made on first
// use, kept for the `max` most recently used versions (the least recently used is closed when a
// new one needs room), whatever versions clients send.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createVersionPaths } from '../../src/routing/version-paths.ts';

interface FakePath { version: string; closed: boolean }

function paths(max: number) {
  const made: string[] = [];
  const evicted: string[] = [];
  const vp = createVersionPaths<FakePath>({
    target: 'open', max,
    make: (version) => { made.push(version); return { version, closed: false }; },
    evict: (version, p) => { assert.equal(p.version, version); p.closed = true; evicted.push(version); },
  });
  return { vp, made, evicted };
}

test('a version\'s path is made once and reused', () => {
  const { vp, made } = paths(4);
  const first = vp.path('1');
  assert.equal(vp.path('1'), first);
  assert.equal(vp.path('1'), first);
  assert.deepEqual(made, ['1']);
  assert.deepEqual(vp.status(), { live: ['1'], max: 4 });
});

test('when full, the least recently used version is closed to make room; use counts as recent', () => {
  const { vp, evicted } = paths(2);
  const one = vp.path('1');
  const two = vp.path('2');
  vp.path('1'); // 1 is now more recent than 2
  vp.path('3');
  assert.deepEqual(evicted, ['2']);
  assert.equal(two.closed, true);
  assert.equal(one.closed, false);
  assert.deepEqual(vp.status().live.sort(), ['1', '3']);
});

test('at most max paths live, however many versions clients name; an evicted version is made afresh', () => {
  const { vp, made, evicted } = paths(3);
  for (let v = 0; v < 100; v++) {
    vp.path(String(v));
    assert.ok(vp.status().live.length <= 3);
  }
  assert.equal(evicted.length, 97);
  const again = vp.path('0');
  assert.equal(again.closed, false);
  assert.equal(made.filter((v) => v === '0').length, 2);
});

test('close closes every live path and leaves none', async () => {
  const { vp, evicted } = paths(4);
  const all = ['a', 'b', 'c'].map((v) => vp.path(v));
  await vp.close();
  assert.ok(all.every((p) => p.closed));
  assert.deepEqual(evicted.sort(), ['a', 'b', 'c']);
  assert.deepEqual(vp.status().live, []);
});
