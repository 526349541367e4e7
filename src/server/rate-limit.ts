// rate-limit.ts — per-client token buckets (by API key or JWT subject, a header, or the peer
// address): 429 rate_limited with Retry-After when a client's bucket is empty.

import { z } from 'zod';
import { GatewayError } from '../errors.ts';

/** rateLimitSchema is a frontend's `rateLimit` block. */
export const rateLimitSchema = z.strictObject({
  requestsPerSecond: z.number().positive().describe('Sustained requests per second per client.'),
  burst: z.number().int().min(1).optional().describe('Bucket size: requests a client may send at once; default 2 × requestsPerSecond.'),
  key: z.string().regex(/^(client|ip|header:[A-Za-z0-9-]+)$/).default('client').describe(
    '"client": the authenticated identity, else the peer address; "ip": the peer address; "header:NAME": a request header.'),
  maxClients: z.number().int().min(1).default(100_000).describe('Buckets kept; the least recently used are forgotten beyond it.'),
}).describe('Per-client rate limit for a frontend.');

export type RateLimitConfig = z.infer<typeof rateLimitSchema>;


interface Bucket { tokens: number; at: number }

/** RateLimiter takes one token per request from the client's bucket. */
export class RateLimiter {
  #config: RateLimitConfig;
  #burst: number;
  // Map iteration order is insertion order: re-inserting on use makes it an LRU.
  #buckets = new Map<string, Bucket>();

  constructor(config: RateLimitConfig) {
    this.#config = config;
    this.#burst = config.burst ?? Math.max(1, Math.ceil(config.requestsPerSecond * 2));
  }

  /** keyFor picks the client key from the identity, headers and peer address. */
  keyFor(identity: string | undefined, headers: Record<string, string | string[] | undefined>, peer: string): string {
    const k = this.#config.key;
    if (k.startsWith('header:')) {
      const v = headers[k.slice(7).toLowerCase()];
      return `h:${typeof v === 'string' ? v.slice(0, 256) : peer}`;
    }
    if (k === 'client' && identity !== undefined) return `c:${identity}`;
    return `ip:${peer}`;
  }

  /** take consumes a token or throws rate_limited with the seconds until the next one. */
  take(key: string, now = performance.now()): void {
    const rate = this.#config.requestsPerSecond;
    let b = this.#buckets.get(key);
    if (b === undefined) {
      b = { tokens: this.#burst, at: now };
      if (this.#buckets.size >= this.#config.maxClients) this.#buckets.delete(this.#buckets.keys().next().value!);
    } else {
      this.#buckets.delete(key);
      b.tokens = Math.min(this.#burst, b.tokens + ((now - b.at) / 1000) * rate);
      b.at = now;
    }
    this.#buckets.set(key, b);
    if (b.tokens < 1) {
      const wait = (1 - b.tokens) / rate;
      throw new GatewayError('rate_limited', `rate limit of ${rate} requests/s exceeded for this client`, { retryAfter: wait });
    }
    b.tokens -= 1;
  }
}
