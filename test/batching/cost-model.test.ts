import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ArrivalRate, CostModel, adaptiveWait } from '../../src/batching/cost-model.ts';

const near = (got: number | undefined, want: number, tol: number): void => {
  assert.ok(got !== undefined && Math.abs(got - want) <= tol, `expected ${want} ± ${tol}, got ${got}`);
};

describe('CostModel', () => {
  it('is unknown until warmed up, then recovers a and b from varied batch sizes', () => {
    const m = new CostModel();
    m.observe(1, 10.1);
    assert.equal(m.a, undefined);
    for (const n of [1, 4, 8, 16, 32, 2, 12, 24, 32, 5]) m.observe(n, 10 + 0.1 * n);
    near(m.a, 10, 0.05);
    near(m.b, 0.1, 0.005);
    near(m.predict(32), 13.2, 0.1);
  });

  it('follows a backend that becomes slower, and ignores nonsense samples', () => {
    const m = new CostModel();
    for (let i = 0; i < 40; i++) m.observe(1 + (i % 8), 10 + 0.1 * (1 + (i % 8)));
    for (let i = 0; i < 80; i++) m.observe(1 + (i % 8), 20 + 0.5 * (1 + (i % 8)));
    m.observe(4, Number.NaN);
    m.observe(0, 5);
    m.observe(4, -1);
    near(m.a, 20, 0.5);
    near(m.b, 0.5, 0.05);
  });

  it('puts the cost into a when every batch has the same size', () => {
    const m = new CostModel();
    for (let i = 0; i < 20; i++) m.observe(1, 10.1);
    near(m.a, 10.1, 1e-9);
    assert.equal(m.b, 0);
  });
});

describe('ArrivalRate', () => {
  it('estimates a steady rate and decays when arrivals stop', () => {
    const r = new ArrivalRate(100);
    for (let t = 0; t <= 2000; t += 2) r.record(1, t); // 0.5 rows/ms
    near(r.perMs(2000), 0.5, 0.02);
    assert.ok(r.perMs(2500) < 0.01);
  });
});

describe('adaptiveWait', () => {
  const base = { queued: 1, maxBatchSize: 32, rate: 0.5, a: 10, b: 0.1, slackMs: 1000, capMs: 0 };

  it('never waits before the cost is known, or when few rows arrive per fixed cost', () => {
    assert.equal(adaptiveWait({ ...base, a: undefined, b: undefined }), 0);
    assert.equal(adaptiveWait({ ...base, rate: 0.02 }), 0); // λ·a = 0.2 < 1 queued row
    assert.equal(adaptiveWait({ ...base, queued: 5 }), 0); // λ·a = 5 rows already queued
    assert.equal(adaptiveWait({ ...base, rate: 0 }), 0);
  });

  it('waits for the expected arrivals, capped by a, the config and the deadline', () => {
    assert.equal(adaptiveWait(base), 8); // (5 - 1) / 0.5
    assert.equal(adaptiveWait({ ...base, rate: 10 }), 3.1); // (32 - 1) / 10
    assert.equal(adaptiveWait({ ...base, queued: 1, rate: 0.2, a: 20 }), 15); // (4 - 1) / 0.2
    assert.equal(adaptiveWait({ ...base, rate: 0.08, a: 100 }), 87.5); // (8 - 1) / 0.08, below a
    assert.equal(adaptiveWait({ ...base, capMs: 2 }), 2);
    assert.equal(adaptiveWait({ ...base, slackMs: 12 }), 1.5); // the deadline leaves 12 - t(5) = 1.5
    assert.equal(adaptiveWait({ ...base, slackMs: 10 }), 0); // not even the call itself fits: go now
  });
});
