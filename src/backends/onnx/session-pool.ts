// session-pool.ts — a fixed set of workers, each owning one session of the same model file.
// Calls go to an idle worker or wait in a FIFO queue; an aborted call leaves the queue at once,
// and a call aborted while running is answered with the abort reason and its late result is
// dropped. A worker that dies fails its call and is replaced.

import { Worker } from 'node:worker_threads';
import { GatewayError, type ErrorCode, errorCodes } from '../../errors.ts';
import type { Tensor } from '../../tensors/tensor.ts';
import { transferables } from './ort-tensor.ts';
import { takeSpareWorker, workerUrl } from './spare-workers.ts';
import type { RunCall, ValueInfo, WorkerMessage, WorkerOptions } from './worker.ts';

/** How long close() waits for a worker to finish its current run before terminating it. */
const closeTimeoutMs = 30_000;

/** SessionInfo is what the first worker learned when it loaded the model. */
export interface SessionInfo {
  provider: string;
  /** Providers tried before the one in use, each with the runtime's reason. */
  skipped: string[];
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  /** How long the session took to create, in its worker (a preloaded one's began before the pool). */
  sessionMs: number;
}

interface Job {
  inputs: Tensor[];
  outputs: string[] | undefined;
  /** Whether the input buffers belong to this call and may be moved to the worker. */
  owned: boolean;
  signal: AbortSignal | undefined;
  resolve(t: Tensor[]): void;
  reject(e: unknown): void;
  onAbort?: () => void;
}

interface Slot {
  worker: Worker;
  job: Job | undefined;
  id: number;
}

/** SessionPool runs inferences of one model file on `size` worker threads. */
export class SessionPool {
  #options: WorkerOptions;
  #slots: Slot[] = [];
  #queue: Job[] = [];
  #closing = false;
  #nextId = 1;

  constructor(options: WorkerOptions) {
    this.#options = options;
  }

  /** start launches size workers and resolves with the session description once all have loaded. */
  async start(size: number): Promise<SessionInfo> {
    const infos = await Promise.all(Array.from({ length: Math.max(1, size) }, () => this.#spawn()));
    return infos[0]!;
  }

  /** run infers on the next free worker; owned inputs have their buffers transferred, not copied. */
  run(inputs: Tensor[], outputs: string[] | undefined, signal: AbortSignal | undefined, owned = false): Promise<Tensor[]> {
    if (this.#closing) return Promise.reject(new GatewayError('backend_unavailable', 'the ONNX backend is shutting down'));
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<Tensor[]>((resolve, reject) => {
      const job: Job = { inputs, outputs, owned, signal, resolve, reject };
      if (signal !== undefined) {
        job.onAbort = () => {
          const i = this.#queue.indexOf(job);
          if (i >= 0) this.#queue.splice(i, 1);
          // A running job keeps its worker busy until the runtime returns; the result is dropped.
          job.resolve = () => {};
          job.reject = () => {};
          reject(signal.reason);
        };
        signal.addEventListener('abort', job.onAbort, { once: true });
      }
      this.#queue.push(job);
      this.#dispatch();
    });
  }

  /** close ends every worker and fails what is still queued or running. */
  async close(): Promise<void> {
    this.#closing = true;
    const err = new GatewayError('backend_unavailable', 'the ONNX backend is shutting down');
    for (const job of this.#queue.splice(0)) finish(job, undefined, err);
    await Promise.all(this.#slots.map(async (s) => {
      if (s.job !== undefined) finish(s.job, undefined, err);
      s.job = undefined;
      // Ask the worker to end after its current run: terminating a thread inside session.run
      // takes the whole process down. terminate() only if it does not end in time.
      const exited = new Promise<void>((resolve) => s.worker.once('exit', () => resolve()));
      s.worker.postMessage('close');
      const timer = setTimeout(() => void s.worker.terminate(), closeTimeoutMs);
      await exited;
      clearTimeout(timer);
    }));
    this.#slots = [];
  }

  #dispatch(): void {
    for (const slot of this.#slots) {
      if (this.#queue.length === 0) return;
      if (slot.job !== undefined) continue;
      const job = this.#queue.shift()!;
      slot.job = job;
      slot.id = this.#nextId++;
      const call: RunCall = { id: slot.id, inputs: job.inputs, ...(job.outputs === undefined ? {} : { outputs: job.outputs }) };
      try {
        slot.worker.postMessage(call, job.owned ? transferables(job.inputs) : []);
      } catch (err) {
        slot.job = undefined;
        finish(job, undefined, new GatewayError('bad_tensor', `the inputs cannot be sent to the ONNX worker: ${(err as Error).message}`));
      }
    }
  }

  #spawn(): Promise<SessionInfo> {
    return new Promise<SessionInfo>((resolve, reject) => {
      const spare = takeSpareWorker(this.#options);
      const worker = spare?.worker ?? new Worker(workerUrl, { workerData: this.#options });
      const slot: Slot = { worker, job: undefined, id: 0 };
      let loaded = false;
      const onMessage = (msg: WorkerMessage): void => {
        if (msg.kind === 'loaded') {
          loaded = true;
          if (this.#closing) {
            // A replacement that finished loading after close(): end it rather than serve.
            worker.postMessage('close');
            reject(new GatewayError('backend_unavailable', 'the ONNX backend is shutting down'));
            return;
          }
          this.#slots.push(slot);
          resolve({ provider: msg.provider, skipped: msg.skipped, inputs: msg.inputs, outputs: msg.outputs, sessionMs: msg.sessionMs });
          this.#dispatch();
        } else if (msg.kind === 'load_failed') {
          void worker.terminate();
          reject(new GatewayError('internal', `${this.#options.path}: ${msg.message}`));
        } else if (msg.id === slot.id && slot.job !== undefined) {
          const job = slot.job;
          slot.job = undefined;
          if (msg.error === undefined) finish(job, msg.outputs ?? [], undefined);
          else finish(job, undefined, runError(msg.error, this.#options.path));
          this.#dispatch();
        }
      };
      worker.on('message', onMessage);
      worker.on('error', (err) => {
        if (!loaded) reject(new GatewayError('internal', `${this.#options.path}: ${err.message}`));
        else if (slot.job !== undefined) finish(slot.job, undefined, new GatewayError('backend_error', `the ONNX worker for ${this.#options.path} crashed: ${err.message}`));
        slot.job = undefined;
      });
      worker.on('exit', () => {
        const i = this.#slots.indexOf(slot);
        if (i >= 0) this.#slots.splice(i, 1);
        if (slot.job !== undefined) finish(slot.job, undefined, new GatewayError('backend_error', `the ONNX worker for ${this.#options.path} exited`));
        slot.job = undefined;
        if (loaded && !this.#closing) this.#spawn().catch(() => {}); // replace it; the model loaded before
        else if (!loaded) reject(new GatewayError('internal', `${this.#options.path}: the worker exited while loading`));
      });
      // A preloaded spare may have loaded already: its message was held for this pool.
      if (spare?.first !== undefined) onMessage(spare.first);
    });
  }
}

function finish(job: Job, outputs: Tensor[] | undefined, err: unknown): void {
  if (job.onAbort !== undefined) job.signal?.removeEventListener('abort', job.onAbort);
  if (outputs !== undefined) job.resolve(outputs);
  else job.reject(err);
}

// Shape and type complaints from the runtime are the client's mistake (400); anything else
// is the backend failing (502).
const clientMistake = /invalid dimensions|invalid rank|unexpected input data type|input .* not found|invalid output name|shape mismatch|doesn't match|not valid UTF-8/i;

function runError(error: { code: string; message: string }, path: string): GatewayError {
  if (Object.hasOwn(errorCodes, error.code) && error.code !== 'backend_error') return new GatewayError(error.code as ErrorCode, error.message);
  if (clientMistake.test(error.message)) return new GatewayError('bad_tensor', error.message);
  return new GatewayError('backend_error', `onnxruntime failed on ${path}: ${error.message}`);
}
