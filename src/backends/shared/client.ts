// client.ts — one undici Pool per backend origin, shared by every backend file (model calls and
// raw passthrough streams alike); closed on shutdown. Timeouts are set deliberately: undici's
// defaults (300 s headers/body) are far past any deadline; the raw proxy sets its own per dispatch.
// Each connection keeps reading after its writes fail (see readsPastWriteFailure): a server that
// answers before it has read the body, then closes, has its answer passed on, as Envoy does.

import type { Socket } from 'node:net';
import { createRequire } from 'node:module';
import type { buildConnector, Dispatcher, Pool } from 'undici';

// undici is loaded on the first pool made, not at start: a config whose backends are all ONNX
// models never needs it, and loading it was a large share of the gateway's cold start
// (bench/coldstart.ts). require() keeps poolFor synchronous.
type Undici = typeof import('undici');
let undici: Undici | undefined;
const loadUndici = (): Undici => (undici ??= createRequire(import.meta.url)('undici') as Undici);

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
    pool = new (loadUndici().Pool)(key, {
      // 256, not 64: the raw proxy streams over this pool too, and a stream holds its connection
      // for as long as it runs (the raw proxy had its own pool of 256 before it shared this one).
      // Model calls are short and bounded by the gateway's own limits well before this.
      connections: options.connections ?? 256,
      pipelining: 1,
      connect: connector(options.connectTimeoutMs ?? 5_000),
      headersTimeout: options.headersTimeoutMs ?? 60_000,
      bodyTimeout: options.bodyTimeoutMs ?? 60_000,
      keepAliveTimeout: options.keepAliveTimeoutMs ?? 30_000,
    });
    pools.set(key, pool);
  }
  return pool;
}

// connector is undici's own, with every socket it opens made to read past a failed write.
function connector(timeout: number): buildConnector.connector {
  const connect = loadUndici().buildConnector({ timeout });
  return (opts, callback) => connect(opts, (err, socket) => {
    if (err !== null && err !== undefined) {
      callback(err, null);
      return;
    }
    readsPastWriteFailure(socket!);
    callback(null, socket!);
  });
}

// The peer closed its end: what it wrote before closing may still wait in the receive buffer.
const peerGone = new Set(['EPIPE', 'ECONNRESET']);

/**
 * readsPastWriteFailure keeps a connection reading when a write fails because the server went
 * away (EPIPE, ECONNRESET). A server may answer early — a 413 after reading only the request's
 * head — and close with the rest of the body unread; its kernel then resets the connection, and
 * the first write after that fails. Node would destroy the socket on that write error, and the
 * answer, already in our receive buffer, would be lost (a 502 for the client, a failure for the
 * breaker). Instead the failed write and every later one are dropped, and reading goes on: the
 * answer is parsed as usual, and the end of the stream (EOF or the reset, which the kernel gives
 * after the data it holds) closes the connection as for any server that closed.
 */
export function readsPastWriteFailure(socket: Socket): void {
  let gone = false;
  const write = socket._write;
  const writev = socket._writev;
  const settle = (callback: (err?: Error | null) => void) => (err?: Error | null): void => {
    if (err !== undefined && err !== null && peerGone.has((err as NodeJS.ErrnoException).code ?? '')) {
      gone = true;
      callback();
      return;
    }
    callback(err);
  };
  socket._write = function (chunk: unknown, encoding: BufferEncoding, callback: (err?: Error | null) => void): void {
    if (gone) callback();
    else write.call(this, chunk, encoding, settle(callback));
  };
  if (writev !== undefined) {
    socket._writev = function (chunks: Array<{ chunk: unknown; encoding: BufferEncoding }>, callback: (err?: Error | null) => void): void {
      if (gone) callback();
      else writev.call(this, chunks, settle(callback));
    };
  }
}

/**
 * parserFailure gives what undici threw for a server's answer, with one case named: a status
 * line under 100 (`099`) trips an assertion inside undici's parser rather than a parser error.
 * Only undici runs between the dispatch and the answer, so an assertion there is the server's
 * malformed answer: it becomes an HPE_INVALID_STATUS error, which toGatewayError maps to 502
 * backend_bad_reply like every other framing error.
 */
export function parserFailure(err: unknown): unknown {
  if (!(err instanceof Error) || (err as NodeJS.ErrnoException).code !== 'ERR_ASSERTION') return err;
  return Object.assign(new Error('the status line could not be parsed', { cause: err }), { code: 'HPE_INVALID_STATUS' });
}

/** closeClients closes every pool (on shutdown). */
export async function closeClients(): Promise<void> {
  const all = [...pools.values()];
  pools.clear();
  await Promise.allSettled(all.map((p) => p.close()));
}

export type { Dispatcher };
