import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CostModel } from '../../src/batching/cost-model.ts';
import { FlushPolicy } from '../../src/batching/flush-policy.ts';
import type { KeyQueue, Member } from '../../src/batching/queue.ts';
import type { BatchingConfig } from '../../src/batching/schema.ts';

const defaults: BatchingConfig = { maxBatchSize: 8, maxQueueDelayMs: 0, maxConcurrentBatches: 1, maxQueueRows: 64, adaptive: false };

/** queue fakes a key's queue: `rows` waiting, the head enqueued at `at` with a deadline. */
function queue(key: string, rows: number, at: number, deadline = Infinity): KeyQueue {
  const head = { enqueuedAt: at, ctx: { deadline } } as unknown as Member;
  return { key, rows, members: [head] };
}

function policy(config: Partial<BatchingConfig> = {}, cost = new CostModel()): { p: FlushPolicy; wakes: () => number } {
  let wakes = 0;
  const p = new FlushPolicy({ ...defaults, ...config }, cost, () => { wakes++; });
  return { p, wakes: () => wakes };
}

describe('FlushPolicy', () => {
  it('work-conserving: a partial batch goes at once', () => {
    const { p } = policy();
    const q = queue('k', 1, 0);
    assert.equal(p.pick([q], 0, 8), q);
  });

  it('fixed delay: holds until the oldest has waited maxQueueDelayMs, never past its deadline', () => {
    const { p } = policy({ maxQueueDelayMs: 50 });
    assert.equal(p.wait(queue('k', 1, 0), 30, 8), 20);
    assert.ok(p.wait(queue('k', 1, 0), 50, 8) <= 0);
    assert.equal(p.wait(queue('k', 1, 0, 40), 30, 8), 10, 'the deadline leaves 10 ms');
    assert.equal(p.wait(queue('k', 8, 0), 0, 8), 0, 'a full batch never waits');
    assert.equal(p.wait(queue('k', 3, 0), 0, 3), 0, 'full at the backend\'s smaller limit');
  });

  it('picks a ready key behind one that waits, or else gives the soonest wait', () => {
    const { p } = policy({ maxBatchSize: 2, maxQueueDelayMs: 50 });
    const waiting = queue('a', 1, 0);
    const full = queue('b', 2, 10);
    assert.equal(p.pick([waiting, full], 20, 2), full);
    assert.equal(p.pick([waiting, queue('c', 1, 15)], 20, 2), 30);
  });

  it('adaptive: no wait before the cost model is warm, a bounded one once it is', () => {
    const cost = new CostModel();
    const { p } = policy({ adaptive: true, maxBatchSize: 32, maxQueueDelayMs: 3 }, cost);
    for (let t = 0; t < 100; t++) p.arrived(1, t * 0.2);
    assert.equal(p.wait(queue('k', 1, 20), 20, 32), 0, 'the cost of a call is not known yet');
    for (const n of [1, 8, 16, 32, 4]) cost.observe(n, 10 + 0.1 * n);
    const wait = p.wait(queue('k', 1, 20), 20, 32);
    assert.ok(wait > 0 && wait <= 3, `wait ${wait} within the 3 ms cap`);
  });

  it('close: every queue goes at once', () => {
    const { p } = policy({ maxQueueDelayMs: 1000 });
    p.close();
    assert.equal(p.wait(queue('k', 1, 0), 0, 8), 0);
  });

  it('rest sets the timer for the soonest wait; when it fires the oldest queue goes', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const { p, wakes } = policy({ maxQueueDelayMs: 50 });
    p.rest(20, 0);
    p.rest(30, 0);
    t.mock.timers.tick(20);
    assert.equal(wakes(), 1, 'the sooner timer stays');
    const q = queue('k', 1, 0);
    assert.equal(p.pick([q], 0, 8), q, 'after the timer, the oldest goes whatever the clock says');
    assert.equal(p.pick([q], 0, 8), 50, 'once only');
    t.mock.timers.tick(100);
    assert.equal(wakes(), 1);
  });

  it('rest without a wait drops the timer', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const { p, wakes } = policy();
    p.rest(10, 0);
    p.rest(undefined, 0);
    t.mock.timers.tick(100);
    assert.equal(wakes(), 0);
  });
});
