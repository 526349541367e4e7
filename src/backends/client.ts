// client.ts — one undici Pool per backend origin, shared by every backend file; closed on shutdown.
// Timeouts are set deliberately: undici's defaults (300 s headers/body) are far past any deadline.

import { Pool, type Dispatcher } from 'undici';

export interface ClientOptions {
  connections?: number;
  connectTimeoutMs?: number;
  headersTimeoutMs?: number;
  bodyTimeoutMs?: number;
  keepAliveTimeoutMs?: number;
}

const pools = new Map<string, Pool>();

/** poolFor gives the shared keep-alive pool for an origin (scheme://host:port). */
export function poolFor(origin: string, options: ClientOptions = {}): Pool {
  const key = new URL(origin).origin;
  let pool = pools.get(key);
  if (pool === undefined) {
    pool = new Pool(key, {
      connections: options.connections ?? 64,
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
