// worker-pool.ts — user code on worker threads, so a slow or CPU-heavy transform never stalls
// the event loop (health checks, other models). Each worker loads the module once (its load());
// calls go to an idle worker or wait in a bounded FIFO queue. User code cannot be interrupted, so
// a call still running at its deadline has its worker terminated and replaced (a fresh worker
// loads again); a worker that dies fails its call and is replaced too.

import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import { GatewayError } from '../errors.ts';

/** WorkerReply is what a worker answers one call with. */
export type WorkerReply =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; error: { name: string; message: string; code?: string } };

/** WorkerEvent is any message a worker sends. */
export type WorkerEvent =
  | WorkerReply
  | { type: 'ready'; exports: Array<'preprocess' | 'postprocess' | 'combine'> }
  | { type: 'load_failed'; message: string }
  | { type: 'log'; level: 'info' | 'warn' | 'error' | 'debug'; args: unknown[] };

/** PoolOptions says what each worker runs and how many calls may wait. */
export interface PoolOptions {
  script: URL;
  workerData: unknown;
  size: number;
  maxQueue: number;
  /** Names the pool's user code in errors: "module transforms/iris.ts". */
  name: string;
  log: Logger;
}

interface Job {
  message: Record<string, unknown>;
  resolve(value: WorkerReply): void;
  reject(err: unknown): void;
  signal: AbortSignal;
  onAbort?: () => void;
}

interface Slot {
  worker: Worker;
  ready: boolean;
  job?: Job;
  loadFailed?: boolean;
}

// A worker replaced within this long of its start waits before the next start, so a module that
// crashes at import does not spin.
const respawnDelayMs = 1000;

/** WorkerPool runs calls to one module on `size` worker threads. */
export class WorkerPool {
  #opts: PoolOptions;
  #slots = new Set<Slot>();
  #queue: Job[] = [];
  #nextId = 1;
  #closed = false;
  #replaced = 0;
  #loadError: string | undefined;
  /** The functions the module exports, once a worker has loaded it. */
  exports: ReadonlyArray<'preprocess' | 'postprocess' | 'combine'> = [];

  constructor(opts: PoolOptions) {
    this.#opts = opts;
  }

  /** start launches the workers; it resolves when every one has loaded, or rejects with the first load error. */
  start(): Promise<void> {
    return Promise.all(Array.from({ length: this.#opts.size }, () => this.#spawn())).then(() => undefined);
  }

  /** run sends one call to the next idle worker; it rejects at the signal's abort, ending a call still running. */
  run(message: Record<string, unknown>, signal: AbortSignal): Promise<WorkerReply> {
    if (this.#closed) return Promise.reject(new GatewayError('not_ready', `${this.#opts.name} is shutting down`));
    if (signal.aborted) return Promise.reject(signal.reason);
    if (this.#queue.length >= this.#opts.maxQueue) {
      return Promise.reject(new GatewayError('queue_full', `${this.#opts.name}: ${this.#queue.length} calls already wait for a worker (maxQueue)`));
    }
    return new Promise<WorkerReply>((resolve, reject) => {
      const job: Job = { message, resolve, reject, signal };
      job.onAbort = () => {
        const i = this.#queue.indexOf(job);
        if (i >= 0) this.#queue.splice(i, 1);
        else {
          // Running: the only way to stop user code is to end its thread.
          for (const slot of this.#slots) if (slot.job === job) this.#replace(slot, 'its call ran past the deadline');
        }
        reject(signal.reason);
      };
      signal.addEventListener('abort', job.onAbort, { once: true });
      this.#queue.push(job);
      this.#dispatch();
    });
  }

  status(): Record<string, unknown> {
    let busy = 0;
    let ready = 0;
    for (const s of this.#slots) { if (s.job !== undefined) busy++; if (s.ready) ready++; }
    return { workers: this.#slots.size, ready, busy, queued: this.#queue.length, replaced: this.#replaced, ...(this.#loadError === undefined ? {} : { error: this.#loadError }) };
  }

  async close(): Promise<void> {
    this.#closed = true;
    const closing = (): GatewayError => new GatewayError('not_ready', `${this.#opts.name} is shutting down`);
    for (const job of this.#queue.splice(0)) this.#settle(job, undefined, closing());
    for (const slot of this.#slots) if (slot.job !== undefined) { this.#settle(slot.job, undefined, closing()); slot.job = undefined; }
    await Promise.allSettled([...this.#slots].map((s) => s.worker.terminate()));
    this.#slots.clear();
  }

  #spawn(): Promise<void> {
    const worker = new Worker(this.#opts.script, { workerData: this.#opts.workerData });
    const slot: Slot = { worker, ready: false };
    this.#slots.add(slot);
    const started = performance.now();
    return new Promise<void>((resolve, reject) => {
      worker.on('message', (event: WorkerEvent) => {
        if ('type' in event) {
          if (event.type === 'ready') { slot.ready = true; this.exports = event.exports; this.#loadError = undefined; resolve(); this.#dispatch(); }
          else if (event.type === 'load_failed') { slot.loadFailed = true; this.#loadError = event.message; reject(new Error(event.message)); void worker.terminate(); }
          else this.#opts.log[event.level]({ transform: this.#opts.name }, ...(event.args as [string]));
          return;
        }
        const job = slot.job;
        if (job === undefined || event.id !== job.message.id) return;
        slot.job = undefined;
        this.#settle(job, event);
        this.#dispatch();
      });
      let crash: string | undefined;
      // An uncaught error in user code ends the worker ('exit' follows): its call gets a 500 naming it.
      worker.on('error', (err) => { crash = `crashed: ${err.message}`; });
      worker.on('exit', (code) => {
        if (!this.#slots.has(slot)) return;
        this.#lost(slot, crash ?? `exited with code ${code}`);
        reject(new Error(`${this.#opts.name}: the worker ${crash ?? `exited with code ${code}`} while loading`));
        // A module whose load() failed stays failed until a reload; any other loss is replaced.
        if (this.#closed || slot.loadFailed === true) return;
        const wait = performance.now() - started < respawnDelayMs ? respawnDelayMs : 0;
        setTimeout(() => { if (!this.#closed) this.#spawn().catch(() => {}); }, wait).unref();
      });
    });
  }

  // lost fails the call a dead worker had (the request that crashed it) and forgets the worker.
  #lost(slot: Slot, why: string): void {
    if (!this.#slots.has(slot)) return;
    this.#slots.delete(slot);
    this.#replaced++;
    const job = slot.job;
    slot.job = undefined;
    if (job !== undefined) this.#settle(job, undefined, new GatewayError('transform_failed', `${this.#opts.name}: the worker running this request ${why}; it was replaced`));
    this.#opts.log.error({ transform: this.#opts.name }, `transform worker ${why}; replacing it`);
  }

  // replace ends a worker whose call must not go on (past its deadline) and starts another.
  #replace(slot: Slot, why: string): void {
    slot.job = undefined;
    this.#slots.delete(slot);
    this.#replaced++;
    this.#opts.log.warn({ transform: this.#opts.name }, `transform worker ended: ${why}; starting another`);
    void slot.worker.terminate();
    if (!this.#closed) this.#spawn().catch(() => {});
  }

  #dispatch(): void {
    for (const slot of this.#slots) {
      if (this.#queue.length === 0) return;
      if (!slot.ready || slot.job !== undefined) continue;
      const job = this.#queue.shift()!;
      job.message.id = this.#nextId++;
      slot.job = job;
      // Copied, not moved: the gateway may still read what it sends (the request, for postprocess;
      // an answer a shadow compares). What a worker makes comes back moved (transfer.ts).
      slot.worker.postMessage(job.message);
    }
  }

  #settle(job: Job, reply: WorkerReply | undefined, err?: unknown): void {
    if (job.onAbort !== undefined) job.signal.removeEventListener('abort', job.onAbort);
    if (reply !== undefined) job.resolve(reply);
    else job.reject(err);
  }
}
