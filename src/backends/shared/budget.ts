// budget.ts — one process-wide budget for backend answer bytes held in memory while they are
// read (server.maxBufferedBytes). Every read of a model server's answer (link.ts readCapped)
// reserves its bytes here first: the declared Content-Length at once, an undeclared length
// chunk by chunk. A read that does not fit waits briefly for others to finish, then is refused
// with 503 buffers_full + Retry-After, so many concurrent huge answers cannot take the memory.

import { GatewayError } from '../../errors.ts';
import { bufferedBytes, bufferRefusals } from '../../observe/metrics.ts';

/** ByteBudget is a count of bytes in use against a limit, with brief waits for room. */
export class ByteBudget {
  #limit: number;
  #used = 0;
  #waitMs: number;
  #waiters: Array<() => void> = [];

  constructor(limit: number, waitMs = 250) {
    this.#limit = limit;
    this.#waitMs = waitMs;
  }

  get limit(): number { return this.#limit; }
  get used(): number { return this.#used; }

  /** setLimit changes the bound (a config load or reload); what is held stays held. */
  setLimit(limit: number): void {
    this.#limit = limit;
    this.#wake();
  }

  /** tryTake takes bytes when they fit now. A single answer larger than the whole budget never fits. */
  tryTake(bytes: number): boolean {
    if (this.#used + bytes > this.#limit) return false;
    this.#used += bytes;
    bufferedBytes.set(this.#used);
    return true;
  }

  /**
   * take takes bytes, waiting up to waitMs (or until the signal aborts) for others to give
   * theirs back; past that it throws 503 buffers_full.
   */
  async take(bytes: number, signal?: AbortSignal): Promise<void> {
    if (this.tryTake(bytes)) return;
    if (bytes <= this.#limit) {
      const until = performance.now() + this.#waitMs;
      for (let round = 0; round < 64 && performance.now() < until && signal?.aborted !== true; round++) {
        await this.#waitForRoom(until - performance.now(), signal);
        if (this.tryTake(bytes)) return;
      }
    }
    bufferRefusals.inc();
    throw new GatewayError('buffers_full',
      `the gateway holds ${this.#used} bytes of backend answers, its limit (server.maxBufferedBytes ${this.#limit}); this answer needs ${bytes} more`);
  }

  /** give returns bytes taken. */
  give(bytes: number): void {
    if (bytes <= 0) return;
    this.#used = Math.max(0, this.#used - bytes);
    bufferedBytes.set(this.#used);
    this.#wake();
  }

  #wake(): void {
    if (this.#waiters.length === 0) return;
    for (const w of this.#waiters.splice(0)) w();
  }

  #waitForRoom(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        const i = this.#waiters.indexOf(done);
        if (i >= 0) this.#waiters.splice(i, 1);
        resolve();
      };
      const timer = setTimeout(done, Math.max(1, ms));
      signal?.addEventListener('abort', done, { once: true });
      this.#waiters.push(done);
    });
  }
}

/** answerBudget is the process's budget for backend answer bytes, sized by server.maxBufferedBytes. */
export const answerBudget = new ByteBudget(256 * 1024 * 1024);
