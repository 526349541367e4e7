// client.ts — one undici Pool per backend origin, shared by every backend file (model calls and
// raw passthrough streams alike); closed on shutdown. Timeouts are set deliberately: undici's
// defaults (300 s headers/body) are far past any deadline; the raw proxy sets its own per dispatch.

import { Pool, type Dispatcher } from 'undici';

export interface ClientOptions {
  connections?: number;
  connectTimeoutMs?: number;
  headersTimeoutMs?: number;
  bodyTimeoutMs?: number;
  keepAliveTimeoutMs?: number;
}

const pools = new Map<string, Pool>();

/** poolFor gives the shared keep-alive pool for an origin (scheme://host:port); the first caller's options make it. */
export function poolFor(origin: string, options: ClientOptions = {}): Pool {
  // Callers mostly pass a bare origin already: found without parsing it (this runs per call).
  const known = pools.get(origin);
  if (known !== undefined) return known;
  const key = new URL(origin).origin;
  let pool = pools.get(key);
  if (pool === undefined) {
    pool = new Pool(key, {
      // 256, not 64: the raw proxy streams over this pool too, and a stream holds its connection
      // for as long as it runs (the raw proxy had its own pool of 256 before it shared this one).
      // Model calls are short and bounded by the gateway's own limits well before this.
      connections: options.connections ?? 256,
      pipelining: 1,
      connect: { timeout: options.connectTimeoutMs ?? 5_000 },
      headersTimeout: options.headersTimeoutMs ?? 60_000,
      bodyTimeout: options.bodyTimeoutMs ?? 60_000,
      keepAliveTimeout: options.keepAliveTimeoutMs ?? 30_000,
    });
    pools.set(key, pool);
  }
  return pool;
}

/** closeClients closes every pool (on shutdown). */
export async function closeClients(): Promise<void> {
  const all = [...pools.values()];
  pools.clear();
  await Promise.allSettled(all.map((p) => p.close()));
}

export type { Dispatcher };
