// spare-workers.ts — ONNX worker threads started before the backend's start. At a cold start
// the gateway's own modules, its build and its listen take the main thread for tens of ms after
// the config is read; a spare started then loads onnxruntime on another core meanwhile (and,
// preloaded, the model file prestart.ts found), and the session pool for that model takes it
// instead of starting a thread then. Spares nobody took are ended once the backends have started.

import { isDeepStrictEqual } from 'node:util';
import { Worker } from 'node:worker_threads';
import type { WorkerMessage, WorkerOptions } from './worker.ts';

/** workerUrl is the worker_threads entry every session runs in. */
export const workerUrl = new URL('./worker.ts', import.meta.url);

interface Spare {
  worker: Worker;
  failed: boolean;
  /** Detaches what this file listens to (never removeAllListeners: a Worker's own would go, and its messages with them). */
  detach(): void;
  /** Set once preloaded: what the worker loads. */
  options?: WorkerOptions;
  /** The worker's first message (loaded or load_failed), held until a pool takes it. */
  first?: WorkerMessage;
}
const spares: Spare[] = [];
// The options every preload was asked for (preloadSpareWorkers runs at the process's first start only).
const preloads: WorkerOptions[] = [];

/** Taken is a spare handed to a pool, with its first message when that came already. */
export interface Taken { worker: Worker; first?: WorkerMessage }

/** startSpareWorkers starts workers until `count` spares wait. */
export function startSpareWorkers(count: number): void {
  while (spares.length < count) {
    const worker = new Worker(workerUrl);
    // A spare that failed (the runtime did not load) is skipped; its pool starts a worker of its own, which reports why.
    const failed = (): void => { spare.failed = true; };
    const held = (msg: WorkerMessage): void => { spare.first ??= msg; };
    const spare: Spare = { worker, failed: false, detach: () => { worker.off('error', failed).off('exit', failed).off('message', held); } };
    worker.once('error', failed).once('exit', failed).on('message', held);
    spare.worker.unref(); // a spare alone does not keep the process up
    spares.push(spare);
  }
}

/**
 * preloadSpareWorkers has `count` spares load `options` now (idle spares first, new ones beyond);
 * spares already asked to load the same options count (the early guess and the prestart may both ask).
 */
export function preloadSpareWorkers(options: WorkerOptions, count: number): void {
  // Counted over every preload of the process, taken ones too: a pool may take the first before the second asks.
  const already = preloads.filter((o) => isDeepStrictEqual(o, options)).length;
  for (let i = already; i < count; i++) {
    preloads.push(options);
    let spare = spares.find((s) => s.options === undefined && !s.failed);
    if (spare === undefined) {
      startSpareWorkers(spares.length + 1);
      spare = spares[spares.length - 1]!;
    }
    spare.options = options;
    spare.worker.postMessage(options);
  }
}

/**
 * takeSpareWorker gives a pool a spare: one preloaded with these very options (with its first
 * message if it came), else an idle one, posting it the options; undefined when none fits.
 */
export function takeSpareWorker(options: WorkerOptions): Taken | undefined {
  const fits = (s: Spare): boolean => !s.failed && s.options !== undefined && isDeepStrictEqual(s.options, options);
  const at = spares.findIndex(fits) >= 0 ? spares.findIndex(fits) : spares.findIndex((s) => !s.failed && s.options === undefined);
  if (at < 0) return undefined;
  const [spare] = spares.splice(at, 1) as [Spare];
  spare.detach();
  spare.worker.ref();
  if (spare.options === undefined) spare.worker.postMessage(options);
  return { worker: spare.worker, ...(spare.first === undefined ? {} : { first: spare.first }) };
}

/** endSpareWorkers ends the spares nobody took (once loaded: terminating a thread inside the runtime's load is not safe). */
export function endSpareWorkers(): void {
  for (const spare of spares.splice(0)) {
    spare.detach();
    if (!spare.failed) spare.worker.postMessage('close');
  }
}
