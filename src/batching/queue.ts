// queue.ts — the rows waiting for a batch: one FIFO of members (requests) per batch key
// (compatible.ts), the count of rows waiting across all keys, the dropping of heads that ended
// or passed their deadline, and the one place a member ends.

import { abortReason, GatewayError } from '../errors.ts';
import { queueRows } from '../observe/metrics.ts';
import type { TraceSpan } from '../observe/trace.ts';
import type { InferRequest, InferResponse } from '../tensors/tensor.ts';
import type { CallContext } from '../types.ts';

/** BatchLink is what a member knows of a batch in flight that carries some of its rows. */
export interface BatchLink {
  /** Called as a member the batch still serves ends: failed (err) or answered some other way. */
  leave(err: GatewayError | undefined): void;
}

/** Member is one request in the queue, from arrival until it is answered or fails. */
export interface Member {
  req: InferRequest;
  ctx: CallContext;
  rows: number;
  queue: KeyQueue;
  enqueuedAt: number;
  /** The member's "batch wait" span while it waits, when the call is traced (the dispatcher ends it). */
  wait: TraceSpan | undefined;
  /** Rows already handed to batches; rows - taken still wait in the queue. */
  taken: number;
  /** Answers per piece (row range), in row order; undefined until answered. */
  pieces: Array<InferResponse | undefined>;
  /** Pieces sent and not yet answered. */
  pending: number;
  /** The batches in flight with rows of this member. */
  batches: Set<BatchLink>;
  settled: boolean;
  onAbort(): void;
  settle(err: GatewayError | undefined, res: InferResponse | undefined): void;
}

/** KeyQueue holds the members that may share a backend call, oldest first. */
export interface KeyQueue {
  key: string;
  members: Member[];
  /** Rows of these members not yet handed to a batch. */
  rows: number;
}

/** RowQueue is one batcher's waiting rows, by batch key. */
export class RowQueue {
  #target: string;
  #queues = new Map<string, KeyQueue>();
  #rows = 0;
  #gauge;

  constructor(target: string) {
    this.#target = target;
    this.#gauge = queueRows.labels(target);
  }

  /** rows counts the rows waiting under every key. */
  get rows(): number {
    return this.#rows;
  }

  /** add queues a request's rows under its key; the promise settles when the member ends. */
  add(req: InferRequest, ctx: CallContext, rows: number, key: string, now: number): Promise<InferResponse> {
    let queue = this.#queues.get(key);
    if (queue === undefined) {
      queue = { key, members: [], rows: 0 };
      this.#queues.set(key, queue);
    }
    const q = queue;
    return new Promise<InferResponse>((resolve, reject) => {
      const member: Member = {
        req, ctx, rows, queue: q, enqueuedAt: now, wait: ctx.trace?.child('batch wait'), taken: 0, pieces: [], pending: 0, batches: new Set(), settled: false,
        onAbort: () => this.reject(member, abortReason(ctx.signal, 'the request waiting for a batch')),
        settle: (err, res) => (err === undefined ? resolve(res!) : reject(err)),
      };
      ctx.signal.addEventListener('abort', member.onAbort, { once: true });
      q.members.push(member);
      q.rows += rows;
      this.#count(rows);
    });
  }

  /** live gives the queues with a member still waiting, the one whose head waited longest first. */
  live(now: number): KeyQueue[] {
    const live: KeyQueue[] = [];
    for (const queue of this.#queues.values()) {
      if (this.head(queue, now) !== undefined) live.push(queue);
    }
    if (live.length > 1) live.sort((x, y) => x.members[0]!.enqueuedAt - y.members[0]!.enqueuedAt);
    return live;
  }

  /**
   * head gives the queue's first member still waiting: heads that ended leave, heads past their
   * deadline fail with deadline_exceeded, and a queue left empty is forgotten.
   */
  head(queue: KeyQueue, now: number): Member | undefined {
    const members = queue.members;
    while (members.length > 0 && (members[0]!.settled || members[0]!.ctx.deadline <= now)) {
      const m = members.shift()!;
      if (!m.settled) {
        this.reject(m, new GatewayError('deadline_exceeded',
          `the request passed its deadline after ${Math.round(now - m.enqueuedAt)} ms in the batch queue of target ${this.#target}`));
      }
    }
    if (members.length > 0) return members[0];
    this.#queues.delete(queue.key);
    return undefined;
  }

  /** takeRows hands n more of a head member's rows to a batch; once all of them went, it leaves the queue. */
  takeRows(m: Member, n: number): void {
    m.taken += n;
    m.queue.rows -= n;
    this.#count(-n);
    if (m.taken < m.rows) return;
    const queue = m.queue;
    queue.members.shift();
    if (queue.members.length === 0) this.#queues.delete(queue.key);
  }

  resolve(m: Member, res: InferResponse): void {
    this.#end(m, undefined, res);
  }

  reject(m: Member, err: GatewayError): void {
    this.#end(m, err, undefined);
  }

  /** rejectAll fails every queued member with err and empties the queue. */
  rejectAll(err: GatewayError): void {
    for (const queue of this.#queues.values()) for (const m of queue.members) this.reject(m, err);
    this.#queues.clear();
  }

  // The one place a member ends: its listener goes, its waiting rows leave the count, and each
  // batch still carrying its rows is told (a batch that serves nobody any more is aborted).
  #end(m: Member, err: GatewayError | undefined, res: InferResponse | undefined): void {
    if (m.settled) return;
    m.settled = true;
    m.ctx.signal.removeEventListener('abort', m.onAbort);
    const left = m.rows - m.taken;
    if (left > 0) {
      m.taken = m.rows;
      m.queue.rows -= left;
      this.#count(-left);
    }
    for (const b of m.batches) b.leave(err);
    m.batches.clear();
    m.wait?.end(err);
    m.settle(err, res);
  }

  #count(delta: number): void {
    this.#rows += delta;
    this.#gauge.set(this.#rows);
  }
}
