// spare-workers.ts: a worker started before its model is known is the one the first pool takes
// (no thread of its own started then), serves the model the pool names, and a spare nobody took
// ends when asked; a pool with no spare waiting starts its own worker as before. A spare preloaded
// with a model serves the pool of that very model, even when it loaded before the pool came; one
// preloaded with another is left, and ended. Asking twice for a preload of the same model (the
// early guess from the config's text, then the prestart of the validated config) loads it once.

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Worker } from 'node:worker_threads';
import { SessionPool } from '../../../src/backends/onnx/session-pool.ts';
import { endSpareWorkers, preloadSpareWorkers, startSpareWorkers } from '../../../src/backends/onnx/spare-workers.ts';
import type { WorkerOptions } from '../../../src/backends/onnx/worker.ts';

const irisPath = fileURLToPath(new URL('../../../backends/onnx/iris/1/model.onnx', import.meta.url));
const options: WorkerOptions = { path: irisPath, executionProviders: ['cpu'], intraOpThreads: 1, interOpThreads: 1, spinning: false, graphOptimizationLevel: 'all' };
const setosa = [{ name: 'input', datatype: 'FP32' as const, shape: [1, 4], data: Float32Array.of(5.1, 3.5, 1.4, 0.2) }];

const started: Worker[] = [];
const onWorker = (w: Worker): void => void started.push(w);
process.on('worker', onWorker);
after(() => { process.off('worker', onWorker); });

it('the first pool takes the spare, which loads the pool\'s model; the next pool starts its own', async () => {
  const announced = once(process, 'worker');
  startSpareWorkers(1);
  startSpareWorkers(1); // already one waiting: no second
  const [spare] = await announced as [Worker];
  assert.equal(started.length, 1);
  const first = new SessionPool(options);
  const second = new SessionPool(options);
  try {
    const info = await first.start(1);
    assert.equal(started.length, 1, 'the pool started a worker of its own');
    assert.deepEqual(info.inputs.map((i) => i.name), ['input']);
    const out = await first.run(setosa, undefined, undefined);
    assert.equal((out.find((t) => t.name === 'label')!.data as BigInt64Array)[0], 0n);
    await second.start(1);
    assert.equal(started.length, 2);
    assert.notEqual(started[1], spare);
  } finally {
    await Promise.all([first.close(), second.close()]);
  }
});

it('a spare nobody took ends when the spares are ended', async () => {
  const announced = once(process, 'worker');
  startSpareWorkers(1);
  const [spare] = await announced as [Worker];
  // Sent at once, while the runtime still loads: it waits in the port, and ends the thread once read.
  endSpareWorkers();
  const [code] = await once(spare, 'exit');
  assert.equal(code, 0);
});

it('a spare preloaded with the pool\'s model is taken, its load already done; one preloaded with another is not', async () => {
  const announced = once(process, 'worker');
  preloadSpareWorkers(options, 1);
  const [preloaded] = await announced as [Worker];
  const other = once(process, 'worker');
  preloadSpareWorkers({ ...options, intraOpThreads: 2 }, 1);
  const [elsewhere] = await other as [Worker];
  const count = started.length;
  // Its 'loaded' message comes before any pool exists: held for the pool that takes it.
  await new Promise((r) => setTimeout(r, 1000));
  const pool = new SessionPool(options);
  try {
    await pool.start(1);
    assert.equal(started.length, count, 'the pool started a worker of its own');
    const out = await pool.run(setosa, undefined, undefined);
    assert.equal((out.find((t) => t.name === 'label')!.data as BigInt64Array)[0], 0n);
    const exited = once(elsewhere, 'exit');
    endSpareWorkers();
    assert.deepEqual(await exited, [0]);
    assert.notEqual(preloaded, elsewhere);
  } finally {
    await pool.close();
  }
});

it('a second preload of the same options starts no second worker, even once the first was taken', async () => {
  const same = { ...options, intraOpThreads: 3 };
  const announced = once(process, 'worker');
  preloadSpareWorkers(same, 1);
  await announced;
  const count = started.length;
  preloadSpareWorkers(same, 1);
  const pool = new SessionPool(same);
  try {
    await pool.start(1);
    preloadSpareWorkers(same, 1); // after the pool took it
    await new Promise((r) => setTimeout(r, 200)); // a worker is announced within a tick or two of its start
    assert.equal(started.length, count, 'a second worker was started for the same model');
    const out = await pool.run(setosa, undefined, undefined);
    assert.equal((out.find((t) => t.name === 'label')!.data as BigInt64Array)[0], 0n);
  } finally {
    await pool.close();
  }
});
