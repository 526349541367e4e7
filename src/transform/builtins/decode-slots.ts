// decode-slots.ts — a bound on the image decodes running at once (libvips work in libuv's
// thread pool): the rest wait their turn in order, so decoding never takes every core.

/** DecodeSlots runs at most `size` jobs at once, the others in the order they came. */
export class DecodeSlots {
  #free: number;
  #waiting: Array<() => void> = [];

  constructor(size: number) {
    this.#free = size;
  }

  async run<T>(job: () => Promise<T>): Promise<T> {
    if (this.#free > 0) this.#free--;
    else await new Promise<void>((resolve) => this.#waiting.push(resolve));
    try {
      return await job();
    } finally {
      const next = this.#waiting.shift();
      if (next !== undefined) next();
      else this.#free++;
    }
  }
}
