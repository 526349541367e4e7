// deadline.test.ts — the `deadline` stage: it makes each call's deadline (the model's timeoutMs,
// or less when the client asks with x-request-timeout-ms), gives the stages below a signal that
// aborts at it, answers at it whatever the call below does, and leaves nothing behind; plus the
// helpers the stages below use (remainingMs, settleBy, sleepWithin).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GatewayError } from '../../src/errors.ts';
import { deadline, remainingMs, settleBy, sleepWithin, timeoutHeader } from '../../src/guard/deadline.ts';
import type { CallContext, Infer } from '../../src/types.ts';
import { modelContext, okResponse, testContext } from './context.ts';

const req = { instances: [[1]] };

/** stage builds the deadline stage for timeoutMs over next. */
function stage(timeoutMs: number, next: Infer): Infer {
  return deadline.create({ timeoutMs }).stage(next);
}

/** seen runs one call and gives the context the stage below saw, with the time span the call was made in. */
async function seen(timeoutMs: number, headers: Record<string, string> = {}): Promise<{ below: CallContext; client: AbortSignal; before: number; after: number }> {
  let below: CallContext | undefined;
  const { ctx } = modelContext(headers);
  const client = ctx.signal;
  const before = performance.now();
  await stage(timeoutMs, async (_r, c) => { below = { ...c }; return okResponse; })(req, ctx);
  return { below: below!, client, before, after: performance.now() };
}

test('passes the answer through when there is time', async () => {
  assert.deepEqual(await stage(1_000, async () => okResponse)(req, modelContext().ctx), okResponse);
});

test('the budget is the model\'s timeoutMs: the stages below get ctx.deadline and a signal of their own', async () => {
  const { below, client, before, after } = await seen(30_000);
  assert.ok(below.deadline >= before + 30_000 && below.deadline <= after + 30_000, `deadline ${below.deadline - before} ms away`);
  assert.notEqual(below.signal, client);
  assert.equal(below.signal.aborted, false);
});

test('a shorter x-request-timeout-ms wins; a longer one does not extend the model\'s timeout', async () => {
  const shorter = await seen(30_000, { [timeoutHeader]: '50' });
  assert.ok(shorter.below.deadline >= shorter.before + 50 && shorter.below.deadline <= shorter.after + 50);
  const longer = await seen(1_000, { [timeoutHeader]: '60000' });
  assert.ok(longer.below.deadline >= longer.before + 1_000 && longer.below.deadline <= longer.after + 1_000);
});

test('a nested call (a graph\'s step) keeps the deadline it came with when that is sooner', async () => {
  const { ctx } = modelContext();
  const outer = performance.now() + 200;
  ctx.deadline = outer;
  let below: CallContext | undefined;
  await stage(30_000, async (_r, c) => { below = { ...c }; return okResponse; })(req, ctx);
  assert.equal(below!.deadline <= outer, true, `deadline ${below!.deadline - outer} ms after the outer one`);
  // A later outer deadline does not extend the model's own timeout.
  const { ctx: late } = modelContext();
  late.deadline = performance.now() + 60_000;
  const before = performance.now();
  await stage(1_000, async (_r, c) => { below = { ...c }; return okResponse; })(req, late);
  assert.ok(below!.deadline <= performance.now() + 1_000 && below!.deadline >= before + 1_000);
});

test('a nested call whose outer deadline has passed answers 504 at once', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const { ctx } = modelContext();
  ctx.deadline = performance.now() - 5;
  const p = stage(30_000, () => new Promise(() => {}))(req, ctx);
  t.mock.timers.tick(1);
  return assert.rejects(p, (e: GatewayError) => e.code === 'deadline_exceeded' && /within 0 ms/.test(e.message));
});

test('an invalid x-request-timeout-ms is ignored: the model\'s timeout holds', async () => {
  for (const value of ['abc', '-5', '0', '', 'Infinity', '10ms']) {
    const { below, before, after } = await seen(2_000, { [timeoutHeader]: value });
    assert.ok(below.deadline >= before + 2_000 && below.deadline <= after + 2_000, `header ${JSON.stringify(value)}`);
  }
});

test('a client that has already gone gets client_closed, and next is not called', async () => {
  const { ctx, disconnect } = modelContext();
  disconnect();
  let called = 0;
  await assert.rejects(stage(1_000, async () => { called++; return okResponse; })(req, ctx), (e: GatewayError) =>
    e.code === 'client_closed' && e.status === 499);
  assert.equal(called, 0);
});

test('a client leaving mid-call: client_closed at once, and the signal below aborts with it', async () => {
  const { ctx, disconnect } = modelContext();
  let below: AbortSignal | undefined;
  const p = stage(30_000, (_r, c) => { below = c.signal; return new Promise(() => {}); })(req, ctx);
  disconnect();
  await assert.rejects(p, { code: 'client_closed' });
  assert.equal(below?.aborted, true);
  assert.equal((below?.reason as GatewayError).code, 'client_closed');
});

test('answers 504 deadline_exceeded at the deadline when next ignores the signal; the signal below aborts with it', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  let below: AbortSignal | undefined;
  const p = stage(50, (_r, c) => { below = c.signal; return new Promise(() => {}); })(req, modelContext().ctx);
  t.mock.timers.tick(51);
  return assert.rejects(p, (e: GatewayError) => e.code === 'deadline_exceeded' && e.status === 504).then(() => {
    assert.equal(below?.aborted, true);
    assert.equal((below?.reason as GatewayError).code, 'deadline_exceeded');
  });
});

test('the timer is cleared once the call is answered: the signal below never aborts afterwards', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  let below: AbortSignal | undefined;
  await stage(50, async (_r, c) => { below = c.signal; return okResponse; })(req, modelContext().ctx);
  t.mock.timers.tick(10_000);
  assert.equal(below?.aborted, false);
});

test('a timeout beyond Node\'s timer range does not fire at once', async () => {
  let below: AbortSignal | undefined;
  const { ctx } = modelContext();
  const p = stage(30 * 24 * 3_600_000, (_r, c) => { below = c.signal; return new Promise((r) => setImmediate(() => r(okResponse))); })(req, ctx);
  assert.deepEqual(await p, okResponse);
  assert.equal(below?.aborted, false);
});

test('a synchronous throw in next becomes a rejection', async () => {
  const throwing: Infer = () => { throw new GatewayError('bad_request', 'no'); };
  await assert.rejects(stage(1_000, throwing)(req, modelContext().ctx), { code: 'bad_request' });
});

test('remainingMs counts down to the deadline', () => {
  const { ctx } = testContext(1000);
  const left = remainingMs(ctx);
  assert.ok(left > 0 && left <= 1000);
  assert.ok(remainingMs({ deadline: performance.now() - 5 }) < 0);
});

test('settleBy refuses with 504 deadline_exceeded when no time is left, and with the abort reason when the client has gone', async () => {
  await assert.rejects(settleBy(Promise.resolve(okResponse), testContext(-1).ctx), (e: GatewayError) =>
    e.code === 'deadline_exceeded' && e.status === 504);
  const { ctx, disconnect } = testContext();
  disconnect();
  await assert.rejects(settleBy(Promise.resolve(okResponse), ctx), { code: 'client_closed' });
});

test('settleBy rejects at the deadline even when the work never settles', async () => {
  await assert.rejects(settleBy(new Promise(() => {}), testContext(30).ctx), { code: 'deadline_exceeded' });
});

test('a late rejection after the deadline is not left unhandled', async () => {
  const { ctx } = testContext(10);
  let rejectLate!: (e: Error) => void;
  const late = new Promise<never>((_, reject) => { rejectLate = reject; });
  await assert.rejects(settleBy(late, ctx), { code: 'deadline_exceeded' });
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown): void => { unhandled.push(e); };
  process.on('unhandledRejection', onUnhandled);
  rejectLate(new Error('too late'));
  await new Promise((r) => setTimeout(r, 20));
  process.off('unhandledRejection', onUnhandled);
  assert.deepEqual(unhandled, []);
});

test('sleepWithin waits, and stops early with the abort reason when the client leaves', async () => {
  await sleepWithin(1, testContext().ctx);
  const { ctx, disconnect } = testContext();
  const p = sleepWithin(60_000, ctx);
  disconnect();
  await assert.rejects(p, { code: 'client_closed' });
});
