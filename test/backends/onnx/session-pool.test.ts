import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Worker } from 'node:worker_threads';
import { identityModel } from '../../../backends/onnx/build-models.ts';
import { SessionPool } from '../../../src/backends/onnx/session-pool.ts';
import type { WorkerOptions } from '../../../src/backends/onnx/worker.ts';
import { GatewayError } from '../../../src/errors.ts';
import type { Tensor } from '../../../src/tensors/tensor.ts';

const irisPath = fileURLToPath(new URL('../../../backends/onnx/iris/1/model.onnx', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'session-pool-'));
const identityPath = join(dir, 'identity.onnx'); // x_<TYPE> → y_<TYPE> for every datatype
const fp32Path = join(dir, 'fp32.onnx'); // x_FP32 → y_FP32 only
const garbagePath = join(dir, 'garbage.onnx');

// Every worker thread the process starts is announced here: the pool's workers among them.
const started: Worker[] = [];
const onWorker = (w: Worker): void => void started.push(w);
process.on('worker', onWorker);

function options(path: string): WorkerOptions {
  return { path, executionProviders: ['cpu'], intraOpThreads: 1, interOpThreads: 1, spinning: false, graphOptimizationLevel: 'all' };
}

const setosa = [5.1, 3.5, 1.4, 0.2];
const virginica = [6.7, 3.0, 5.2, 2.3];
function iris(...rows: number[][]): Tensor[] {
  return [{ name: 'input', datatype: 'FP32', shape: [rows.length, 4], data: Float32Array.from(rows.flat()) }];
}
function labels(outputs: Tensor[]): bigint[] {
  return Array.from(outputs.find((t) => t.name === 'label')!.data as BigInt64Array);
}
function fp32Identity(v: number): Tensor[] {
  return [{ name: 'x_FP32', datatype: 'FP32', shape: [1, 2], data: Float32Array.of(v, -v) }];
}

const isGateway = (code: string, pattern: RegExp) => (err: unknown): boolean => {
  assert.ok(err instanceof GatewayError, String(err));
  assert.equal(err.code, code);
  assert.match(err.message, pattern);
  return true;
};

before(() => {
  writeFileSync(identityPath, identityModel());
  writeFileSync(fp32Path, identityModel(['FP32']));
  writeFileSync(garbagePath, 'this is not an onnx model');
});
after(() => {
  process.off('worker', onWorker);
  rmSync(dir, { recursive: true, force: true });
});

describe('SessionPool with the iris model', () => {
  const pool = new SessionPool(options(irisPath));
  let before0 = 0;

  before(async () => {
    before0 = started.length;
    const info = await pool.start(2);
    assert.equal(info.provider, 'cpu');
    assert.deepEqual(info.skipped, []);
    assert.deepEqual(info.inputs, [{ name: 'input', isTensor: true, type: 'float32', shape: ['batch', 4] }]);
    assert.deepEqual(info.outputs.map((o) => [o.name, o.type, o.shape]), [['label', 'int64', ['batch']], ['probabilities', 'float32', ['batch', 3]]]);
  });
  after(() => pool.close());

  it('starts one worker thread per session', () => {
    assert.equal(started.length - before0, 2);
  });

  it('runs an inference and answers every output as canonical tensors', async () => {
    const out = await pool.run(iris(setosa, virginica), undefined, undefined);
    assert.deepEqual(out.map((t) => [t.name, t.datatype, t.shape]), [['label', 'INT64', [2]], ['probabilities', 'FP32', [2, 3]]]);
    assert.deepEqual(labels(out), [0n, 2n]);
    const p = out[1]!.data as Float32Array;
    assert.ok(Math.abs(p[3]! + p[4]! + p[5]! - 1) < 1e-5);
  });

  it('fetches only the selected outputs', async () => {
    const out = await pool.run(iris(virginica), ['probabilities'], undefined);
    assert.deepEqual(out.map((t) => t.name), ['probabilities']);
  });

  it('answers many concurrent calls each with its own result', async () => {
    const rows = [setosa, virginica, setosa, setosa, virginica, virginica, setosa, virginica];
    const results = await Promise.all(rows.map((r) => pool.run(iris(r), ['label'], undefined)));
    assert.deepEqual(results.map((o) => labels(o)[0]), rows.map((r) => (r === setosa ? 0n : 2n)));
  });

  it('copies inputs it does not own and moves those it owns', async () => {
    const kept = iris(setosa);
    const run = pool.run(kept, ['label'], undefined);
    assert.equal((kept[0]!.data as Float32Array).length, 4);
    await run;
    assert.equal((kept[0]!.data as Float32Array)[0], Math.fround(5.1));

    const moved = iris(virginica);
    const run2 = pool.run(moved, ['label'], undefined, true);
    assert.equal((moved[0]!.data as Float32Array).buffer.byteLength, 0, 'the buffer was transferred to the worker');
    assert.deepEqual(labels(await run2), [2n]);
  });

  it('turns runtime complaints about shapes, types and output names into bad_tensor', async () => {
    await assert.rejects(pool.run([{ name: 'input', datatype: 'FP32', shape: [1, 5], data: new Float32Array(5) }], undefined, undefined),
      isGateway('bad_tensor', /invalid dimensions/i));
    await assert.rejects(pool.run([{ name: 'input', datatype: 'FP32', shape: [4], data: new Float32Array(4) }], undefined, undefined),
      isGateway('bad_tensor', /invalid rank/i));
    await assert.rejects(pool.run([{ name: 'input', datatype: 'FP64', shape: [1, 4], data: new Float64Array(4) }], undefined, undefined),
      isGateway('bad_tensor', /unexpected input data type/i));
    await assert.rejects(pool.run(iris(setosa), ['nope'], undefined), isGateway('bad_tensor', /invalid output name: nope/));
  });

  it('turns other runtime failures into backend_error naming the model file', async () => {
    await assert.rejects(pool.run([], undefined, undefined), (err: unknown) => {
      assert.ok(err instanceof GatewayError);
      assert.equal(err.code, 'backend_error');
      assert.equal(err.status, 502);
      assert.ok(err.message.startsWith(`onnxruntime failed on ${irisPath}: `), err.message);
      return true;
    });
  });

  it('refuses inputs that cannot be sent to a worker with bad_tensor', async () => {
    const t = { ...iris(setosa)[0]!, parameters: { f: () => 1 } };
    await assert.rejects(pool.run([t], undefined, undefined), isGateway('bad_tensor', /cannot be sent to the ONNX worker/));
    assert.deepEqual(labels(await pool.run(iris(setosa), ['label'], undefined)), [0n]);
  });

  it('rejects with the reason of a signal aborted before the call', async () => {
    const c = new AbortController();
    const reason = new GatewayError('deadline_exceeded', 'too late');
    c.abort(reason);
    await assert.rejects(pool.run(iris(setosa), undefined, c.signal), (err) => err === reason);
  });
});

describe('SessionPool queueing and aborts (one worker)', () => {
  const pool = new SessionPool(options(fp32Path));
  before(() => pool.start(1));
  after(() => pool.close());

  it('runs queued calls in order, each answered with its own outputs', async () => {
    const calls = [1, 2, 3, 4, 5, 6].map((v) => pool.run(fp32Identity(v), ['y_FP32'], undefined));
    const outs = await Promise.all(calls);
    assert.deepEqual(outs.map((o) => Array.from(o[0]!.data as Float32Array)), [[1, -1], [2, -2], [3, -3], [4, -4], [5, -5], [6, -6]]);
  });

  it('answers a call aborted while queued at once with the reason, and the others still run', async () => {
    const running = pool.run(fp32Identity(1), ['y_FP32'], undefined);
    const c = new AbortController();
    const queued = pool.run(fp32Identity(2), ['y_FP32'], c.signal);
    const reason = new GatewayError('client_closed', 'gone');
    c.abort(reason);
    await assert.rejects(queued, (err) => err === reason);
    const next = pool.run(fp32Identity(3), ['y_FP32'], undefined);
    assert.deepEqual(Array.from((await running)[0]!.data as Float32Array), [1, -1]);
    assert.deepEqual(Array.from((await next)[0]!.data as Float32Array), [3, -3]);
  });

  it('answers a call aborted while running with the reason and drops its late result', async () => {
    const c = new AbortController();
    const running = pool.run(fp32Identity(7), ['y_FP32'], c.signal);
    c.abort(new Error('stop'));
    await assert.rejects(running, /stop/);
    // the next call waits for the worker and gets its own answer, not the dropped one
    const next = await pool.run(fp32Identity(8), ['y_FP32'], undefined);
    assert.deepEqual(Array.from(next[0]!.data as Float32Array), [8, -8]);
  });

  it('ignores an abort after the answer', async () => {
    const c = new AbortController();
    const out = await pool.run(fp32Identity(9), ['y_FP32'], c.signal);
    c.abort();
    assert.deepEqual(Array.from(out[0]!.data as Float32Array), [9, -9]);
  });

});

describe('SessionPool datatypes', () => {
  const pool = new SessionPool(options(identityPath));
  before(() => pool.start(1));
  after(() => pool.close());

  it('pushes every datatype through the runtime and back unchanged (FP16 as half bits, INT64 beyond 2^53)', async () => {
    const big = 2n ** 53n + 1n;
    const enc = new TextEncoder();
    const inputs: Tensor[] = [
      { name: 'x_BOOL', datatype: 'BOOL', shape: [1, 2], data: Uint8Array.of(1, 0) },
      { name: 'x_UINT8', datatype: 'UINT8', shape: [1, 2], data: Uint8Array.of(0, 255) },
      { name: 'x_UINT16', datatype: 'UINT16', shape: [1, 2], data: Uint16Array.of(1, 65535) },
      { name: 'x_UINT32', datatype: 'UINT32', shape: [1, 2], data: Uint32Array.of(1, 4294967295) },
      { name: 'x_UINT64', datatype: 'UINT64', shape: [1, 2], data: BigUint64Array.of(big, 2n ** 64n - 1n) },
      { name: 'x_INT8', datatype: 'INT8', shape: [1, 2], data: Int8Array.of(-128, 127) },
      { name: 'x_INT16', datatype: 'INT16', shape: [1, 2], data: Int16Array.of(-32768, 32767) },
      { name: 'x_INT32', datatype: 'INT32', shape: [1, 2], data: Int32Array.of(-1, 2147483647) },
      { name: 'x_INT64', datatype: 'INT64', shape: [1, 2], data: BigInt64Array.of(big, -big) },
      { name: 'x_FP16', datatype: 'FP16', shape: [1, 2], data: Uint16Array.of(0x3c00, 0xc000) },
      { name: 'x_FP32', datatype: 'FP32', shape: [1, 2], data: Float32Array.of(1.5, -2.25) },
      { name: 'x_FP64', datatype: 'FP64', shape: [1, 2], data: Float64Array.of(Math.PI, -Math.E) },
      { name: 'x_BYTES', datatype: 'BYTES', shape: [1, 2], data: [enc.encode('héllo'), enc.encode('')] },
    ];
    const outs = await pool.run(inputs, undefined, undefined);
    for (const input of inputs) {
      const out = outs.find((o) => o.name === `y_${input.datatype}`);
      assert.ok(out, input.datatype);
      assert.equal(out.datatype, input.datatype);
      assert.deepEqual(out.shape, [1, 2]);
      assert.equal(Object.getPrototypeOf(out.data), Object.getPrototypeOf(input.data), input.datatype);
      const values = (t: Tensor): unknown[] => (Array.isArray(t.data) ? t.data.map((b) => Array.from(b)) : Array.from(t.data as ArrayLike<unknown>));
      assert.deepEqual(values(out), values(input), input.datatype);
    }
  });

  it('turns BYTES that are not UTF-8 into bad_tensor', async () => {
    const bytes = new SessionPool(options(join(dir, 'bytes.onnx')));
    writeFileSync(join(dir, 'bytes.onnx'), identityModel(['BYTES']));
    await bytes.start(1);
    try {
      const t: Tensor = { name: 'x_BYTES', datatype: 'BYTES', shape: [1, 2], data: [Uint8Array.of(0xff), Uint8Array.of(0x61)] };
      await assert.rejects(bytes.run([t], ['y_BYTES'], undefined), isGateway('bad_tensor', /input "x_BYTES": element 0 is not valid UTF-8/));
    } finally {
      await bytes.close();
    }
  });
});

describe('SessionPool workers that die', () => {
  it('fails the call sent to a dying worker with backend_error, replaces the worker and serves on', async () => {
    const pool = new SessionPool(options(irisPath));
    const from = started.length;
    await pool.start(1);
    try {
      const first = started[from]!;
      const exited = once(first, 'exit');
      void first.terminate();
      // sent before the pool hears of the exit: it goes to the dying worker
      await assert.rejects(pool.run(iris(setosa), undefined, undefined), isGateway('backend_error', /the ONNX worker for .*model\.onnx exited/));
      await exited;
      assert.equal(started.length - from, 2, 'a replacement worker was started');
      assert.deepEqual(labels(await pool.run(iris(virginica), ['label'], undefined)), [2n]);
    } finally {
      await pool.close();
    }
  });
});

describe('SessionPool start', () => {
  it('starts at least one worker when asked for none', async () => {
    const pool = new SessionPool(options(irisPath));
    const from = started.length;
    await pool.start(0);
    try {
      assert.equal(started.length - from, 1);
      assert.deepEqual(labels(await pool.run(iris(setosa), ['label'], undefined)), [0n]);
    } finally {
      await pool.close();
    }
  });

  it('rejects with internal naming the file when the model does not load', async () => {
    const missing = join(dir, 'missing.onnx');
    await assert.rejects(new SessionPool(options(missing)).start(2), isGateway('internal', new RegExp(`^${missing.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: .*(doesn't exist|No such file)`, 'i')));
    await assert.rejects(new SessionPool(options(garbagePath)).start(1), (err: unknown) => {
      assert.ok(err instanceof GatewayError);
      assert.equal(err.code, 'internal');
      assert.ok(err.message.startsWith(`${garbagePath}: `), err.message);
      assert.doesNotMatch(err.message, /\n/);
      return true;
    });
  });
});

describe('SessionPool close', () => {
  it('rejects queued and running calls with backend_unavailable, ends the workers and refuses new calls', async () => {
    const pool = new SessionPool(options(fp32Path));
    const from = started.length;
    await pool.start(1);
    const workers = started.slice(from);
    const exits = workers.map((w) => once(w, 'exit'));
    const calls = [1, 2, 3, 4].map((v) => pool.run(fp32Identity(v), undefined, undefined));
    const settled = Promise.allSettled(calls);
    await pool.close();
    await Promise.all(exits);
    for (const r of await settled) {
      assert.equal(r.status, 'rejected');
      const err = (r as PromiseRejectedResult).reason;
      assert.ok(err instanceof GatewayError);
      assert.equal(err.code, 'backend_unavailable');
      assert.equal(err.status, 503);
      assert.match(err.message, /the ONNX backend is shutting down/);
    }
    await assert.rejects(pool.run(fp32Identity(5), undefined, undefined), isGateway('backend_unavailable', /shutting down/));
  });

  it('closes an idle pool and can be called with nothing started', async () => {
    await new SessionPool(options(irisPath)).close();
    const pool = new SessionPool(options(irisPath));
    await pool.start(2);
    await pool.close();
    await assert.rejects(pool.run(iris(setosa), undefined, undefined), isGateway('backend_unavailable', /shutting down/));
  });
});

it('close() during a worker replacement leaves no worker running', async () => {
  const started: Worker[] = [];
  const on = (w: Worker): void => void started.push(w);
  process.on('worker', on);
  const path = fileURLToPath(new URL('../../../backends/onnx/iris/1/model.onnx', import.meta.url));
  const pool = new SessionPool({ path, executionProviders: ['cpu'], intraOpThreads: 1, interOpThreads: 1, spinning: false, graphOptimizationLevel: 'all' } as WorkerOptions);
  await pool.start(1);
  const exited = once(started[0]!, 'exit');
  void started[0]!.terminate();
  await exited; // its replacement is loading now
  await pool.close();
  process.off('worker', on);
  assert.ok(started[1] !== undefined, 'a replacement was started');
  const gone = await Promise.race([once(started[1]!, 'exit').then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 3000).unref())]);
  if (!gone) await started[1]!.terminate();
  assert.equal(gone, true, 'the replacement worker outlived close()');
});
