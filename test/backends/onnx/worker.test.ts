import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { identityModel } from '../../../backends/onnx/build-models.ts';
import type { RunCall, WorkerMessage, WorkerOptions } from '../../../src/backends/onnx/worker.ts';
import type { Tensor } from '../../../src/tensors/tensor.ts';

// The worker is driven here over its message protocol, as the session pool drives it.
const workerUrl = new URL('../../../src/backends/onnx/worker.ts', import.meta.url);
const irisPath = fileURLToPath(new URL('../../../backends/onnx/iris/1/model.onnx', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'onnx-worker-'));
const fp16Path = join(dir, 'fp16.onnx');
const bytesPath = join(dir, 'bytes.onnx');

function options(path: string, over: Partial<WorkerOptions> = {}): WorkerOptions {
  return { path, executionProviders: ['cpu'], intraOpThreads: 1, interOpThreads: 1, spinning: false, graphOptimizationLevel: 'all', ...over };
}

/** A worker with a queue of the messages it posted. */
class Driven {
  readonly worker: Worker;
  readonly exit: Promise<unknown[]>;
  #messages: WorkerMessage[] = [];
  #waiting: Array<(m: WorkerMessage) => void> = [];

  constructor(opts: WorkerOptions) {
    this.worker = new Worker(workerUrl, { workerData: opts });
    this.exit = once(this.worker, 'exit');
    this.worker.on('message', (m: WorkerMessage) => {
      const w = this.#waiting.shift();
      if (w) w(m);
      else this.#messages.push(m);
    });
  }

  next(): Promise<WorkerMessage> {
    const m = this.#messages.shift();
    return m ? Promise.resolve(m) : new Promise((resolve) => this.#waiting.push(resolve));
  }

  send(call: RunCall | 'close'): void {
    this.worker.postMessage(call);
  }

  /** call sends one RunCall and waits for the next message, as the pool does (one call at a time). */
  async call(call: RunCall): Promise<WorkerMessage & { kind: 'reply' }> {
    this.send(call);
    const m = await this.next();
    assert.equal(m.kind, 'reply', m.kind === 'load_failed' ? m.message : m.kind);
    return m as WorkerMessage & { kind: 'reply' };
  }

  async close(): Promise<void> {
    this.send('close');
    await this.exit;
  }
}

const irisInput = (...rows: number[][]): Tensor[] => [{ name: 'input', datatype: 'FP32', shape: [rows.length, 4], data: Float32Array.from(rows.flat()) }];

before(() => {
  writeFileSync(fp16Path, identityModel(['FP16']));
  writeFileSync(bytesPath, identityModel(['BYTES']));
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('worker with the iris model', () => {
  let w: Driven;
  before(() => { w = new Driven(options(irisPath)); });
  after(() => w.close());

  it('first posts loaded with the provider, the declared inputs and outputs, and how long the session took', async () => {
    const m = await w.next();
    assert.ok(m.kind === 'loaded' && Number.isInteger(m.sessionMs) && m.sessionMs >= 0);
    assert.deepEqual({ ...m, sessionMs: 0 }, {
      sessionMs: 0,
      kind: 'loaded', provider: 'cpu', skipped: [],
      inputs: [{ name: 'input', isTensor: true, type: 'float32', shape: ['batch', 4] }],
      outputs: [{ name: 'label', isTensor: true, type: 'int64', shape: ['batch'] }, { name: 'probabilities', isTensor: true, type: 'float32', shape: ['batch', 3] }],
    });
  });

  it('answers a call with its id and every output, in the session order', async () => {
    w.send({ id: 7, inputs: irisInput([5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]) });
    const m = await w.next();
    assert.equal(m.kind, 'reply');
    if (m.kind !== 'reply') return;
    assert.equal(m.id, 7);
    assert.equal(m.error, undefined);
    assert.deepEqual(m.outputs!.map((t) => [t.name, t.datatype, t.shape]), [['label', 'INT64', [2]], ['probabilities', 'FP32', [2, 3]]]);
    assert.deepEqual(Array.from(m.outputs![0]!.data as BigInt64Array), [0n, 2n]);
    assert.ok(m.outputs![1]!.data instanceof Float32Array);
  });

  it('answers each call with its id, fetching only the outputs asked for, in the order asked', async () => {
    const replies = [
      await w.call({ id: 1, inputs: irisInput([6.7, 3.0, 5.2, 2.3]), outputs: ['label'] }),
      await w.call({ id: 2, inputs: irisInput([5.1, 3.5, 1.4, 0.2]), outputs: ['probabilities'] }),
      await w.call({ id: 3, inputs: irisInput([5.1, 3.5, 1.4, 0.2]), outputs: ['probabilities', 'label'] }),
    ];
    assert.deepEqual(replies.map((r) => [r.id, r.outputs?.map((t) => t.name)]), [
      [1, ['label']], [2, ['probabilities']], [3, ['probabilities', 'label']],
    ]);
    assert.deepEqual(Array.from(replies[0]!.outputs![0]!.data as BigInt64Array), [2n]);
  });

  it('gives outputs that own their buffers (moved to the pool, not shared)', async () => {
    const r = await w.call({ id: 4, inputs: irisInput([6.7, 3.0, 5.2, 2.3]) });
    for (const t of r.outputs!) {
      const v = t.data as ArrayBufferView;
      assert.equal(v.byteOffset, 0, t.name);
      assert.equal(v.byteLength, v.buffer.byteLength, t.name);
    }
  });

  it('answers a failed run with an error reply, its first line only, and keeps serving', async () => {
    const a = await w.call({ id: 10, inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 5], data: new Float32Array(5) }] });
    const b = await w.call({ id: 11, inputs: irisInput([5.1, 3.5, 1.4, 0.2]), outputs: ['nope'] });
    const c = await w.call({ id: 12, inputs: irisInput([5.1, 3.5, 1.4, 0.2]), outputs: ['label'] });
    assert.equal(a.id, 10);
    assert.equal(a.outputs, undefined);
    assert.equal(a.error!.code, 'backend_error');
    assert.match(a.error!.message, /invalid dimensions/i);
    assert.doesNotMatch(a.error!.message, /\n|\x1b\[/);
    assert.equal(b.id, 11);
    assert.match(b.error!.message, /invalid output name: nope/);
    assert.equal(c.id, 12);
    assert.equal(c.error, undefined);
    assert.deepEqual(Array.from(c.outputs![0]!.data as BigInt64Array), [0n]);
  });
});

describe('worker datatypes', () => {
  it('takes and gives FP16 as raw half bits (the native binding never sees a Float16Array)', async () => {
    const w = new Driven(options(fp16Path));
    try {
      assert.equal((await w.next()).kind, 'loaded');
      const bits = Uint16Array.of(0x3c00, 0xc000, 0x7bff, 0x0001); // 1, -2, 65504, smallest subnormal
      const m = await w.call({ id: 1, inputs: [{ name: 'x_FP16', datatype: 'FP16', shape: [2, 2], data: bits }] });
      assert.equal(m.error, undefined, JSON.stringify(m.error));
      const out = m.outputs![0]!;
      assert.equal(out.datatype, 'FP16');
      assert.deepEqual(out.shape, [2, 2]);
      assert.ok(out.data instanceof Uint16Array);
      assert.deepEqual(Array.from(out.data), Array.from(bits));
    } finally {
      await w.close();
    }
  });

  it('answers BYTES as UTF-8 and refuses invalid UTF-8 with a bad_tensor error reply', async () => {
    const w = new Driven(options(bytesPath));
    try {
      assert.equal((await w.next()).kind, 'loaded');
      const enc = new TextEncoder();
      const ok = await w.call({ id: 1, inputs: [{ name: 'x_BYTES', datatype: 'BYTES', shape: [1, 2], data: [enc.encode('日本'), enc.encode('a')] }] });
      const bad = await w.call({ id: 2, inputs: [{ name: 'x_BYTES', datatype: 'BYTES', shape: [1, 2], data: [enc.encode('ok'), Uint8Array.of(0xc3)] }] });
      assert.equal(bad.id, 2);
      assert.deepEqual((ok.outputs![0]!.data as Uint8Array[]).map((b) => new TextDecoder().decode(b)), ['日本', 'a']);
      assert.deepEqual(bad.error, { code: 'bad_tensor', message: 'input "x_BYTES": element 1 is not valid UTF-8; ONNX string tensors hold text' });
    } finally {
      await w.close();
    }
  });
});

describe('worker lifecycle', () => {
  it('ends by itself on "close", with exit code 0', async () => {
    const w = new Driven(options(irisPath));
    assert.equal((await w.next()).kind, 'loaded');
    w.send('close');
    assert.deepEqual(await w.exit, [0]);
  });

  it('posts load_failed with a one-line reason for a missing or broken model, and ends', async () => {
    const garbage = join(dir, 'garbage.onnx');
    writeFileSync(garbage, 'not a model');
    for (const path of [join(dir, 'missing.onnx'), garbage]) {
      const w = new Driven(options(path));
      const m = await w.next();
      assert.equal(m.kind, 'load_failed', path);
      assert.ok(m.kind === 'load_failed');
      assert.ok(m.message.length > 0);
      assert.doesNotMatch(m.message, /\n|\x1b\[/);
      await w.exit;
    }
  });

  it('falls back to cpu when cuda cannot load, listing why cuda was skipped', async () => {
    const w = new Driven(options(irisPath, { executionProviders: ['cuda'] }));
    try {
      const m = await w.next();
      assert.ok(m.kind === 'loaded', JSON.stringify(m));
      if (m.provider === 'cpu') {
        assert.equal(m.skipped.length, 1);
        assert.match(m.skipped[0]!, /^cuda: \S/);
        assert.doesNotMatch(m.skipped[0]!, /\n|\x1b\[/);
      } else {
        assert.equal(m.provider, 'cuda'); // a machine with working CUDA libraries
        assert.deepEqual(m.skipped, []);
      }
    } finally {
      await w.close();
    }
  });

  it('honours the session options it is given', async () => {
    const w = new Driven(options(irisPath, { intraOpThreads: 0, interOpThreads: 2, spinning: true, graphOptimizationLevel: 'disabled' }));
    try {
      assert.equal((await w.next()).kind, 'loaded');
      const m = await w.call({ id: 1, inputs: irisInput([6.7, 3.0, 5.2, 2.3]), outputs: ['label'] });
      assert.deepEqual(Array.from(m.outputs![0]!.data as BigInt64Array), [2n]);
    } finally {
      await w.close();
    }
  });
});
