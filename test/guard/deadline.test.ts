import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GatewayError } from '../../src/errors.ts';
import { deadlineStage, remainingMs, settleBy } from '../../src/guard/deadline.ts';
import type { Infer } from '../../src/types.ts';
import { okResponse, testContext } from './context.ts';

const req = { instances: [[1]] };

test('remainingMs counts down to the deadline', () => {
  const { ctx } = testContext(1000);
  const left = remainingMs(ctx);
  assert.ok(left > 0 && left <= 1000);
  assert.ok(remainingMs({ deadline: performance.now() - 5 }) < 0);
});

test('passes the answer through when there is time', async () => {
  const { ctx } = testContext();
  const answer = await deadlineStage()(async () => okResponse)(req, ctx);
  assert.deepEqual(answer, okResponse);
});

test('refuses with 504 deadline_exceeded without calling next when no time is left', async () => {
  const { ctx } = testContext(-1);
  let called = 0;
  const next: Infer = async () => { called++; return okResponse; };
  await assert.rejects(deadlineStage()(next)(req, ctx), (e: GatewayError) => e.code === 'deadline_exceeded' && e.status === 504);
  assert.equal(called, 0);
});

test('refuses with the abort reason when the client has already gone', async () => {
  const { ctx, disconnect } = testContext();
  disconnect();
  let called = 0;
  await assert.rejects(deadlineStage()(async () => { called++; return okResponse; })(req, ctx), { code: 'client_closed' });
  assert.equal(called, 0);
});

test('rejects at the deadline even when next ignores the signal and never settles', async () => {
  const { ctx } = testContext(30);
  const never: Infer = () => new Promise(() => {});
  await assert.rejects(deadlineStage()(never)(req, ctx), { code: 'deadline_exceeded' });
});

test('rejects with the signal reason when the client disconnects mid-call', async () => {
  const { ctx, disconnect } = testContext();
  const never: Infer = () => new Promise(() => {});
  const p = deadlineStage()(never)(req, ctx);
  disconnect();
  await assert.rejects(p, { code: 'client_closed' });
});

test('a synchronous throw in next becomes a rejection', async () => {
  const { ctx } = testContext();
  const throwing: Infer = () => { throw new GatewayError('bad_request', 'no'); };
  await assert.rejects(deadlineStage()(throwing)(req, ctx), { code: 'bad_request' });
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
