// gateway/early-workers.ts: a config whose text names an onnx backend (block or flow style) gets
// one ONNX worker before its schemas load; another config gets none; and the worker is ended
// once the validated config turns out to have no onnx backend that loads at start. A small plain
// config's local model is preloaded on that worker from the text, with exactly the options the
// validated config gives: the model's session pool takes it and starts no thread of its own.

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import type { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { workerOptions } from '../../src/backends/onnx/load.ts';
import { onnxSchema } from '../../src/backends/onnx/onnx.schema.ts';
import { SessionPool } from '../../src/backends/onnx/session-pool.ts';
import { endSpareWorkers } from '../../src/backends/onnx/spare-workers.ts';
import { modelsOnBackend, settleEarlyWorkers, startEarlyWorkers } from '../../src/gateway/early-workers.ts';

const dir = mkdtempSync(join(tmpdir(), 'early-workers-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const started: Worker[] = [];
const onWorker = (w: Worker): void => void started.push(w);
process.on('worker', onWorker);
after(() => { process.off('worker', onWorker); });

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

it('starts none for a config without an onnx backend, or a missing file', async () => {
  startEarlyWorkers(file('http.yaml', 'backends:\n  b: { type: http, url: "http://x" }\n  # type: onnx (a comment)\n'));
  startEarlyWorkers(join(dir, 'missing.yaml'));
  await new Promise((r) => setTimeout(r, 100)); // a worker is announced within a tick or two of its start
  assert.equal(started.length, 0);
});

for (const [style, text] of [['block', 'backends:\n  local:\n    type: onnx\n    modelRepository: m\n'], ['flow', 'backends: { local: { type: onnx, modelRepository: m } }\n']] as const) {
  it(`starts one for an onnx backend in ${style} style, ended when the validated config has none that loads at start`, async () => {
    const announced = once(process, 'worker');
    startEarlyWorkers(file(`${style}.yaml`, text));
    const [worker] = await announced as [Worker];
    const exited = once(worker, 'exit');
    settleEarlyWorkers({ backends: { local: { type: 'onnx', lazy: true } as { type: string } } });
    assert.deepEqual(await exited, [0]);
  });
}

const irisPath = fileURLToPath(new URL('../../backends/onnx/iris/1/model.onnx', import.meta.url));

it('preloads a plain config\'s local model from its text, ${VAR} expanded; the pool of the validated backend takes that worker', async () => {
  const announced = once(process, 'worker');
  const text = 'backends:\n  local:\n    type: onnx\n    modelPath: ${IRIS_FILE}\n    intraOpThreads: 2\nmodels:\n  iris: { targets: [ { backend: local } ] }\n';
  startEarlyWorkers(file('preload.yaml', text), { IRIS_FILE: irisPath });
  await announced;
  const count = started.length;
  await new Promise((r) => setTimeout(r, 500)); // the guess's modules load and its model is posted
  // Preloaded: a pool of other options does not take it (it starts its own thread); the pool of
  // the validated backend's options does (and starts none).
  const other = new SessionPool(workerOptions(irisPath, onnxSchema.parse({ type: 'onnx', modelPath: irisPath, intraOpThreads: 1 })));
  const pool = new SessionPool(workerOptions(irisPath, onnxSchema.parse({ type: 'onnx', modelPath: irisPath, intraOpThreads: 2 })));
  try {
    await other.start(1);
    assert.equal(started.length, count + 1, 'a pool of other options took the early worker: it was not preloaded');
    await pool.start(1);
    assert.equal(started.length, count + 1, 'the pool started a worker of its own: the early worker was not preloaded with its model');
    const out = await pool.run([{ name: 'input', datatype: 'FP32', shape: [1, 4], data: Float32Array.of(5.1, 3.5, 1.4, 0.2) }], undefined, undefined);
    assert.equal((out.find((t) => t.name === 'label')!.data as BigInt64Array)[0], 0n);
  } finally {
    await Promise.all([other.close(), pool.close()]);
    endSpareWorkers();
  }
});

it('a config whose onnx block its schema refuses gets the worker but no preload', async () => {
  const announced = once(process, 'worker');
  startEarlyWorkers(file('refused.yaml', `backends:\n  local:\n    type: onnx\n    modelPath: ${irisPath}\n    intraOpThreads: many\n`));
  const [worker] = await announced as [Worker];
  await new Promise((r) => setTimeout(r, 500));
  // Not preloaded: a pool with other options takes it as an idle spare (no thread of its own).
  const count = started.length;
  const pool = new SessionPool(workerOptions(irisPath, onnxSchema.parse({ type: 'onnx', modelPath: irisPath, intraOpThreads: 3 })));
  try {
    await pool.start(1);
    assert.equal(started.length, count, 'the idle early worker was not taken: it had been preloaded with a guess the schema refuses');
  } finally {
    await pool.close();
  }
  assert.ok(worker);
});

it('names the models on a backend from a config validated or not: a target\'s model, else its own; a graph or a malformed entry names none', () => {
  const models = {
    a: { targets: [{ backend: 'local' }, { backend: 'other' }] },
    b: { targets: [{ backend: 'local', model: 'iris' }] },
    g: { graph: { sequence: ['a'] } },
    bad: { targets: 'local' },
    odd: [1, 2],
  };
  assert.deepEqual(modelsOnBackend(models, 'local'), ['a', 'iris']);
  assert.deepEqual(modelsOnBackend(models, 'other'), ['a']);
  assert.deepEqual(modelsOnBackend(undefined, 'local'), []);
});
