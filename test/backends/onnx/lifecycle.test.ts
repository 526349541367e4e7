// The onnx backend's model lifecycle: only the named models load (every one with loadAll),
// symlinked folders are followed, a broken model under modelLoadErrors: continue leaves the
// others serving, lazy models load once however many first calls arrive together, an unload
// lets the calls in flight finish, and versions follow the version policy.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { buildMlp } from '../../../backends/onnx/build-models.ts';
import { onnx } from '../../../src/backends/onnx/onnx.ts';
import { GatewayError } from '../../../src/errors.ts';
import { modelLoadSeconds } from '../../../src/observe/metrics.ts';
import type { Tensor } from '../../../src/tensors/tensor.ts';
import type { Backend, CallContext } from '../../../src/types.ts';

const irisFile = fileURLToPath(new URL('../../../backends/onnx/iris/1/model.onnx', import.meta.url));
const row = { instances: [[5.1, 3.5, 1.4, 0.2]] };

// loadsOf counts the loads of `model` on backend "local" recorded so far.
async function loadsOf(model: string): Promise<number> {
  const { values } = await modelLoadSeconds.get();
  return values.find((v) => v.metricName === 'infergate_model_load_seconds_count' && v.labels.model === model && v.labels.backend === 'local' && v.labels.outcome === 'ok')?.value ?? 0;
}

function ctx(): CallContext {
  return { requestId: 'r', signal: new AbortController().signal, deadline: Infinity, forward: {}, headers: {}, log: pino({ level: 'silent' }), model: 'm' };
}

describe('onnx model lifecycle', () => {
  const dir = mkdtempSync(join(tmpdir(), 'onnx-lifecycle-'));
  const shared = mkdtempSync(join(tmpdir(), 'onnx-shared-'));
  const open: Backend[] = [];
  const make = (settings: Record<string, unknown>, modelLoadErrors: 'exit' | 'continue' = 'exit'): Backend => {
    const b = onnx.create('local', onnx.schema.parse({ type: 'onnx', modelRepository: dir, ...settings }), { log: pino({ level: 'silent' }), modelLoadErrors });
    open.push(b);
    return b;
  };
  before(() => {
    for (const v of ['1', '2', '3']) {
      mkdirSync(join(dir, 'iris', v), { recursive: true });
      copyFileSync(irisFile, join(dir, 'iris', v, 'model.onnx'));
    }
    mkdirSync(join(dir, 'broken', '1'), { recursive: true });
    writeFileSync(join(dir, 'broken', '1', 'model.onnx'), 'not a model');
    mkdirSync(join(dir, 'mlp', '1'), { recursive: true });
    writeFileSync(join(dir, 'mlp', '1', 'model.onnx'), buildMlp([256, 1024, 1024, 10]));
    // A model folder that is a symlink to a shared store, as a Kubernetes volume mount makes it.
    mkdirSync(join(shared, 'linked', '1'), { recursive: true });
    copyFileSync(irisFile, join(shared, 'linked', '1', 'model.onnx'));
    symlinkSync(join(shared, 'linked'), join(dir, 'linked'));
  });
  after(async () => {
    await Promise.all(open.map((b) => b.close()));
    rmSync(dir, { recursive: true, force: true });
    rmSync(shared, { recursive: true, force: true });
  });

  it('loads only the models the config names; loadAll loads every one, symlinked folders too', async () => {
    const named = make({});
    named.model('iris');
    await named.start();
    assert.deepEqual(named.lifecycle!.models().map((s) => `${s.name}/${s.version}:${s.state}`), ['iris/3:ready']);
    const all = make({ loadAll: true }, 'continue');
    await all.start();
    const states = all.lifecycle!.models().map((s) => `${s.name}/${s.version}:${s.state}`).sort();
    assert.deepEqual(states, ['broken/1:unavailable', 'iris/3:ready', 'linked/1:ready', 'mlp/1:ready']);
    const res = await all.model('linked').infer(row, ctx());
    assert.equal((res.predictions![0] as { label: number }).label, 0);
  });

  it('with continue, a broken model answers 503 with its load error and the others serve', async () => {
    const b = make({}, 'continue');
    b.model('broken');
    b.model('iris');
    await b.start();
    const health = await b.model('broken').health();
    assert.equal(health.ready, false);
    assert.match(health.reason!, /failed to load: .*Protobuf parsing failed/);
    await assert.rejects(b.model('broken').infer(row, ctx()), (e: unknown) => e instanceof GatewayError && e.status === 503 && /Protobuf parsing failed/.test(e.message));
    assert.equal((await b.model('iris').health()).ready, true);
    const broken = b.lifecycle!.models().find((s) => s.name === 'broken')!;
    assert.equal(broken.state, 'unavailable');
    assert.match(broken.reason!, /Protobuf/);
  });

  it('with exit, a broken model named by the config refuses the start', async () => {
    const b = make({});
    b.model('broken');
    await assert.rejects(b.start(), /Protobuf parsing failed/);
  });

  it('serves the versions of the policy: latest N, specific, all; others are 404', async () => {
    const b = make({ versionPolicy: { latest: 2 }, versions: { mlp: 'all' } });
    b.model('iris');
    b.model('mlp');
    await b.start();
    assert.deepEqual(b.lifecycle!.models().filter((s) => s.name === 'iris').map((s) => s.version), ['2', '3']);
    assert.equal((await b.model('iris', '2').health()).ready, true);
    const one = await b.model('iris', '1').health();
    assert.deepEqual(one, { ready: false, reason: 'no model "iris" version 1' });
    await assert.rejects(b.model('iris', '1').metadata(), (e: unknown) => e instanceof GatewayError && e.code === 'model_not_found' && /versions served: 2, 3/.test(e.message));
    const pinned = make({ versions: { iris: { specific: ['1', '3'] } } });
    pinned.model('iris');
    await pinned.start();
    assert.deepEqual(pinned.lifecycle!.models().map((s) => s.version), ['1', '3']);
  });

  it('loads a lazy model once for concurrent first calls, counting as ready before', async () => {
    const b = make({ lazy: true });
    b.model('iris');
    await b.start();
    assert.equal((await b.model('iris').health()).ready, true);
    const before = await loadsOf('iris');
    assert.equal(b.lifecycle!.models()[0]!.state, 'unavailable');
    assert.match(b.lifecycle!.models()[0]!.reason!, /loads on first use/);
    const calls = Array.from({ length: 8 }, () => b.model('iris').infer(row, ctx()));
    // Loading now: still ready (a health poll meanwhile must not turn the calls away).
    assert.equal(b.lifecycle!.models()[0]!.state, 'loading');
    assert.equal((await b.model('iris').health()).ready, true);
    const answers = await Promise.all(calls);
    assert.equal(answers.length, 8);
    const [state] = b.lifecycle!.models();
    assert.equal(state!.state, 'ready');
    // One load for the eight first calls.
    assert.equal(await loadsOf('iris') - before, 1);
    assert.ok(state!.loadSeconds! > 0);
    assert.ok(state!.bytes! > 0);
  });

  it('unloads after the calls in flight finish, then refuses; a load brings it back', async () => {
    const b = make({});
    b.model('mlp');
    await b.start();
    const rows = 4096;
    const input: Tensor = { name: 'input', datatype: 'FP32', shape: [rows, 256], data: new Float32Array(rows * 256).fill(0.5) };
    const inFlight = Promise.all([1, 2, 3].map(() => b.model('mlp').infer({ inputs: [{ ...input, data: new Float32Array(input.data as Float32Array) }] }, ctx())));
    await new Promise((r) => setImmediate(r));
    const unloading = b.lifecycle!.unload('mlp');
    await new Promise((r) => setImmediate(r));
    assert.equal(b.lifecycle!.models()[0]!.state, 'unloading');
    await assert.rejects(b.model('mlp').infer({ inputs: [input] }, ctx()), (e: unknown) => e instanceof GatewayError && e.status === 503 && /being unloaded/.test(e.message));
    const answers = await inFlight;
    assert.equal(answers.length, 3);
    for (const a of answers) assert.deepEqual(a.outputs![0]!.shape, [rows, 10]);
    await unloading;
    assert.equal(b.lifecycle!.models()[0]!.state, 'unavailable');
    assert.equal(b.lifecycle!.models()[0]!.reason, 'unloaded');
    assert.equal((await b.model('mlp').health()).ready, false);
    await b.lifecycle!.load('mlp');
    assert.equal((await b.model('mlp').health()).ready, true);
  });
});
