// adaptive-limit.test.ts — the AIMD limit on a fake clock with calls settled by hand: it grows
// while calls are fast and the limit is in use, shrinks on slow calls and on overload/timeouts
// (once per round trip), ignores client-side failures, stays in bounds and sheds beyond it.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { adaptiveConcurrencySchema, adaptiveLimit, createAdaptiveLimit } from '../../src/guard/adaptive-limit.ts';
import { GatewayError } from '../../src/errors.ts';
import { silentLogger } from '../../src/observe/log.ts';
import type { CallContext, Infer } from '../../src/types.ts';
import type { InferResponse } from '../../src/tensors/tensor.ts';
import { targetDeps } from './context.ts';

interface Pending { resolve(): void; reject(err: unknown): void }

function harness(config: Record<string, unknown> = {}) {
  const clock = { t: 0 };
  const pending: Pending[] = [];
  const lim = createAdaptiveLimit(adaptiveConcurrencySchema.parse(config), { target: 't', log: silentLogger, now: () => clock.t });
  const backend: Infer = () => new Promise<InferResponse>((resolve, reject) => {
    pending.push({ resolve: () => resolve({ modelName: 'm', predictions: [] }), reject });
  });
  const infer = lim.stage(backend);
  const ctx = {} as CallContext;
  const start = (): Promise<unknown> => infer({ instances: [] }, ctx).catch((e: unknown) => e);
  // One wave: n calls start at once and all come back after ms.
  const wave = async (n: number, ms: number, outcome?: GatewayError): Promise<unknown[]> => {
    const calls = Array.from({ length: n }, start);
    clock.t += ms;
    for (const p of pending.splice(0)) if (outcome === undefined) p.resolve(); else p.reject(outcome);
    return Promise.all(calls);
  };
  return { lim, clock, wave, start, pending };
}

test('grows while calls are fast and the limit is in use (each call past half the limit adds 1/limit)', async () => {
  const { lim, wave } = harness({ initialLimit: 4 });
  for (let i = 0; i < 20; i++) await wave(lim.limit(), 10);
  assert.ok(lim.limit() >= 12 && lim.limit() <= 24, `limit ${lim.limit()}`);
  assert.equal(lim.baselineMs(), 10);
});

test('does not grow while mostly idle', async () => {
  const { lim, wave } = harness({ initialLimit: 16 });
  for (let i = 0; i < 200; i++) await wave(1, 10);
  assert.equal(lim.limit(), 16);
});

test('shrinks by backoffRatio when calls slow past the tolerance, once per round trip', async () => {
  const { lim, wave } = harness({ initialLimit: 20, backoffRatio: 0.5 });
  await wave(10, 10); // baseline 10 ms
  const before = lim.limit();
  await wave(10, 30); // 3× the baseline: one decrease for the whole wave
  assert.equal(lim.limit(), Math.floor(before * 0.5));
  await wave(5, 30);
  assert.equal(lim.limit(), Math.floor(Math.floor(before * 0.5) * 0.5 + 0.5) || 1);
});

test('a backend\'s overload and timeouts shrink it; client-side failures and the gateway\'s own refusals do not', async () => {
  const { lim, wave, clock } = harness({ initialLimit: 20 });
  await wave(10, 10);
  const before = lim.limit();
  for (const code of ['bad_request', 'client_closed', 'backend_bad_reply', 'overloaded', 'circuit_open'] as const) await wave(10, 10, new GatewayError(code, code));
  assert.equal(lim.limit(), before, 'unchanged by 400, 499, a broken answer and the gateway\'s own shedding');
  await wave(10, 10, new GatewayError('backend_overloaded', 'busy'));
  assert.equal(lim.limit(), Math.floor(before * 0.9));
  clock.t += 1000;
  await wave(5, 10, new GatewayError('deadline_exceeded', 'late'));
  assert.ok(lim.limit() < Math.floor(before * 0.9));
});

test('calls beyond the limit get 429 overloaded with Retry-After, without reaching the backend', async () => {
  const { lim, start, pending } = harness({ initialLimit: 3 });
  const calls = Array.from({ length: 5 }, start);
  assert.equal(pending.length, 3);
  for (const p of pending.splice(0)) p.resolve();
  const results = await Promise.all(calls);
  const shed = results.filter((r) => r instanceof GatewayError) as GatewayError[];
  assert.equal(shed.length, 2);
  assert.equal(shed[0]!.code, 'overloaded');
  assert.equal(shed[0]!.status, 429);
  assert.equal(shed[0]!.retryAfter, 1);
  assert.match(shed[0]!.message, /adaptive concurrency limit \(3 in flight\)/);
  assert.equal(lim.shed(), 2);
});

test('stays within minLimit and maxLimit; the baseline follows a backend that got slower', async () => {
  const { lim, wave, clock } = harness({ initialLimit: 4, minLimit: 2, maxLimit: 6, baselineWindowMs: 1000, backoffRatio: 0.5 });
  for (let i = 0; i < 100; i++) await wave(lim.limit(), 10);
  assert.equal(lim.limit(), 6, 'never above maxLimit');
  for (let i = 0; i < 3; i++) { clock.t += 100; await wave(2, 100); }
  assert.equal(lim.limit(), 2, 'never below minLimit');
  // Two windows later the 10 ms calls have left the baseline: 100 ms is the new normal.
  clock.t += 2000;
  for (let i = 0; i < 3; i++) await wave(2, 100);
  assert.equal(lim.baselineMs(), 100);
  for (let i = 0; i < 100; i++) await wave(lim.limit(), 100);
  assert.equal(lim.limit(), 6, 'grows again at the new baseline');
});

test('schema: minLimit above maxLimit is refused', () => {
  assert.equal(adaptiveConcurrencySchema.safeParse({ minLimit: 10, maxLimit: 5 }).success, false);
  assert.equal(adaptiveConcurrencySchema.safeParse({ backoffRatio: 1 }).success, false);
});

test('the adaptiveLimit plugin: no `adaptiveConcurrency` block, no stage; with one, status shows the limit', async () => {
  assert.equal(adaptiveLimit.create({}, targetDeps('al-none')), undefined);
  const stage = adaptiveLimit.create({ adaptiveConcurrency: adaptiveConcurrencySchema.parse({ initialLimit: 5 }) }, targetDeps('al'))!;
  assert.deepEqual(stage.status!(), { limit: 5, inFlight: 0, shed: 0, baselineMs: null });
  await stage.stage(async () => ({ predictions: [] }))({ instances: [] }, {} as CallContext);
  const status = stage.status!() as { limit: number; baselineMs: number | null };
  assert.equal(status.limit, 5);
  assert.equal(typeof status.baselineMs, 'number');
});
