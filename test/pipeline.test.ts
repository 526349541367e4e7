// pipeline.ts in process: the model path is the registry's stages in order over each target's
// path; the deadline is made in the path; the split names the target; status and close are
// folded by stage name.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { GatewayError } from '../src/errors.ts';
import { silentLogger } from '../src/observe/log.ts';
import { modelPipeline } from '../src/pipeline.ts';
import { parseConfig } from '../src/schema.ts';
import type { CallContext } from '../src/types.ts';
import { fakeBackend, never } from './support/fake-backend.ts';

function context(headers: Record<string, string> = {}): CallContext {
  return { requestId: 'r', signal: new AbortController().signal, deadline: Infinity, forward: {}, headers, log: silentLogger, model: 'm' };
}

function build(yaml: string) {
  const backend = fakeBackend('b');
  const config = parseConfig(`backends: { b: { type: http, url: "http://127.0.0.1:1" } }\nmodels:\n  m:\n${yaml}`, 'test.yaml', {});
  const pipeline = modelPipeline('m', config.models.m!, { backends: new Map([['b', backend]]), log: silentLogger });
  for (const t of pipeline.targets) t.health = { ready: true };
  return { backend, pipeline };
}

test('calls are split by weight, each named by its target, and reach that target\'s backend model', async () => {
  const { backend, pipeline } = build(`    targets: [ { backend: b, name: big, model: one, weight: 3 }, { backend: b, name: small, model: two, weight: 1 } ]`);
  const seen: string[] = [];
  for (let i = 0; i < 8; i++) {
    const ctx = context();
    const res = await pipeline.infer({ instances: [[i]] }, ctx);
    seen.push(ctx.target!);
    assert.deepEqual(res.predictions, [ctx.target === 'big' ? 'one@' : 'two@']);
  }
  assert.equal(seen.filter((t) => t === 'big').length, 6);
  assert.deepEqual(backend.calls.map((c) => c.target), seen);
  await pipeline.close();
});

test('the path makes the deadline: a hung backend is answered 504 at timeoutMs, and the context carries the deadline', async () => {
  const { backend, pipeline } = build(`    timeoutMs: 50\n    targets: [ { backend: b } ]`);
  backend.setAnswer(never);
  const ctx = context();
  const started = performance.now();
  await assert.rejects(pipeline.infer({ instances: [[1]] }, ctx), (e: GatewayError) => e.code === 'deadline_exceeded' && e.status === 504);
  assert.ok(Number.isFinite(ctx.deadline) && ctx.deadline - started <= 60);
  assert.ok(ctx.signal.aborted, 'the signal below the deadline stage aborts at the deadline');
  await pipeline.close();
});

test('a client asking for less time with x-request-timeout-ms gets less', async () => {
  const { backend, pipeline } = build(`    timeoutMs: 30s\n    targets: [ { backend: b } ]`);
  backend.setAnswer(never);
  const ctx = context({ 'x-request-timeout-ms': '30' });
  await assert.rejects(pipeline.infer({ instances: [[1]] }, ctx), { code: 'deadline_exceeded' });
  assert.match(String((ctx.signal.reason as Error).message), /30 ms/);
  await pipeline.close();
});

test('a target that is not ready is skipped by the split; with none ready the call gets 503 naming the reason', async () => {
  const { pipeline } = build(`    targets: [ { backend: b, name: a }, { backend: b, name: c } ]`);
  pipeline.targets[0]!.health = { ready: false, reason: 'model loading' };
  for (let i = 0; i < 4; i++) {
    const ctx = context();
    await pipeline.infer({ instances: [[1]] }, ctx);
    assert.equal(ctx.target, 'c');
  }
  pipeline.targets[1]!.health = { ready: false, reason: 'down' };
  await assert.rejects(pipeline.infer({ instances: [[1]] }, context()), (e: GatewayError) =>
    e.code === 'backend_unavailable' && e.status === 503 && /not ready/.test(e.message));
  await pipeline.close();
});

test('maxRowsPerRequest refuses before any target is picked', async () => {
  const { backend, pipeline } = build(`    maxRowsPerRequest: 2\n    targets: [ { backend: b } ]`);
  const ctx = context();
  await assert.rejects(pipeline.infer({ instances: [[1], [2], [3]] }, ctx), { code: 'bad_request' });
  assert.equal(ctx.target, undefined);
  assert.equal(backend.calls.length, 0);
  await pipeline.close();
});

test('status shows each configured stage under its name, per model and per target, in path order', async () => {
  const { pipeline } = build(`    batching: { maxBatchSize: 4 }
    breaker: {}
    retry: {}
    rollback: { minRequests: 10 }
    targets: [ { backend: b, name: a, maxInFlight: 3 }, { backend: b, name: c, weight: 10 } ]`);
  await pipeline.infer({ instances: [[1]] }, context());
  const status = pipeline.status() as { split: unknown; rollback: unknown; targets: Array<Record<string, unknown>> };
  assert.deepEqual(Object.keys(status), ['rollback', 'split', 'targets']);
  assert.deepEqual(Object.keys(status.targets[0]!), ['name', 'backend', 'ready', 'reason', 'batcher', 'limit', 'breaker', 'retry']);
  assert.deepEqual(status.targets[0]!.breaker, { state: 'closed' });
  assert.equal((status.targets[0]!.limit as { inFlight: number }).inFlight, 0);
  await pipeline.close();
});

test('close closes every stage: a batcher refuses new calls after it', async () => {
  const { pipeline } = build(`    batching: { maxBatchSize: 4 }\n    targets: [ { backend: b } ]`);
  await pipeline.close();
  await assert.rejects(pipeline.infer({ instances: [[1]] }, context()), { code: 'draining' });
});

test('a model\'s stages and its targets\' are built on first use; its status then is what a built one shows, and its call goes through', async () => {
  const backend = fakeBackend('b');
  let children = 0;
  // A model's stages, when built, make its logger child (its targets' are children of that one).
  const log = new Proxy(silentLogger, {
    get: (target, key) => (key === 'child' ? (bindings: Record<string, unknown>) => { children++; return target.child(bindings); } : Reflect.get(target, key)),
  });
  const config = parseConfig(`backends: { b: { type: http, url: "http://127.0.0.1:1" } }
models:
  m: { breaker: { volumeThreshold: 5 }, targets: [ { backend: b, name: one, weight: 3 }, { backend: b, name: two, weight: 1 } ] }`, 'test.yaml', {});
  const lazy = modelPipeline('m', config.models.m!, { backends: new Map([['b', backend]]), log });
  for (const t of lazy.targets) t.health = { ready: true };
  assert.equal(children, 0, 'nothing built before first use');
  assert.equal(lazy.ready(), true);
  const eager = modelPipeline('m', config.models.m!, { backends: new Map([['b', backend]]), log: silentLogger });
  for (const t of eager.targets) t.health = { ready: true };
  eager.build();
  for (const t of eager.targets) t.available();
  assert.deepEqual(lazy.status(), eager.status());
  assert.equal(children, 1, 'status built the model (and its targets: their breakers show above)');
  const ctx = context();
  assert.deepEqual((await lazy.infer({ instances: [[1]] }, ctx)).predictions, ['m@']);
  assert.equal(ctx.target, 'one');
  await Promise.all([lazy.close(), eager.close()]);
});
