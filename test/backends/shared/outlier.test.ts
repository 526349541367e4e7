import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EndpointPicker } from '../../../src/backends/shared/endpoints.ts';
import { createOutlierDetector, outlierDetectionSchema, type OutlierDetector } from '../../../src/backends/shared/outlier.ts';
import { silentLogger } from '../../../src/observe/log.ts';

const urls = ['http://a', 'http://b', 'http://c', 'http://d'];
// The endpoints not ejected, in order.
const up = (d: OutlierDetector): string[] => urls.filter((u) => !d.isEjected(u));

function detector(config = {}): { d: ReturnType<typeof createOutlierDetector>; clock: { t: number } } {
  const clock = { t: 0 };
  const d = createOutlierDetector({ consecutive5xx: 3, baseEjectionTimeMs: 1000, maxEjectionTimeMs: 2500, maxEjectionPercent: 50, ...config },
    { backend: 'b', log: silentLogger, endpoints: urls, now: () => clock.t });
  return { d, clock };
}

test('ejects after consecutive failures; a success in between resets the count', () => {
  const { d } = detector();
  d.record('http://a', false);
  d.record('http://a', false);
  d.record('http://a', true);
  d.record('http://a', false);
  d.record('http://a', false);
  assert.deepEqual(up(d), urls);
  d.record('http://a', false);
  assert.deepEqual(up(d), ['http://b', 'http://c', 'http://d']);
  assert.deepEqual(d.ejected(), ['http://a']);
});

test('returns after the ejection time, which grows with repeated ejections up to the cap', () => {
  const { d, clock } = detector();
  const fail = (n: number): void => { for (let i = 0; i < n; i++) d.record('http://a', false); };
  fail(3);
  clock.t = 999;
  assert.equal(!d.isEjected('http://a'), false);
  clock.t = 1000;
  assert.equal(!d.isEjected('http://a'), true, 'back after base time');
  fail(3);
  clock.t = 2999;
  assert.equal(!d.isEjected('http://a'), false, 'second ejection lasts 2 × base');
  clock.t = 3000;
  assert.equal(!d.isEjected('http://a'), true);
  fail(3);
  clock.t = 3000 + 2499;
  assert.equal(!d.isEjected('http://a'), false);
  clock.t = 3000 + 2500;
  assert.equal(!d.isEjected('http://a'), true, 'capped at maxEjectionTimeMs');
});

test('the multiplier decays while the endpoint stays healthy', () => {
  const { d, clock } = detector();
  for (let i = 0; i < 3; i++) d.record('http://a', false);
  clock.t = 1000;
  d.record('http://a', true);
  clock.t = 2000;
  d.record('http://a', true);
  for (let i = 0; i < 3; i++) d.record('http://a', false);
  clock.t = 3000;
  assert.equal(!d.isEjected('http://a'), true, 'ejected for 1 × base again');
});

test('never ejects more than maxEjectionPercent, but one always can be', () => {
  const { d } = detector({ maxEjectionPercent: 10 });
  for (const u of urls) for (let i = 0; i < 3; i++) d.record(u, false);
  assert.equal(d.ejected().length, 1);
  const half = detector({ maxEjectionPercent: 50 }).d;
  for (const u of urls) for (let i = 0; i < 3; i++) half.record(u, false);
  assert.equal(half.ejected().length, 2);
});

test('health checks: eject takes an endpoint out now, restore brings it back', () => {
  const { d } = detector();
  d.eject('http://b');
  assert.deepEqual(up(d), ['http://a', 'http://c', 'http://d']);
  d.restore('http://b');
  assert.deepEqual(up(d), urls);
});

test('with every endpoint ejected the picker still uses them all (panic mode), never failing every call', () => {
  const clock = { t: 0 };
  const d = createOutlierDetector({ consecutive5xx: 1, maxEjectionPercent: 100 }, { backend: 'b', log: silentLogger, now: () => clock.t });
  d.record('http://x', false);
  d.record('http://y', false);
  assert.deepEqual(d.ejected().sort(), ['http://x', 'http://y']);
  const picker = new EndpointPicker(['http://x', 'http://y'], { outlier: d });
  const picked = new Set<string>();
  for (let i = 0; i < 4; i++) { const lease = picker.acquire(); picked.add(lease.url); lease.release(); }
  assert.deepEqual([...picked].sort(), ['http://x', 'http://y']);
});

test('schema defaults and bad values', () => {
  assert.deepEqual(outlierDetectionSchema.parse({}), { consecutive5xx: 5, baseEjectionTimeMs: 30_000, maxEjectionTimeMs: 300_000, maxEjectionPercent: 50 });
  assert.equal(outlierDetectionSchema.safeParse({ consecutive5xx: 0 }).success, false);
  assert.equal(outlierDetectionSchema.safeParse({ maxEjectionPercent: 101 }).success, false);
  assert.equal(outlierDetectionSchema.safeParse({ other: 1 }).success, false);
});
