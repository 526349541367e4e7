// batcher.ts — one target's batch queue: requests wait as row ranges, and whenever one of the
// target's `maxConcurrentBatches` slots is free the oldest compatible rows go out as one backend
// call (work-conserving, as Triton does on a free instance), optionally held a little by
// `maxQueueDelayMs` (Triton semantics) or by the adaptive rule in cost-model.ts. rows.ts merges
// and splits; compatible.ts decides who may share a call.

import type { Logger } from 'pino';
import type { BatchingConfig } from '../config/schema.ts';
import { GatewayError, toGatewayError } from '../errors.ts';
import { batchCostModel, batchRows, queueDelay, queueRows, shedTotal } from '../observe/metrics.ts';
import type { InferRequest, InferResponse } from '../tensors/tensor.ts';
import type { CallContext, Infer, Stage } from '../types.ts';
import { batchKey } from './compatible.ts';
import { ArrivalRate, CostModel, adaptiveWait } from './cost-model.ts';
import { checkReplyRows, countRows, joinResponses, mergeRows, sliceRows, splitRows } from './rows.ts';

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
  /**
   * The backend's limit from its metadata (Triton max_batch_size, ONNX dim 0), read at each
   * dispatch since it is learned after start; 0, Infinity or undefined = no limit here (a model
   * that cannot batch at all is kept away from the batcher by the pipeline).
   */
  maxBatchSize?: number | (() => number | undefined);
}

interface Member {
  req: InferRequest;
  ctx: CallContext;
  rows: number;
  queue: KeyQueue;
  enqueuedAt: number;
  /** Rows already handed to batches; rows - taken still wait in the queue. */
  taken: number;
  /** Answers per piece (row range), in row order; undefined until answered. */
  pieces: Array<InferResponse | undefined>;
  /** Pieces sent and not yet answered. */
  pending: number;
  batches: Set<Batch>;
  settled: boolean;
  resolve(res: InferResponse): void;
  reject(err: GatewayError): void;
  onAbort(): void;
}

interface KeyQueue {
  key: string;
  members: Member[];
  rows: number;
}

interface Part { member: Member; start: number; end: number; index: number }

interface Batch {
  parts: Part[];
  rows: number;
  controller: AbortController;
  /** Members still waiting for this batch; at 0 the backend call is aborted. */
  live: number;
}

/** createBatcher builds the batching stage for one target, with its status and its close. */
export function createBatcher(config: BatchingConfig, opts: BatcherOptions): { stage: Stage; status(): BatcherStatus; close(): void } {
  const batcher = new Batcher(config, opts);
  return {
    // One batcher serves one target: the pipeline applies the stage once, to that target's path.
    stage: (next) => {
      batcher.bind(next);
      return (req, ctx) => batcher.submit(req, ctx);
    },
    status: () => batcher.status(),
    close: () => batcher.close(),
  };
}

class Batcher {
  #config: BatchingConfig;
  #target: string;
  #log: Logger;
  #backendLimit: () => number | undefined;
  #next: Infer | undefined;
  #queues = new Map<string, KeyQueue>();
  #queued = 0;
  #inFlight = 0;
  #batches = 0;
  #rows = 0;
  #closed = false;
  #pumpScheduled = false;
  #pumping = false;
  #force = false;
  #timer: NodeJS.Timeout | undefined;
  #timerAt = 0;
  #cost = new CostModel();
  #rate = new ArrivalRate();
  #metrics;

  constructor(config: BatchingConfig, opts: BatcherOptions) {
    this.#config = config;
    this.#target = opts.target;
    this.#log = opts.log;
    const limit = opts.maxBatchSize;
    this.#backendLimit = typeof limit === 'function' ? limit : () => limit;
    this.#metrics = {
      batchRows: batchRows.labels(opts.target),
      queueDelay: queueDelay.labels(opts.target),
      queueRows: queueRows.labels(opts.target),
      costA: batchCostModel.labels(opts.target, 'a'),
      costB: batchCostModel.labels(opts.target, 'b'),
      queueFull: shedTotal.labels(opts.target, 'queue_full'),
    };
  }

  /** The most rows in one batch: the config's, capped by the backend's own limit when known. */
  get #maxBatch(): number {
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
    if (ctx.signal.aborted) return Promise.reject(abortReason(ctx.signal));
    const now = performance.now();
    if (ctx.deadline <= now) return Promise.reject(new GatewayError('deadline_exceeded', 'the request reached its deadline before it was queued'));
    if (this.#queued + rows > this.#config.maxQueueRows) return Promise.reject(this.#queueFull(rows));

    let queue = this.#queues.get(key);
    if (queue === undefined) {
      queue = { key, members: [], rows: 0 };
      this.#queues.set(key, queue);
    }
    const q = queue;
    return new Promise<InferResponse>((resolve, reject) => {
      const member: Member = {
        req, ctx, rows, queue: q, enqueuedAt: now, taken: 0, pieces: [], pending: 0, batches: new Set(), settled: false,
        resolve, reject, onAbort: () => this.#settle(member, abortReason(ctx.signal)),
      };
      ctx.signal.addEventListener('abort', member.onAbort, { once: true });
      q.members.push(member);
      q.rows += rows;
      this.#addQueued(rows);
      this.#rate.record(rows, now);
      this.#schedulePump();
    });
  }

  status(): BatcherStatus {
    return { queueRows: this.#queued, inFlightBatches: this.#inFlight, batches: this.#batches, rows: this.#rows, costA: this.#cost.a, costB: this.#cost.b };
  }

  /** close refuses new requests and sends what is queued at once, without waiting. */
  close(): void {
    this.#closed = true;
    this.#clearTimer();
    this.#pump();
  }

  #queueFull(rows: number): GatewayError {
    this.#metrics.queueFull.inc();
    const perBatch = this.#cost.predict(this.#maxBatch);
    const drainS = (this.#queued / this.#maxBatch) * perBatch / this.#config.maxConcurrentBatches / 1000;
    return new GatewayError('queue_full',
      `the batch queue of target ${this.#target} holds ${this.#queued} rows; ${rows} more would pass maxQueueRows ${this.#config.maxQueueRows}`,
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

  #pump(): void {
    if (this.#pumping) return;
    this.#pumping = true;
    let armed = false;
    try {
      while (this.#inFlight < this.#config.maxConcurrentBatches) {
        const now = performance.now();
        const queues = this.#liveQueues(now);
        if (queues.length === 0) break;
        // Oldest first; a key that chooses to wait does not hold up another that is ready (a
        // full batch of another shape goes while a slot is free).
        let queue: KeyQueue | undefined;
        let soonest = Infinity;
        for (const q of queues) {
          const wait = this.#force && q === queues[0] ? 0 : this.#waitFor(q, now);
          if (wait <= 0) { queue = q; break; }
          soonest = Math.min(soonest, wait);
        }
        if (queue === undefined) {
          this.#armTimer(soonest, now);
          armed = true;
          break;
        }
        this.#force = false;
        const batch = this.#take(queue, now);
        if (batch !== undefined) this.#dispatch(batch);
      }
    } catch (err) {
      this.#crash(err);
    } finally {
      this.#force = false;
      if (!armed) this.#clearTimer();
      this.#pumping = false;
    }
  }

  // The queue whose head waited longest; settled and expired heads are dropped on the way.
  // liveQueues drops expired and settled heads and empty queues, and gives the rest oldest first.
  #liveQueues(now: number): KeyQueue[] {
    const live: KeyQueue[] = [];
    for (const queue of this.#queues.values()) {
      const members = queue.members;
      while (members.length > 0 && (members[0]!.settled || members[0]!.ctx.deadline <= now)) {
        const head = members.shift()!;
        if (!head.settled) this.#expire(head, now);
      }
      if (members.length === 0) {
        this.#queues.delete(queue.key);
        continue;
      }
      live.push(queue);
    }
    if (live.length > 1) live.sort((x, y) => x.members[0]!.enqueuedAt - y.members[0]!.enqueuedAt);
    return live;
  }

  #waitFor(queue: KeyQueue, now: number): number {
    if (this.#closed || queue.rows >= this.#maxBatch) return 0;
    const head = queue.members[0]!;
    const slack = head.ctx.deadline - now;
    const delay = this.#config.maxQueueDelayMs;
    if (this.#config.adaptive) {
      return adaptiveWait({
        queued: queue.rows, maxBatchSize: this.#maxBatch, rate: this.#rate.perMs(now),
        a: this.#cost.a, b: this.#cost.b, slackMs: slack, capMs: delay,
      });
    }
    if (delay <= 0) return 0;
    // Triton: hold until the oldest request has waited maxQueueDelayMs; never past its deadline.
    return Math.min(head.enqueuedAt + delay - now, slack - this.#cost.predict(queue.rows));
  }

  #armTimer(wait: number, now: number): void {
    const at = now + wait;
    if (this.#timer !== undefined && this.#timerAt <= at) return;
    this.#clearTimer();
    this.#timerAt = at;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      // The timer was set for the moment the oldest rows must go: go, whatever the clock says.
      this.#force = true;
      this.#pump();
      // libuv counts whole milliseconds from a clock read at the start of the loop turn, so a
      // fractional delay fires up to 1 ms early (a 2 ms maxQueueDelayMs held ~1.1 ms): round up.
    }, Math.ceil(wait));
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #take(queue: KeyQueue, now: number): Batch | undefined {
    const parts: Part[] = [];
    let rows = 0;
    const members = queue.members;
    while (rows < this.#maxBatch && members.length > 0) {
      const m = members[0]!;
      if (m.settled || m.ctx.deadline <= now) {
        members.shift();
        if (!m.settled) this.#expire(m, now);
        continue;
      }
      const n = Math.min(this.#maxBatch - rows, m.rows - m.taken);
      if (m.taken === 0) this.#metrics.queueDelay.observe((now - m.enqueuedAt) / 1000);
      parts.push({ member: m, start: m.taken, end: m.taken + n, index: m.pieces.length });
      m.pieces.push(undefined);
      m.taken += n;
      m.pending++;
      queue.rows -= n;
      this.#addQueued(-n);
      rows += n;
      if (m.taken === m.rows) members.shift();
    }
    if (members.length === 0) this.#queues.delete(queue.key);
    return parts.length === 0 ? undefined : { parts, rows, controller: new AbortController(), live: parts.length };
  }

  #dispatch(batch: Batch): void {
    const next = this.#next!;
    this.#inFlight++;
    this.#batches++;
    this.#rows += batch.rows;
    this.#metrics.batchRows.observe(batch.rows);
    for (const p of batch.parts) p.member.batches.add(batch);
    const first = batch.parts[0]!.member;
    let deadline = first.ctx.deadline;
    for (const p of batch.parts) deadline = Math.max(deadline, p.member.ctx.deadline);
    const ctx: CallContext = {
      requestId: first.ctx.requestId, signal: batch.controller.signal, deadline, forward: first.ctx.forward,
      headers: first.ctx.headers, log: this.#log, model: first.ctx.model, target: first.ctx.target,
    };
    const start = performance.now();
    let call: Promise<InferResponse>;
    try {
      call = next(requestFor(batch), ctx);
    } catch (err) {
      call = Promise.reject(err);
    }
    // The slot is free as soon as the backend answers: the next batch goes out first, then the
    // callers are answered, so the backend does not idle while 32 replies are written. What
    // arrives meanwhile goes at the end of this turn.
    call.then(
      (res) => {
        this.#inFlight--;
        const ms = performance.now() - start;
        this.#pump();
        this.#deliver(batch, res, ms, ctx.target);
      },
      (err) => {
        this.#inFlight--;
        this.#fail(batch, err);
      },
    ).catch((err) => this.#fail(batch, err)).finally(() => this.#schedulePump());
  }

  #deliver(batch: Batch, res: InferResponse, ms: number, target: string | undefined): void {
    let pieces: InferResponse[];
    try {
      if (batch.parts.length === 1) {
        checkReplyRows(res, batch.rows);
        pieces = [res];
      } else {
        pieces = splitRows(res, batch.parts.map((p) => p.end - p.start));
      }
    } catch (err) {
      const e = toGatewayError(err, 'backend');
      this.#fail(batch, new GatewayError(e.code, `${e.message} (${batch.parts.length} requests merged)`, { cause: err }));
      return;
    }
    this.#cost.observe(batch.rows, ms);
    this.#metrics.costA.set((this.#cost.a ?? 0) / 1000);
    this.#metrics.costB.set((this.#cost.b ?? 0) / 1000);
    batch.parts.forEach((part, i) => {
      const m = part.member;
      m.batches.delete(batch);
      if (m.settled) return;
      m.pieces[part.index] = pieces[i]!;
      m.pending--;
      if (m.pending > 0 || m.taken < m.rows) return;
      if (target !== undefined) m.ctx.target = target;
      const alone = batch.parts.length === 1 && part.start === 0 && part.end === m.rows;
      this.#settle(m, undefined, alone ? pieces[0]! : answerFor(m));
    });
  }

  #fail(batch: Batch, err: unknown): void {
    let e = toGatewayError(err, 'backend');
    // Every member fails with the batch, so each is told it was in one, and how big: a bad row
    // of another request, or a batch too large for the model, then reads as what it is. The
    // code stays the backend's (a 429 or 503 keeps its Retry-After for the client).
    if (batch.parts.length > 1 && e.code !== 'client_closed') {
      e = new GatewayError(e.code, `in a batch of ${batch.rows} rows from ${batch.parts.length} requests: ${e.message}`,
        { cause: e, status: e.status, ...(e.retryAfter === undefined ? {} : { retryAfter: e.retryAfter }), ...(e.headers === undefined ? {} : { headers: e.headers }) });
    }
    if (!batch.controller.signal.aborted) {
      this.#log.warn({ target: this.#target, rows: batch.rows, requests: batch.parts.length, code: e.code, err: e.message }, 'batch failed');
    }
    for (const p of batch.parts) {
      p.member.batches.delete(batch);
      this.#settle(p.member, e);
    }
  }

  #expire(m: Member, now: number): void {
    this.#settle(m, new GatewayError('deadline_exceeded',
      `the request passed its deadline after ${Math.round(now - m.enqueuedAt)} ms in the batch queue of target ${this.#target}`));
  }

  // The one place a member ends: listeners go, its queued rows leave the count, and batches
  // that no longer serve anyone are aborted.
  #settle(m: Member, err: GatewayError | undefined, res?: InferResponse): void {
    if (m.settled) return;
    m.settled = true;
    m.ctx.signal.removeEventListener('abort', m.onAbort);
    const left = m.rows - m.taken;
    if (left > 0) {
      m.taken = m.rows;
      m.queue.rows -= left;
      this.#addQueued(-left);
    }
    for (const b of m.batches) {
      if (--b.live === 0) b.controller.abort(err ?? new GatewayError('client_closed', 'every caller of this batch went away'));
    }
    m.batches.clear();
    if (err !== undefined) m.reject(err);
    else m.resolve(res!);
  }

  #crash(err: unknown): void {
    this.#log.error({ target: this.#target, err }, 'batcher failed; rejecting every queued request');
    const e = new GatewayError('internal', `the batcher of target ${this.#target} failed`, { cause: err });
    for (const queue of this.#queues.values()) for (const m of queue.members) this.#settle(m, e);
    this.#queues.clear();
  }

  #addQueued(delta: number): void {
    this.#queued += delta;
    this.#metrics.queueRows.set(this.#queued);
  }
}

// A whole request alone goes out as it came (its raw body may be forwarded untouched).
function requestFor(batch: Batch): InferRequest {
  const parts = batch.parts;
  if (parts.length === 1) {
    const p = parts[0]!;
    return p.start === 0 && p.end === p.member.rows ? p.member.req : sliceRows(p.member.req, p.start, p.end);
  }
  return mergeRows(parts.map((p) => (p.start === 0 && p.end === p.member.rows ? p.member.req : sliceRows(p.member.req, p.start, p.end))));
}

// A merged call carried no request id: give each caller its own back, as a lone call would.
function answerFor(m: Member): InferResponse {
  const out: InferResponse = { ...joinResponses(m.pieces as InferResponse[]) };
  if (m.req.id !== undefined) out.id = m.req.id;
  else delete out.id;
  return out;
}

function abortReason(signal: AbortSignal): GatewayError {
  const reason: unknown = signal.reason;
  if (reason instanceof GatewayError) return reason;
  if (reason instanceof Error && reason.name === 'TimeoutError') {
    return new GatewayError('deadline_exceeded', 'the request reached its deadline in the batch queue');
  }
  return new GatewayError('client_closed', 'the client went away while the request waited for a batch');
}
