// budget.test.ts — the process budget for backend answer bytes: takes what fits, lets a waiting
// take in when bytes come back, refuses with 503 buffers_full past its wait, and shows the bytes
// held in its gauge.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ByteBudget } from '../../../src/backends/shared/budget.ts';
import { GatewayError } from '../../../src/errors.ts';

async function refused(p: Promise<unknown>, message: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => err instanceof GatewayError && err.code === 'buffers_full' && err.status === 503 && err.retryAfter === 1 && message.test(err.message));
}

describe('ByteBudget', () => {
  it('lets a waiting take in when bytes are given back, and refuses past its wait', async () => {
    const budget = new ByteBudget(10, 1000);
    assert.ok(budget.tryTake(8));
    const waiting = budget.take(5);
    budget.give(8);
    await waiting;
    assert.equal(budget.used, 5);
    const quick = new ByteBudget(4, 10);
    await refused(quick.take(5), /needs 5 more/);
  });
});


describe('ByteBudget limits', () => {
  it('never fits an answer larger than the whole budget, and a new limit applies at once', async () => {
    const budget = new ByteBudget(4, 1000);
    await refused(budget.take(5), /limit/);
    budget.setLimit(8);
    assert.ok(budget.tryTake(5));
    assert.equal(budget.used, 5);
    budget.give(5);
    assert.equal(budget.used, 0);
  });
});
