// dispatch.ts — a batch's life: the oldest rows of one key taken into it (a request bigger than
// the room left is split across batches), sent as one backend call, the answer split back to
// each caller (a split request reassembled in row order), every member failed with the call, and
// the call aborted once all its callers went away. rows.ts merges and splits the tensors.

import type { Logger } from 'pino';
import { GatewayError, restate, toGatewayError } from '../errors.ts';
import { batchCostModel, batchRows, queueDelay } from '../observe/metrics.ts';
import { spanned, type TraceSpan } from '../observe/trace.ts';
import type { InferRequest, InferResponse } from '../tensors/tensor.ts';
import type { CallContext, Infer } from '../types.ts';
import type { CostModel } from './cost-model.ts';
import type { BatchLink, KeyQueue, Member, RowQueue } from './queue.ts';
import { checkReplyRows, joinResponses, mergeRows, sliceRows, splitRows } from './rows.ts';

/** Part is the row range [start, end) of one member in a batch; index is its piece in the member's answer. */
export interface Part { member: Member; start: number; end: number; index: number }

/** Batch is one backend call in the making or in flight. */
export class Batch implements BatchLink {
  readonly parts: Part[];
  readonly rows: number;
  readonly controller = new AbortController();
  /** Members still waiting for this batch; at 0 the backend call is aborted. */
  #live: number;

  constructor(parts: Part[], rows: number) {
    this.parts = parts;
    this.rows = rows;
    this.#live = parts.length;
  }

  leave(err: GatewayError | undefined): void {
    if (--this.#live === 0) this.controller.abort(err ?? new GatewayError('client_closed', 'every caller of this batch went away'));
  }
}

export interface DispatcherOptions {
  target: string;
  log: Logger;
  queue: RowQueue;
  /** Fitted from each answered batch's rows and time. */
  cost: CostModel;
  /** Called when a call answers, before its callers are: the next batch goes out first. */
  freed(): void;
  /** Called once each batch has ended, whatever the outcome. */
  ended(): void;
}

/** Dispatcher takes rows into batches, sends them, and answers their members. */
export class Dispatcher {
  #target: string;
  #log: Logger;
  #queue: RowQueue;
  #cost: CostModel;
  #freed: () => void;
  #ended: () => void;
  #inFlight = 0;
  #batches = 0;
  #rows = 0;
  #metrics;

  constructor(opts: DispatcherOptions) {
    this.#target = opts.target;
    this.#log = opts.log;
    this.#queue = opts.queue;
    this.#cost = opts.cost;
    this.#freed = opts.freed;
    this.#ended = opts.ended;
    this.#metrics = {
      batchRows: batchRows.labels(opts.target),
      queueDelay: queueDelay.labels(opts.target),
      costA: batchCostModel.labels(opts.target, 'a'),
      costB: batchCostModel.labels(opts.target, 'b'),
    };
  }

  /** Batches sent and not yet answered. */
  get inFlight(): number { return this.#inFlight; }
  /** Batches sent so far. */
  get batches(): number { return this.#batches; }
  /** Rows sent so far. */
  get rows(): number { return this.#rows; }

  /** take moves up to max of the queue's oldest rows into a batch; undefined when none still wait. */
  take(queue: KeyQueue, now: number, max: number): Batch | undefined {
    const parts: Part[] = [];
    let rows = 0;
    while (rows < max) {
      const m = this.#queue.head(queue, now);
      if (m === undefined) break;
      const n = Math.min(max - rows, m.rows - m.taken);
      if (m.taken === 0) this.#metrics.queueDelay.observe((now - m.enqueuedAt) / 1000);
      parts.push({ member: m, start: m.taken, end: m.taken + n, index: m.pieces.length });
      m.pieces.push(undefined);
      m.pending++;
      this.#queue.takeRows(m, n);
      rows += n;
    }
    if (parts.length === 0) return undefined;
    for (const p of parts) {
      const wait = p.member.wait;
      if (wait === undefined) continue;
      // Its wait ends with the first batch that takes its rows; the size is the batch's.
      wait.set('infergate.batch.rows', rows);
      wait.set('infergate.batch.requests', parts.length);
      wait.end();
      p.member.wait = undefined;
    }
    return new Batch(parts, rows);
  }

  /** send makes the batch one call of next; its members are answered when it settles. */
  send(batch: Batch, next: Infer): void {
    this.#inFlight++;
    this.#batches++;
    this.#rows += batch.rows;
    this.#metrics.batchRows.observe(batch.rows);
    for (const p of batch.parts) p.member.batches.add(batch);
    const first = batch.parts[0]!.member;
    let deadline = first.ctx.deadline;
    for (const p of batch.parts) deadline = Math.max(deadline, p.member.ctx.deadline);
    // Traced: the call is a "batch" span under the first member's request, linked to the others'.
    const trace = first.ctx.trace === undefined ? undefined : batchSpan(first.ctx.trace, batch);
    const ctx: CallContext = {
      requestId: first.ctx.requestId, signal: batch.controller.signal, deadline, forward: first.ctx.forward,
      headers: first.ctx.headers, log: this.#log, model: first.ctx.model, target: first.ctx.target, trace,
    };
    const start = performance.now();
    let call: Promise<InferResponse>;
    try {
      call = next(requestFor(batch), ctx);
    } catch (err) {
      call = Promise.reject(err);
    }
    if (trace !== undefined) call = spanned(trace, call);
    // The slot is free as soon as the backend answers: the next batch goes out first, then the
    // callers are answered, so the backend does not idle while 32 replies are written. What
    // arrives meanwhile goes at the end of this turn.
    call.then(
      (res) => {
        this.#inFlight--;
        const ms = performance.now() - start;
        this.#freed();
        this.#deliver(batch, res, ms);
      },
      (err) => {
        this.#inFlight--;
        this.#fail(batch, err);
      },
    ).catch((err) => this.#fail(batch, err)).finally(() => this.#ended());
  }

  #deliver(batch: Batch, res: InferResponse, ms: number): void {
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
      this.#fail(batch, restate(e, `${e.message} (${batch.parts.length} requests merged)`));
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
      this.#queue.resolve(m, batch.parts.length === 1 && whole(part) ? pieces[0]! : answerFor(m));
    });
  }

  #fail(batch: Batch, err: unknown): void {
    let e = toGatewayError(err, 'backend');
    // Every member fails with the batch, so each is told it was in one, and how big: a bad row
    // of another request, or a batch too large for the model, then reads as what it is. The
    // code stays the backend's (a 429 or 503 keeps its Retry-After for the client).
    if (batch.parts.length > 1 && e.code !== 'client_closed') {
      e = restate(e, `in a batch of ${batch.rows} rows from ${batch.parts.length} requests: ${e.message}`);
    }
    if (!batch.controller.signal.aborted) {
      this.#log.warn({ target: this.#target, rows: batch.rows, requests: batch.parts.length, code: e.code, err: e.message }, 'batch failed');
    }
    for (const p of batch.parts) {
      p.member.batches.delete(batch);
      this.#queue.reject(p.member, e);
    }
  }
}

// batchSpan starts the span of a batch's backend call.
function batchSpan(parent: TraceSpan, batch: Batch): TraceSpan {
  const links: TraceSpan[] = [];
  for (const p of batch.parts.slice(1)) if (p.member.ctx.trace !== undefined && p.member.ctx.trace !== parent) links.push(p.member.ctx.trace);
  return parent.child('batch', 'internal', { 'infergate.batch.rows': batch.rows, 'infergate.batch.requests': batch.parts.length }, links);
}

// Whether the part is its member's whole request.
function whole(p: Part): boolean {
  return p.start === 0 && p.end === p.member.rows;
}

// A whole request alone goes out as it came (its raw body may be forwarded untouched).
function requestFor(batch: Batch): InferRequest {
  const reqs = batch.parts.map((p) => (whole(p) ? p.member.req : sliceRows(p.member.req, p.start, p.end)));
  return reqs.length === 1 ? reqs[0]! : mergeRows(reqs);
}

// A merged call carried no request id: give each caller its own back, as a lone call would.
function answerFor(m: Member): InferResponse {
  const out: InferResponse = { ...joinResponses(m.pieces as InferResponse[]) };
  if (m.req.id !== undefined) out.id = m.req.id;
  else delete out.id;
  return out;
}
