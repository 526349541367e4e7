// port-range.ts — the ports the gateway may take for itself besides the platform port: SageMaker
// gives a container SAGEMAKER_SAFE_PORT_RANGE ("LOW-HIGH", inclusive) for everything it listens
// on other than SAGEMAKER_BIND_TO_PORT, and a port outside it may be refused there. When the
// range is set, the admin port and each spawned backend's `{port}` come from it.

import { createServer } from 'node:net';
import { z } from 'zod';

/** portRangeSchema reads "LOW-HIGH"; "" (an unset ${VAR:-}) means none. */
export const portRangeSchema = z.preprocess((v) => (v === '' || v === null ? undefined : v), z.string()
  .regex(/^\d{1,5}-\d{1,5}$/, 'a port range is "LOW-HIGH", e.g. "9000-9999"')
  .refine((s) => { const [low, high] = s.split('-').map(Number) as [number, number]; return low >= 1 && low <= high && high <= 65535; },
    'a port range needs 1 ≤ LOW ≤ HIGH ≤ 65535')
  .optional());

/** PortRange hands out the range's ports in order, round and round. */
export class PortRange {
  readonly low: number;
  readonly high: number;
  #next: number;

  constructor(text: string) {
    [this.low, this.high] = text.split('-').map(Number) as [number, number];
    this.#next = this.low;
  }

  /** take gives the next port of the range without checking it (the first start: nothing else listens yet). */
  take(): number {
    const port = this.#next;
    this.#next = port >= this.high ? this.low : port + 1;
    return port;
  }

  /** takeFree gives the next port of the range that nothing on `host` listens on (a reload: old processes still run). */
  async takeFree(host: string): Promise<number> {
    for (let tries = 0; tries <= this.high - this.low; tries++) {
      const port = this.take();
      if (await isFree(port, host)) return port;
    }
    throw new Error(`no free port in ${this.low}-${this.high} on ${host}`);
  }
}

function isFree(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}
