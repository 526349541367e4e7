import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { buildMlp, identityModel } from '../../../backends/onnx/build-models.ts';
import { onnx } from '../../../src/backends/onnx/onnx.ts';
import { GatewayError } from '../../../src/errors.ts';
import type { Tensor } from '../../../src/tensors/tensor.ts';
import type { Backend, CallContext } from '../../../src/types.ts';

const irisFile = new URL('../../../backends/onnx/iris/1/model.onnx', import.meta.url);

function capture(): { log: pino.Logger; lines: () => Array<Record<string, unknown>> } {
  let text = '';
  const stream = new Writable({ write(chunk, _enc, done) { text += chunk.toString(); done(); } });
  return { log: pino({ level: 'info' }, stream), lines: () => text.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)) };
}

function ctx(signal = new AbortController().signal): CallContext {
  return { requestId: 'r', signal, deadline: Infinity, forward: {}, headers: {}, log: pino({ level: 'silent' }), model: 'm' };
}

function rejectsWith(code: string, pattern: RegExp): (err: unknown) => boolean {
  return (err) => err instanceof GatewayError && err.code === code && pattern.test(err.message);
}

describe('onnx backend', () => {
  const dir = mkdtempSync(join(tmpdir(), 'onnx-backend-'));
  const logs = capture();
  let backend: Backend;

  before(async () => {
    mkdirSync(join(dir, 'iris', '1'), { recursive: true });
    copyFileSync(irisFile, join(dir, 'iris', '1', 'model.onnx'));
    mkdirSync(join(dir, 'identity', '1'), { recursive: true });
    writeFileSync(join(dir, 'identity', '1', 'model.onnx'), identityModel());
    mkdirSync(join(dir, 'bytes', '1'), { recursive: true });
    writeFileSync(join(dir, 'bytes', '1', 'model.onnx'), identityModel(['BYTES']));
    mkdirSync(join(dir, 'mlp', '3'), { recursive: true });
    writeFileSync(join(dir, 'mlp', '3', 'model.onnx'), buildMlp([256, 1024, 1024, 10]));
    mkdirSync(join(dir, 'data'), { recursive: true }); // not a model folder: ignored
    const config = onnx.schema.parse({ type: 'onnx', modelRepository: dir, executionProviders: ['cuda', 'cpu'], workers: 2 });
    backend = onnx.create('local', config, { log: logs.log });
    assert.deepEqual(await backend.health(), { ready: false, reason: 'loading models' });
    await backend.start();
  });
  after(async () => {
    await backend.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reports session metadata with dynamic dims as -1 and the provider in use', async () => {
    const meta = await backend.model('iris').metadata();
    assert.deepEqual(meta, {
      name: 'iris', versions: ['1'], platform: 'onnx_onnxv1',
      inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 4] }],
      outputs: [{ name: 'label', datatype: 'INT64', shape: [-1] }, { name: 'probabilities', datatype: 'FP32', shape: [-1, 3] }],
      maxBatchSize: 65536, parameters: { executionProvider: 'cpu' },
    });
    assert.deepEqual(await backend.health(), { ready: true });
    assert.deepEqual(await backend.model('iris').health(), { ready: true });
  });

  it('falls back from cuda to cpu with exactly one warning', () => {
    const warnings = logs.lines().filter((l) => l.level === 40 && /execution provider unavailable/.test(String(l.msg)));
    assert.equal(warnings.length, 1);
    assert.match(String(warnings[0]!.msg), /cuda.*falling back to cpu|falling back to cpu: cuda/);
    assert.ok(logs.lines().some((l) => l.executionProvider === 'cpu' && l.model === 'iris'));
  });

  it('with only cuda listed and no CUDA libraries, still serves on cpu after one warning', async () => {
    const only = capture();
    const config = onnx.schema.parse({ type: 'onnx', modelPath: fileURLToPath(irisFile), executionProviders: ['cuda'] });
    const single = onnx.create('gpu-only', config, { log: only.log });
    try {
      await single.start();
      assert.deepEqual(await single.health(), { ready: true });
      assert.deepEqual((await single.model('iris').metadata()).parameters, { executionProvider: 'cpu' });
      const warnings = only.lines().filter((l) => l.level === 40 && /falling back to cpu/.test(String(l.msg)));
      assert.equal(warnings.length, 1);
      const res = await single.model('iris').infer({ instances: [[5.1, 3.5, 1.4, 0.2]] }, ctx());
      assert.equal((res.predictions as Array<{ label: number }>)[0]!.label, 0);
    } finally {
      await single.close();
    }
  });

  it('answers instances with one prediction per row: setosa 0, virginica 2', async () => {
    const res = await backend.model('iris').infer({ instances: [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]] }, ctx());
    const p = res.predictions as Array<{ label: number; probabilities: number[] }>;
    assert.deepEqual(p.map((x) => x.label), [0, 2]);
    assert.equal(p[0]!.probabilities.length, 3);
    assert.ok(Math.abs(p[1]!.probabilities.reduce((a, b) => a + b, 0) - 1) < 1e-5);
    assert.equal(res.modelVersion, '1');
  });

  it('answers tensors and honours the output selection', async () => {
    const input: Tensor = { name: 'input', datatype: 'FP32', shape: [1, 4], data: new Float32Array([6.7, 3.0, 5.2, 2.3]) };
    const res = await backend.model('iris').infer({ inputs: [input], outputs: [{ name: 'label' }] }, ctx());
    assert.equal(res.outputs!.length, 1);
    assert.equal(res.outputs![0]!.name, 'label');
    assert.deepEqual(Array.from(res.outputs![0]!.data as BigInt64Array), [2n]);
    // the caller's tensor was copied, not moved: it is still readable
    assert.equal((input.data as Float32Array)[0], Float32Array.of(6.7)[0]);
  });

  it('rejects tensors that do not fit the model with what was expected', async () => {
    const m = backend.model('iris');
    await assert.rejects(m.infer({ inputs: [{ name: 'input', datatype: 'FP64', shape: [1, 4], data: new Float64Array(4) }] }, ctx()), rejectsWith('bad_tensor', /is FP32, got FP64/));
    await assert.rejects(m.infer({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 5], data: new Float32Array(5) }] }, ctx()), rejectsWith('bad_tensor', /shape \[-1, 4\].*got \[1, 5\]/));
    await assert.rejects(m.infer({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: new Float32Array(4) }] }, ctx()), rejectsWith('bad_tensor', /no input "x"; expected inputs: input FP32 \[-1, 4\]/));
    await assert.rejects(m.infer({ instances: [[1, 2, 3, 4]], outputs: [{ name: 'nope' }] }, ctx()), rejectsWith('bad_tensor', /no output "nope"; outputs: label, probabilities/));
    await assert.rejects(m.infer({ instances: [[1, 2, 3]] }, ctx()), rejectsWith('bad_tensor', /instance 0.*\[4\]/));
    await assert.rejects(m.infer({}, ctx()), rejectsWith('bad_request', /neither/));
  });

  it('answers 404 for an unknown model or version', async () => {
    // A model named after start loads then; one the repository lacks is 404 naming the folder it looked for.
    await assert.rejects(backend.model('nope').infer({ instances: [[1]] }, ctx()), rejectsWith('model_not_found', /no model "nope".*nope\/<version>\/model\.onnx/));
    await assert.rejects(backend.model('iris', '2').metadata(), rejectsWith('model_not_found', /version 2/));
    assert.equal((await backend.model('mlp', '3').metadata()).versions![0], '3');
    assert.equal((await backend.model('nope').health()).ready, false);
  });

  it('passes every datatype through the runtime and back, INT64 beyond 2^53 exactly', async () => {
    const inputs: Tensor[] = [
      { name: 'x_FP32', datatype: 'FP32', shape: [1, 2], data: new Float32Array([1.5, -2]) },
      { name: 'x_FP64', datatype: 'FP64', shape: [1, 2], data: new Float64Array([Math.PI, 1e300]) },
      { name: 'x_FP16', datatype: 'FP16', shape: [1, 2], data: new Uint16Array([0x3c00, 0xc000]) },
      { name: 'x_INT8', datatype: 'INT8', shape: [1, 2], data: new Int8Array([-128, 127]) },
      { name: 'x_INT16', datatype: 'INT16', shape: [1, 2], data: new Int16Array([-32768, 32767]) },
      { name: 'x_INT32', datatype: 'INT32', shape: [1, 2], data: new Int32Array([-(2 ** 31), 2 ** 31 - 1]) },
      { name: 'x_INT64', datatype: 'INT64', shape: [1, 2], data: new BigInt64Array([-(2n ** 63n), 2n ** 53n + 1n]) },
      { name: 'x_UINT8', datatype: 'UINT8', shape: [1, 2], data: new Uint8Array([0, 255]) },
      { name: 'x_UINT16', datatype: 'UINT16', shape: [1, 2], data: new Uint16Array([0, 65535]) },
      { name: 'x_UINT32', datatype: 'UINT32', shape: [1, 2], data: new Uint32Array([0, 2 ** 32 - 1]) },
      { name: 'x_UINT64', datatype: 'UINT64', shape: [1, 2], data: new BigUint64Array([0n, 2n ** 64n - 1n]) },
      { name: 'x_BOOL', datatype: 'BOOL', shape: [1, 2], data: new Uint8Array([1, 0]) },
      { name: 'x_BYTES', datatype: 'BYTES', shape: [1, 2], data: [Buffer.from('héllo'), Buffer.from('')] },
    ];
    const res = await backend.model('identity').infer({ inputs }, ctx());
    for (const input of inputs) {
      const out = res.outputs!.find((t) => t.name === input.name.replace('x_', 'y_'))!;
      assert.equal(out.datatype, input.datatype, input.name);
      assert.deepEqual(out.shape, [1, 2]);
      if (input.datatype === 'BYTES') assert.deepEqual((out.data as Uint8Array[]).map((b) => Buffer.from(b).toString()), ['héllo', '']);
      else assert.deepEqual(Array.from(out.data as Int32Array), Array.from(input.data as Int32Array), input.name);
    }
    const rows = await backend.model('identity').infer({ instances: [Object.fromEntries(inputs.map((t) => [t.name, t.datatype === 'BYTES' ? ['a', { b64: 'Yg==' }] : t.datatype === 'BOOL' ? [true, false] : t.datatype === 'INT64' ? [1, 9007199254740993n] : [1, 2]]))] }, ctx());
    const p = rows.predictions![0] as Record<string, unknown[]>;
    assert.deepEqual(p.y_INT64, [1, 9007199254740993n]);
    assert.deepEqual(p.y_BYTES, ['a', 'b']);
    assert.deepEqual(p.y_BOOL, [true, false]);
    assert.deepEqual(p.y_FP16, [1, 2]);
  });

  it('rejects BYTES that are not UTF-8, since ONNX strings hold text', async () => {
    const inputs: Tensor[] = [{ name: 'x_BYTES', datatype: 'BYTES', shape: [1, 2], data: [new Uint8Array([0xff]), new Uint8Array()] }];
    await assert.rejects(backend.model('bytes').infer({ inputs }, ctx()), rejectsWith('bad_tensor', /element 0 is not valid UTF-8/));
  });

  it('keeps the event loop free and rejects with the abort reason while a long inference runs', async () => {
    const rows = 8192;
    const input = (): Tensor => ({ name: 'input', datatype: 'FP32', shape: [rows, 256], data: new Float32Array(rows * 256).fill(0.5) });
    let ticks = 0;
    const timer = setInterval(() => { ticks++; }, 1);
    const long = backend.model('mlp').infer({ inputs: [input()] }, ctx());
    await long;
    clearInterval(timer);
    // session.run on this thread would let no timer fire until it returned
    assert.ok(ticks >= 5, `only ${ticks} timer ticks during the inference`);

    const controller = new AbortController();
    const reason = new GatewayError('deadline_exceeded', 'deadline passed');
    const aborted = backend.model('mlp').infer({ inputs: [input()] }, ctx(controller.signal));
    setTimeout(() => controller.abort(reason), 5);
    await assert.rejects(aborted, (err) => err === reason);
    const after = await backend.model('iris').infer({ instances: [[5.1, 3.5, 1.4, 0.2]] }, ctx());
    assert.equal((after.predictions![0] as { label: number }).label, 0);
  });
});

describe('onnx backend start', () => {
  const dir = mkdtempSync(join(tmpdir(), 'onnx-broken-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses to start with the file and the runtime message when a model fails to load', async () => {
    mkdirSync(join(dir, 'broken', '1'), { recursive: true });
    writeFileSync(join(dir, 'broken', '1', 'model.onnx'), 'not a model');
    const b = onnx.create('local', onnx.schema.parse({ type: 'onnx', modelRepository: dir }), { log: pino({ level: 'silent' }) });
    b.model('broken'); // the config names it: it is loaded at start
    await assert.rejects(b.start(), (err: unknown) => err instanceof GatewayError &&
      err.message.includes(join(dir, 'broken', '1', 'model.onnx')) && /Protobuf parsing failed/.test(err.message));
    assert.equal((await b.health()).ready, false);
    await b.close();
  });

  it('serves a single modelPath under any name', async () => {
    const b = onnx.create('one', onnx.schema.parse({ type: 'onnx', modelPath: irisFile.pathname, intraOpThreads: 2, spinning: true, graphOptimizationLevel: 'basic' }), { log: pino({ level: 'silent' }) });
    await b.start();
    const res = await b.model('whatever').infer({ instances: [[6.7, 3.0, 5.2, 2.3]] }, ctx());
    assert.equal((res.predictions![0] as { label: number }).label, 2);
    assert.equal((await b.model('other').metadata()).name, 'other');
    await b.close();
    await assert.rejects(b.model('whatever').infer({ instances: [[1, 2, 3, 4]] }, ctx()), rejectsWith('not_ready', /loading/));
  });

  it('validates its config', () => {
    assert.equal(onnx.schema.safeParse({ type: 'onnx' }).success, false);
    assert.equal(onnx.schema.safeParse({ type: 'onnx', modelPath: 'a', modelRepository: 'b' }).success, false);
    assert.equal(onnx.schema.safeParse({ type: 'onnx', modelPath: 'a', executionProviders: ['tpu'] }).success, false);
    assert.equal(onnx.schema.safeParse({ type: 'onnx', modelPath: 'a', extra: 1 }).success, false);
    const c = onnx.schema.parse({ type: 'onnx', modelPath: 'a' });
    assert.deepEqual([c.executionProviders, c.workers, c.intraOpThreads, c.interOpThreads, c.spinning, c.graphOptimizationLevel],
      [['cpu'], 1, 1, 1, false, 'all']);
  });
});
