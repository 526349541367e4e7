// batcher.ts — the batching stage of one target: requests wait as row ranges (queue.ts), and
// whenever one of the target's `maxConcurrentBatches` slots is free the flush policy
// (flush-policy.ts) picks the rows that go, which go out as one backend call (dispatch.ts).
// compatible.ts decides who may share a call; batch-limit.ts learns the backend's own limit.

import type { Logger } from 'pino';
import { abortReason, GatewayError, toGatewayError } from '../errors.ts';
import { shedTotal } from '../observe/metrics.ts';
import { hasRows } from '../tensors/row-block.ts';
import type { InferRequest, InferResponse } from '../tensors/tensor.ts';
import type { CallContext, Infer, Stage, StagePlugin, TargetStageDeps } from '../types.ts';
import { BatchLimit } from './batch-limit.ts';
import { batchKey } from './compatible.ts';
import { CostModel } from './cost-model.ts';
import { Dispatcher } from './dispatch.ts';
import { FlushPolicy } from './flush-policy.ts';
import { RowQueue } from './queue.ts';
import { countRows } from './rows.ts';
import { batchingSchema, type BatchingConfig } from './schema.ts';

export { batchingSchema, type BatchingConfig } from './schema.ts';

/** BatcherStatus is what /admin/status shows for one target's batcher (costs in ms). */
export interface BatcherStatus {
  queueRows: number;
  inFlightBatches: number;
  batches: number;
  rows: number;
  costA: number | undefined;
  costB: number | undefined;
}

/** BatcherOptions names the target and carries the backend's own batch limit, when known. */
export interface BatcherOptions {
  target: string;
  log: Logger;
  /** The backend's own limit, read at each decision (it is learned after start); 0, Infinity or undefined: none. */
  maxBatchSize?: number | (() => number | undefined);
}

/** Batcher is the batching stage with its status and its close. */
export interface Batcher {
  /** Binds the batcher to next, once: one batcher serves one target's path. */
  stage: Stage;
  status(): BatcherStatus;
  /** Refuses new requests and sends what is queued at once, without waiting. */
  close(): void;
}

/**
 * batcher is the stage's registry entry: absent `batching`, no stage. The backend's batch limit
 * is learned on the first call (batch-limit.ts); a model that cannot batch (limit 0) sends each
 * request straight to next.
 */
export const batcher = {
  name: 'batcher',
  schema: {
    model: { batching: batchingSchema.optional().describe('Dynamic batching; omitted = each request is one backend call.') },
    target: { batching: batchingSchema.optional().describe('Overrides the model\'s batching for this target.') },
  },
  create(config, deps) {
    if (config.batching === undefined) return undefined;
    const limit = new BatchLimit(deps.endpoint, deps.maxBatchSize);
    const b = createBatcher(config.batching, { target: deps.target, log: deps.log, maxBatchSize: () => limit.value });
    return {
      stage: (next) => {
        const batched = b.stage(next);
        // A raw body (no rows, no tensors) has nothing to merge: it goes on alone.
        const route: Infer = (req, ctx) => (limit.value === 0 || (!hasRows(req) && req.inputs === undefined) ? next(req, ctx) : batched(req, ctx));
        // Only the first calls wait for the limit; after that no extra turn of the event loop.
        return (req, ctx) => (limit.value === undefined ? limit.learn(ctx.signal).then(() => route(req, ctx)) : route(req, ctx));
      },
      status: b.status,
      close: b.close,
    };
  },
} satisfies StagePlugin<{ batching?: BatchingConfig }, TargetStageDeps>;

/** createBatcher builds the batching stage for one target, without the batch-limit learning. */
export function createBatcher(config: BatchingConfig, opts: BatcherOptions): Batcher {
  const queue = new BatchingStage(config, opts);
  return {
    stage: (next) => {
      queue.bind(next);
      return (req, ctx) => queue.submit(req, ctx);
    },
    status: () => queue.status(),
    close: () => queue.close(),
  };
}

// BatchingStage ties the parts together: admission, and the loop that fills free slots.
class BatchingStage {
  #config: BatchingConfig;
  #target: string;
  #backendLimit: () => number | undefined;
  #next: Infer | undefined;
  #closed = false;
  #pumpScheduled = false;
  #pumping = false;
  #log: Logger;
  #cost = new CostModel();
  #queue: RowQueue;
  #policy: FlushPolicy;
  #dispatch: Dispatcher;
  #queueFullTotal;

  constructor(config: BatchingConfig, opts: BatcherOptions) {
    this.#config = config;
    this.#target = opts.target;
    this.#log = opts.log;
    const limit = opts.maxBatchSize;
    this.#backendLimit = typeof limit === 'function' ? limit : () => limit;
    this.#queue = new RowQueue(opts.target);
    this.#policy = new FlushPolicy(config, this.#cost, () => this.#pump());
    this.#dispatch = new Dispatcher({
      target: opts.target, log: opts.log, queue: this.#queue, cost: this.#cost,
      freed: () => this.#pump(), ended: () => this.#schedulePump(),
    });
    this.#queueFullTotal = shedTotal.labels(opts.target, 'queue_full');
  }

  /** The most rows in one batch: the config's, capped by the backend's own limit when known. */
  #maxBatch(): number {
    const limit = this.#backendLimit();
    return limit !== undefined && limit > 0 ? Math.max(1, Math.min(this.#config.maxBatchSize, limit)) : this.#config.maxBatchSize;
  }

  bind(next: Infer): void {
    this.#next = next;
  }

  submit(req: InferRequest, ctx: CallContext): Promise<InferResponse> {
    const next = this.#next;
    if (next === undefined) return Promise.reject(new GatewayError('internal', 'the batching stage was not applied'));
    if (this.#closed) return Promise.reject(new GatewayError('draining', `target ${this.#target} is shutting down`));
    let rows: number;
    let key: string;
    try {
      rows = countRows(req);
      key = batchKey(req);
    } catch (err) {
      return Promise.reject(toGatewayError(err, 'batcher'));
    }
    if (rows === 0) return next(req, ctx);
    if (ctx.signal.aborted) return Promise.reject(abortReason(ctx.signal, 'the request waiting for a batch'));
    const now = performance.now();
    if (ctx.deadline <= now) return Promise.reject(new GatewayError('deadline_exceeded', 'the request reached its deadline before it was queued'));
    if (this.#queue.rows + rows > this.#config.maxQueueRows) return Promise.reject(this.#queueFull(rows));
    const answer = this.#queue.add(req, ctx, rows, key, now);
    this.#policy.arrived(rows, now);
    this.#schedulePump();
    return answer;
  }

  status(): BatcherStatus {
    const d = this.#dispatch;
    return { queueRows: this.#queue.rows, inFlightBatches: d.inFlight, batches: d.batches, rows: d.rows, costA: this.#cost.a, costB: this.#cost.b };
  }

  close(): void {
    this.#closed = true;
    this.#policy.close();
    this.#pump();
  }

  #queueFull(rows: number): GatewayError {
    this.#queueFullTotal.inc();
    const queued = this.#queue.rows;
    const max = this.#maxBatch();
    const drainS = (queued / max) * this.#cost.predict(max) / this.#config.maxConcurrentBatches / 1000;
    return new GatewayError('queue_full',
      `the batch queue of target ${this.#target} holds ${queued} rows; ${rows} more would pass maxQueueRows ${this.#config.maxQueueRows}`,
      { retryAfter: Math.max(1, Math.ceil(drainS)) });
  }

  // Collect whatever arrives in this event-loop turn, then decide once (no polling timer).
  #schedulePump(): void {
    if (this.#pumpScheduled) return;
    this.#pumpScheduled = true;
    setImmediate(() => {
      this.#pumpScheduled = false;
      this.#pump();
    });
  }

  // Fills free slots while some queue's rows should go; otherwise leaves the policy a wait.
  #pump(): void {
    if (this.#pumping) return;
    this.#pumping = true;
    let wait: number | undefined;
    let now = performance.now();
    try {
      while (this.#dispatch.inFlight < this.#config.maxConcurrentBatches) {
        now = performance.now();
        const queues = this.#queue.live(now);
        if (queues.length === 0) break;
        const max = this.#maxBatch();
        const pick = this.#policy.pick(queues, now, max);
        if (typeof pick === 'number') {
          wait = pick;
          break;
        }
        const batch = this.#dispatch.take(pick, now, max);
        if (batch !== undefined) this.#dispatch.send(batch, this.#next!);
      }
    } catch (err) {
      wait = undefined;
      this.#crash(err);
    } finally {
      this.#policy.rest(wait, now);
      this.#pumping = false;
    }
  }

  #crash(err: unknown): void {
    this.#log.error({ target: this.#target, err }, 'batcher failed; rejecting every queued request');
    this.#queue.rejectAll(new GatewayError('internal', `the batcher of target ${this.#target} failed`, { cause: err }));
  }
}
