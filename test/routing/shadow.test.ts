import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GatewayError } from '../../src/errors.ts';
import { shadowAgreement, shadowLatencyDiff, shadowMaxAbsDiff, shadowRequests } from '../../src/observe/metrics.ts';
import { silentLogger } from '../../src/observe/log.ts';
import { createShadow, shadow as shadowPlugin, shadowSchema, type ShadowConfig } from '../../src/routing/shadow.ts';
import { createWeights } from '../../src/routing/weights.ts';
import type { InferResponse } from '../../src/tensors/tensor.ts';
import type { Backend, CallContext, Infer, ModelStageDeps } from '../../src/types.ts';
import { context, recordingLogger } from './fakes.ts';

const req = { instances: [[1, 2]] };

function shadowConfig(fields: Partial<ShadowConfig> = {}): ShadowConfig {
  return { backend: 'shadow', percent: 100, maxInFlight: 16, tolerance: 1e-4, agreement: 'auto', ...fields };
}

async function metric(m: { get(): Promise<{ values: Array<{ labels: Record<string, unknown>; value: number }> }> }, labels: Record<string, string>): Promise<number | undefined> {
  const v = (await m.get()).values.find((x) => Object.entries(labels).every(([k, val]) => x.labels[k] === val));
  return v?.value;
}

test('the shadow call starts only after the caller has had the primary answer', async () => {
  const events: string[] = [];
  const primary: Infer = async () => { events.push('primary answered'); return { predictions: [1] }; };
  const shadow = createShadow(shadowConfig(), async () => { events.push('shadow started'); return { predictions: [1] }; }, { model: 'order', log: silentLogger });
  await shadow.stage(primary)(req, context()).then(() => events.push('caller got it')).then(() => events.push('caller wrote the response'));
  events.push('caller continued');
  await shadow.settled();
  assert.deepEqual(events, ['primary answered', 'caller got it', 'caller wrote the response', 'caller continued', 'shadow started']);
});

test('a slow shadow never holds the primary; beyond maxInFlight copies are dropped and counted', async () => {
  const release: Array<() => void> = [];
  let shadowCalls = 0;
  const slow: Infer = () => { shadowCalls++; return new Promise((r) => release.push(() => r({ predictions: [1] }))); };
  const shadow = createShadow(shadowConfig({ maxInFlight: 2 }), slow, { model: 'slow', log: silentLogger });
  const infer = shadow.stage(async () => ({ predictions: [1] }));
  const answers = [];
  for (let i = 0; i < 5; i++) {
    answers.push(await infer(req, context()));
    await new Promise((r) => setImmediate(r)); // let the copy be attempted
  }
  assert.equal(answers.length, 5, 'every primary answer came while the shadow hung');
  assert.equal(shadowCalls, 2);
  const s = shadow.status() as Record<string, number>;
  assert.equal(s.inFlight, 2);
  assert.equal(s.sent, 2);
  assert.equal(s.dropped, 3);
  assert.equal(await metric(shadowRequests, { model: 'slow', outcome: 'dropped' }), 3);
  assert.equal(await metric(shadowRequests, { model: 'slow', outcome: 'sent' }), 2);
  release.forEach((f) => f());
  await shadow.settled();
  assert.equal((shadow.status() as Record<string, number>).inFlight, 0);
  assert.equal((shadow.status() as Record<string, number>).compared, 2);
});

test('a shadow that is down (rejects or throws) changes nothing for the primary; failures are counted and logged once', async () => {
  const { log, lines } = recordingLogger();
  let n = 0;
  const down: Infer = (() => {
    n++;
    if (n % 2 === 0) throw new Error('synchronous throw');
    return Promise.reject(new GatewayError('backend_unreachable', 'shadow is unreachable (ECONNREFUSED)'));
  }) as Infer;
  const shadow = createShadow(shadowConfig(), down, { model: 'down', log });
  const infer = shadow.stage(async () => ({ predictions: ['ok'] }));
  for (let i = 0; i < 4; i++) assert.deepEqual(await infer(req, context()), { predictions: ['ok'] });
  await shadow.settled();
  const s = shadow.status() as Record<string, unknown>;
  assert.equal(s.failed, 4);
  assert.equal(s.compared, 0);
  assert.match(String(s.lastError), /^internal|^backend_unreachable/);
  assert.equal(lines.filter((l) => l.msg === 'shadow call failed').length, 1);
  assert.equal(await metric(shadowRequests, { model: 'down', outcome: 'failed' }), 4);
});

test('a failing primary is passed on unchanged and not shadowed', async () => {
  let calls = 0;
  const shadow = createShadow(shadowConfig(), async () => { calls++; return {}; }, { model: 'pfail', log: silentLogger });
  const err = new GatewayError('backend_error', 'primary broke');
  await assert.rejects(shadow.stage(async () => { throw err; })(req, context()), (e) => e === err);
  await shadow.settled();
  assert.equal(calls, 0);
});

test('percent spreads copies evenly: exactly 10 of 100 at 10 %, none at 0 %', async () => {
  for (const [percent, expected] of [[10, 10], [0, 0], [100, 100], [33, 33], [2.5, 2]] as const) {
    let calls = 0;
    const shadow = createShadow(shadowConfig({ percent }), async () => { calls++; return { predictions: [1] }; }, { model: `pct${percent}`, log: silentLogger });
    const infer = shadow.stage(async () => ({ predictions: [1] }));
    for (let i = 0; i < 100; i++) await infer(req, context());
    await shadow.settled();
    assert.equal(calls, expected, `${percent} %`);
  }
});

test('the shadow gets its own context: the client leaving does not abort it; it has the model\'s timeout', async () => {
  const client = new AbortController();
  let seen: CallContext | undefined;
  let release!: () => void;
  const shadow = createShadow(shadowConfig(), (_r, ctx) => {
    seen = ctx;
    return new Promise((resolve) => { release = () => resolve({ predictions: [1] }); });
  }, { model: 'ctx', log: silentLogger, timeoutMs: 7_000 });
  const parent = context({ 'x-user-id': 'u' }, client.signal);
  parent.forward = { 'x-request-id': 'r1' };
  parent.target = 'primary';
  const before = performance.now();
  await shadow.stage(async () => ({ predictions: [1] }))(req, parent);
  client.abort(new GatewayError('client_closed', 'gone'));
  while (seen === undefined) await new Promise((r) => setImmediate(r));
  assert.notEqual(seen, parent);
  assert.equal(seen.signal.aborted, false);
  assert.equal(seen.target, undefined);
  assert.deepEqual(seen.forward, { 'x-request-id': 'r1' });
  assert.notEqual(seen.forward, parent.forward);
  assert.ok(seen.deadline >= before + 7_000 && seen.deadline <= performance.now() + 7_000);
  release();
  await shadow.settled();
  assert.equal((shadow.status() as Record<string, number>).compared, 1);
});

test('a shadow past its timeout is aborted with deadline_exceeded and counted as failed', async () => {
  const hang: Infer = (_r, ctx) => new Promise((_resolve, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason)));
  const shadow = createShadow(shadowConfig(), hang, { model: 'timeout', log: silentLogger, timeoutMs: 10 });
  await shadow.stage(async () => ({ predictions: [1] }))(req, context());
  await shadow.settled();
  const s = shadow.status() as Record<string, unknown>;
  assert.equal(s.failed, 1);
  assert.match(String(s.lastError), /^deadline_exceeded/);
});

test('answers are compared per prediction into the agreement, max-abs-diff and latency metrics', async () => {
  const primaryAnswers: InferResponse[] = [{ predictions: [[0.9, 0.1], [0.2, 0.8]] }, { predictions: ['a', 'b'] }];
  const shadowAnswers: InferResponse[] = [{ predictions: [[0.7, 0.3], [0.6, 0.4]] }, { predictions: ['a', 'b'] }];
  let i = 0;
  let j = 0;
  const shadow = createShadow(shadowConfig(), async () => shadowAnswers[j++]!, { model: 'cmp', log: silentLogger });
  const infer = shadow.stage(async () => primaryAnswers[i++]!);
  await infer(req, context());
  await infer(req, context());
  await shadow.settled();
  const s = shadow.status() as Record<string, unknown>;
  assert.equal(s.predictions, 4);
  assert.equal(s.agreed, 3);
  assert.equal(s.agreementRatio, 0.75);
  assert.ok(Math.abs((s.maxAbsDiff as number) - 0.4) < 1e-9);
  assert.equal((s.latencyDiffMs as { p50: unknown }).p50 !== null, true);
  assert.equal(await metric(shadowAgreement, { model: 'cmp' }), 0.75);
  assert.ok(Math.abs((await metric(shadowMaxAbsDiff, { model: 'cmp' }))! - 0.4) < 1e-9);
  assert.equal(typeof await metric(shadowLatencyDiff, { model: 'cmp' }), 'number');
});

test('an answer that cannot be paired is counted as mismatched and disagreeing', async () => {
  const { log, lines } = recordingLogger();
  const shadow = createShadow(shadowConfig(), async () => ({ predictions: [1, 2, 3] }), { model: 'mism', log });
  await shadow.stage(async () => ({ predictions: [1] }))(req, context());
  await shadow.settled();
  const s = shadow.status() as Record<string, unknown>;
  assert.equal(s.mismatched, 1);
  assert.equal(s.agreementRatio, 0);
  assert.match(String(s.lastMismatch), /1 predictions from the primary, 3 from the shadow/);
  assert.ok(lines.some((l) => l.level === 'warn'));
});

test('close aborts running shadow calls and sends no more copies', async () => {
  let calls = 0;
  const hang: Infer = (_r, ctx) => { calls++; return new Promise((_res, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason))); };
  const shadow = createShadow(shadowConfig(), hang, { model: 'close', log: silentLogger });
  const infer = shadow.stage(async () => ({ predictions: [1] }));
  await infer(req, context());
  while (calls === 0) await new Promise((r) => setImmediate(r));
  await shadow.close();
  assert.match(String((shadow.status() as Record<string, unknown>).lastError), /^draining/);
  assert.deepEqual(await infer(req, context()), { predictions: [1] });
  await shadow.settled();
  assert.equal(calls, 1);
});

test('the shadow plugin: no `shadow` block, no stage; with one, copies go to the named backend\'s model and version', async () => {
  const asked: Array<[string, string | undefined]> = [];
  let copies = 0;
  const backend = {
    name: 'shadow', type: 'fake',
    model: (name: string, version?: string) => {
      asked.push([name, version]);
      return { infer: async () => { copies++; return { predictions: [1] }; }, metadata: async () => ({ name, platform: 'fake', inputs: [], outputs: [] }), health: async () => ({ ready: true }) };
    },
  } as unknown as Backend;
  const deps: ModelStageDeps = {
    model: 'plugin', log: silentLogger, targets: [], weights: createWeights([], { model: 'plugin', log: silentLogger }), timeoutMs: 1_000,
    backends: new Map([['shadow', backend]]), metadata: () => Promise.reject(new Error('no metadata in this test')),
  };
  assert.equal(shadowPlugin.create({}, deps), undefined);
  const stage = shadowPlugin.create({ shadow: shadowSchema.parse({ backend: 'shadow', version: 3 }) }, deps)!;
  try {
    assert.deepEqual(asked, [['plugin', '3']], 'the gateway model name by default, the version as a string');
    // An answer of its own (a raw body's bytes or stream) has nothing to compare: never copied.
    const bytes = { answer: { kind: 'bytes' as const, body: Buffer.from('x'), contentType: 'text/plain' } };
    assert.deepEqual(await stage.stage(async () => bytes)(req, context()), bytes);
    assert.deepEqual(await stage.stage(async () => ({ predictions: [1] }))(req, context()), { predictions: [1] });
    while (copies === 0) await new Promise((r) => setImmediate(r));
    assert.equal((stage.status!() as { sent: number }).sent, 1);
    assert.equal(copies, 1);
  } finally {
    await stage.close!();
  }
  const named = shadowPlugin.create({ shadow: shadowSchema.parse({ backend: 'shadow', model: 'other' }) }, deps)!;
  assert.deepEqual(asked[1], ['other', undefined]);
  await named.close!();
});
