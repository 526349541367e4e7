// flush-policy.ts — when a key's waiting rows go, once a batch slot is free: at once
// (work-conserving, as Triton does on a free instance), once the oldest has waited
// maxQueueDelayMs (Triton's fixed delay), or when the adaptive rule of cost-model.ts says more
// waiting no longer pays. A full batch, or a closing batcher, never waits, and no wait runs past
// what the oldest request's deadline leaves. One timer wakes the batcher when a wait is over.

import { ArrivalRate, adaptiveWait, type CostModel } from './cost-model.ts';
import type { KeyQueue } from './queue.ts';
import type { BatchingConfig } from './schema.ts';

/** FlushPolicy decides, for one batcher, which queue goes now or how long they all wait. */
export class FlushPolicy {
  #config: BatchingConfig;
  #cost: CostModel;
  #wake: () => void;
  #rate = new ArrivalRate();
  #closed = false;
  #force = false;
  #timer: NodeJS.Timeout | undefined;
  #timerAt = 0;

  /** wake is called when the timer fires: the batcher decides again. */
  constructor(config: BatchingConfig, cost: CostModel, wake: () => void) {
    this.#config = config;
    this.#cost = cost;
    this.#wake = wake;
  }

  /** arrived counts rows joining the queue (the adaptive rule's arrival rate). */
  arrived(rows: number, now: number): void {
    this.#rate.record(rows, now);
  }

  /**
   * pick gives the queue whose rows go now, or the milliseconds until the soonest may go.
   * Queues come oldest head first; a key that chooses to wait does not hold up another that is
   * ready (a full batch of another shape goes while a slot is free). After the timer fired the
   * oldest queue goes, whatever the clock says: the timer was set for the moment it must.
   */
  pick(queues: readonly KeyQueue[], now: number, maxBatch: number): KeyQueue | number {
    if (this.#force && queues.length > 0) {
      this.#force = false;
      return queues[0]!;
    }
    let soonest = Infinity;
    for (const q of queues) {
      const wait = this.wait(q, now, maxBatch);
      if (wait <= 0) return q;
      soonest = Math.min(soonest, wait);
    }
    return soonest;
  }

  /** wait gives how long (ms) the queue's rows should still wait; 0 or less: they go now. */
  wait(queue: KeyQueue, now: number, maxBatch: number): number {
    if (this.#closed || queue.rows >= maxBatch) return 0;
    const head = queue.members[0]!;
    const slack = head.ctx.deadline - now;
    const delay = this.#config.maxQueueDelayMs;
    if (this.#config.adaptive) {
      return adaptiveWait({
        queued: queue.rows, maxBatchSize: maxBatch, rate: this.#rate.perMs(now),
        a: this.#cost.a, b: this.#cost.b, slackMs: slack, capMs: delay,
      });
    }
    if (delay <= 0) return 0;
    // Triton: hold until the oldest request has waited maxQueueDelayMs; never past its deadline.
    return Math.min(head.enqueuedAt + delay - now, slack - this.#cost.predict(queue.rows));
  }

  /**
   * rest ends one round of decisions: with a wait, the timer is set to wake the batcher then
   * (unless it is set for sooner already); without one, nothing waits and the timer goes.
   */
  rest(wait: number | undefined, now: number): void {
    this.#force = false;
    if (wait === undefined) {
      this.#clearTimer();
      return;
    }
    const at = now + wait;
    if (this.#timer !== undefined && this.#timerAt <= at) return;
    this.#clearTimer();
    this.#timerAt = at;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#force = true;
      this.#wake();
      // libuv counts whole milliseconds from a clock read at the start of the loop turn, so a
      // fractional delay fires up to 1 ms early (a 2 ms maxQueueDelayMs held ~1.1 ms): round up.
    }, Math.ceil(wait));
  }

  /** close makes every queue go at once from now on, and drops the timer. */
  close(): void {
    this.#closed = true;
    this.#clearTimer();
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
