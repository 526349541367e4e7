// spare-workers.ts — ONNX worker threads started before their model is known. At a cold start
// the gateway's own modules, its build and its listen take the main thread for tens of ms after
// the config is read; a spare started then loads onnxruntime on another core meanwhile, and the
// first session pool takes it (posting the model's options) instead of starting a thread then.
// Spares nobody took are ended once the backends have started.

import { Worker } from 'node:worker_threads';
import type { WorkerOptions } from './worker.ts';

/** workerUrl is the worker_threads entry every session runs in. */
export const workerUrl = new URL('./worker.ts', import.meta.url);

interface Spare { worker: Worker; failed: boolean }
const spares: Spare[] = [];

/** startSpareWorkers starts workers until `count` spares wait. */
export function startSpareWorkers(count: number): void {
  while (spares.length < count) {
    const spare: Spare = { worker: new Worker(workerUrl), failed: false };
    // A spare that failed (the runtime did not load) is skipped; its pool starts a worker of its own, which reports why.
    const failed = (): void => { spare.failed = true; };
    spare.worker.once('error', failed).once('exit', failed);
    spare.worker.unref(); // a spare alone does not keep the process up
    spares.push(spare);
  }
}

/** takeSpareWorker hands a waiting spare its model's options, or gives undefined when none waits. */
export function takeSpareWorker(options: WorkerOptions): Worker | undefined {
  for (let spare = spares.shift(); spare !== undefined; spare = spares.shift()) {
    spare.worker.removeAllListeners();
    if (spare.failed) continue;
    spare.worker.ref();
    spare.worker.postMessage(options);
    return spare.worker;
  }
  return undefined;
}

/** endSpareWorkers ends the spares nobody took (once loaded: terminating a thread inside the runtime's load is not safe). */
export function endSpareWorkers(): void {
  for (const spare of spares.splice(0)) {
    spare.worker.removeAllListeners();
    if (!spare.failed) spare.worker.postMessage('close');
  }
}
