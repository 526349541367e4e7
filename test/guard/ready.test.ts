// ready.test.ts — the `ready` stage: a target its last health poll found not ready answers 503 at
// once, without a backend call, and says so through available() so that a split routes around it.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { GatewayError } from '../../src/errors.ts';
import { ready } from '../../src/guard/ready.ts';
import type { Health, Infer } from '../../src/types.ts';
import { okResponse, targetDeps, testContext } from './context.ts';

const req = { instances: [[1]] };

function counted(): { next: Infer; calls: () => number } {
  let calls = 0;
  return { next: async () => { calls++; return okResponse; }, calls: () => calls };
}

test('a ready target passes the call on', async () => {
  const stage = ready.create({}, targetDeps('r-up'));
  const n = counted();
  assert.deepEqual(await stage.stage(n.next)(req, testContext().ctx), okResponse);
  assert.equal(n.calls(), 1);
  assert.equal(stage.available!(), true);
});

test('a target that is not ready answers 503 backend_unavailable with the reason, without calling the backend', async () => {
  const stage = ready.create({}, targetDeps('r-down', () => ({ ready: false, reason: 'model iris is not loaded' })));
  const n = counted();
  await assert.rejects(stage.stage(n.next)(req, testContext().ctx), (e: GatewayError) =>
    e.code === 'backend_unavailable' && e.status === 503 && e.retryAfter !== undefined
    && e.message.includes('r-down') && e.message.includes('model iris is not loaded'));
  assert.equal(n.calls(), 0);
  assert.equal(stage.available!(), false);
});

test('a not-ready target without a reason still says why it refused', async () => {
  const stage = ready.create({}, targetDeps('r-noreason', () => ({ ready: false })));
  await assert.rejects(stage.stage(counted().next)(req, testContext().ctx), (e: GatewayError) =>
    e.code === 'backend_unavailable' && /not ready: unknown/.test(e.message));
});

test('the readiness is read on every call: the health poll\'s latest answer decides', async () => {
  let health: Health = { ready: false, reason: 'not checked yet' };
  const stage = ready.create({}, targetDeps('r-live', () => health));
  const n = counted();
  const infer = stage.stage(n.next);
  await assert.rejects(infer(req, testContext().ctx), { code: 'backend_unavailable' });
  assert.equal(stage.available!(), false);
  health = { ready: true };
  assert.equal(stage.available!(), true);
  assert.deepEqual(await infer(req, testContext().ctx), okResponse);
  health = { ready: false, reason: 'backend down' };
  await assert.rejects(infer(req, testContext().ctx), { code: 'backend_unavailable' });
  assert.equal(n.calls(), 1);
});
