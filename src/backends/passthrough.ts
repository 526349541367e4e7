// passthrough.ts — a raw streaming proxy for routes that must not be parsed: Vertex rawPredict,
// unknown paths. Bodies pass both ways untouched: answers stream, and so do request bodies
// except one of declared length up to 64 KiB, read whole first as nginx does
// (proxy_request_buffering). Only the headers are cleaned: hop-by-hop headers and every header
// named in Connection are dropped, Upgrade is never forwarded, x-forwarded-* are set. It
// dispatches on the origin's shared undici Pool (shared/client.ts) with a handler that writes
// straight into the client's response rather than using http-proxy-3: two minimal proxies, one
// each way, measured on this machine with wrk (32 connections, 162 B body, CPU per request of
// the proxy process, three alternating runs) cost 69–76 µs per request on undici against
// 87–103 µs for http-proxy-3 over a keep-alive node:http Agent.

import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import type { Logger } from 'pino';
import type { Dispatcher } from 'undici';
import { GatewayError, toGatewayError } from '../errors.ts';
import type { Backend, BackendFactory, Health } from '../types.ts';
import { passthroughSchema, type PassthroughConfig } from './passthrough.schema.ts';
import { parserFailure, poolFor } from './shared/client.ts';
import { cleanHeaders, forwardedHeaders, validHeaders } from './shared/proxy-headers.ts';

/**
 * RawProxy streams one client request to the upstream at the given path (with query string).
 * `fail` answers a failure before the upstream's headers went out (the server writes it as
 * JSON); after that the client's stream is cut. It owns no sockets: the origin's pool is shared.
 */
export type RawProxy = (req: IncomingMessage, res: ServerResponse, path: string, fail: (err: unknown) => void) => void;

export interface RawProxyOptions {
  /** No byte from the upstream for this long → 504 (or the stream is cut once started). */
  timeoutMs?: number;
  connectTimeoutMs?: number;
}

// A path as the router hands it: absolute, printable ASCII, no fragment.
const pathPattern = /^\/[\x21-\x7e]*$/;
const maxPathLength = 8192;

/**
 * createRawProxy makes a proxy to one upstream origin (an optional base path is kept): the
 * upstream URL is that origin + base + the given path, never a URL resolved against the
 * client's path. Before the answer's headers are sent a failure goes to `fail` (400 for a bad
 * path, 502/504 for the upstream); after, the client's stream is cut. Nothing a client or an
 * upstream does throws out of it.
 */
export function createRawProxy(origin: string, log: Logger, options: RawProxyOptions = {}): RawProxy {
  const base = new URL(origin);
  if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new Error(`passthrough needs an http(s) URL, got ${origin}`);
  const basePath = base.pathname.replace(/\/+$/, '');
  const upstream = `${base.origin}${basePath}`;
  // Per dispatch, over the pool's own: a raw stream waits for its next byte this long, 0
  // without limit (undici's meaning of 0), whatever the model calls to the same origin use.
  const timeoutMs = options.timeoutMs ?? 0;
  const connectTimeoutMs = options.connectTimeoutMs ?? 5000;

  return (req, res, path, fail) => {
    if (path.length > maxPathLength || !pathPattern.test(path)) {
      fail(new GatewayError('bad_request', 'the request path is not a valid absolute path'));
      req.resume();
      return;
    }
    const headers = forwardedHeaders(req, res);
    // The upstream's own host, as a proxy that changes origin sends it; the client's is in x-forwarded-host.
    delete headers.host;
    const te = req.headers['transfer-encoding'];
    const cl = req.headers['content-length'];
    const handler = new ForwardHandler(res, (err, started) => {
      const gone = res.destroyed;
      if (!gone) log.warn({ err: (err as Error).message, code: (err as NodeJS.ErrnoException).code, upstream }, started ? 'passthrough stream cut' : 'passthrough failed');
      if (gone || res.headersSent) {
        res.destroy();
        return;
      }
      const e = toGatewayError(parserFailure(err), `passthrough upstream ${base.origin}`);
      if (e.code === 'client_closed') {
        res.destroy(); // the client's own upload broke: nobody to answer
        return;
      }
      const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      if (handler.answered && e.code !== 'payload_too_large') {
        // Its headers came, then its body stalled or broke: a bad reply, not a slow one.
        fail(new GatewayError('backend_bad_reply', `passthrough upstream ${base.origin} sent its headers, then its body failed (${code})`));
        return;
      }
      fail(e.code === 'internal' ? new GatewayError('backend_unreachable', `passthrough upstream ${base.origin} failed (${code})`) : e);
    });
    const send = (body: Buffer | PassThrough | undefined): void => {
      try {
        // Asked per request: after closeClients (shutdown, tests) the origin gets a fresh pool.
        poolFor(base.origin, { connectTimeoutMs }).dispatch({
          origin: base.origin, path: basePath + path, method: req.method ?? 'GET', headers: headers as Record<string, string | string[]>, body,
          headersTimeout: timeoutMs, bodyTimeout: timeoutMs,
        }, handler);
      } catch (err) {
        handler.onResponseError(undefined, err as Error);
      }
    };
    // Only a request with a body sends one: a GET must not go out chunked.
    if (te === undefined && (cl === undefined || cl === '0')) send(undefined);
    else if (te === undefined && Number(cl) <= bufferedBodyBytes) readWhole(req, send);
    else send(uploadOf(req));
  };
}

/**
 * bufferedBodyBytes: a request body of declared length up to this is read whole before the
 * upstream is called, as nginx does by default (proxy_request_buffering; its in-memory buffer is
 * 8–16 KiB, larger bodies going to a file): one write to the upstream instead of a stream piped
 * into undici, about 20% less CPU per request on the raw route (bench/ab.ts raw, both orders),
 * and memory stays bounded by maxConcurrentRequests × this. Larger and chunked bodies stream.
 */
const bufferedBodyBytes = 64 * 1024;

// readWhole gives the body once it has all come; a client that goes away before gets nothing
// sent upstream (nobody is left to answer).
function readWhole(req: IncomingMessage, send: (body: Buffer) => void): void {
  const chunks: Buffer[] = [];
  const onData = (chunk: Buffer): void => { chunks.push(chunk); };
  const stop = (): void => { req.off('data', onData).off('end', onEnd).off('aborted', stop).off('error', stop).off('close', onClose); };
  const onEnd = (): void => {
    stop();
    send(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
  };
  const onClose = (): void => { if (!req.complete) stop(); };
  req.on('data', onData).once('end', onEnd).once('aborted', stop).once('error', stop).once('close', onClose);
}

/**
 * uploadOf gives the client's body as a stream the proxy owns. undici destroys the body it was
 * given when the upstream's answer ends before the body was sent (an early answer: a 413 after
 * the head) or when the upstream fails; destroying the client's own request would cut the
 * client's connection before that answer is written to it. What the upstream did not take is
 * read and dropped, as Node does with a body nobody reads, so the answer gets out and the
 * connection stays usable; a client that goes away mid-body ends the upload with an error.
 */
function uploadOf(req: IncomingMessage): PassThrough {
  const upload = new PassThrough();
  // A request ended with a GatewayError (the server cut a body past maxBodyBytes) passes it on,
  // so the answer is that refusal; any other end of an unfinished body is the client leaving.
  const broke = (err?: unknown): void => {
    const reason = err ?? req.errored;
    if (!req.complete) upload.destroy(reason instanceof GatewayError ? reason : new GatewayError('client_closed', 'the client went away while sending'));
  };
  req.once('aborted', broke).once('error', broke).once('close', broke);
  upload.once('close', () => {
    req.off('aborted', broke).off('error', broke).off('close', broke);
    if (!req.complete) {
      req.unpipe(upload);
      req.resume();
    }
  });
  req.pipe(upload);
  return upload;
}

type Controller = Dispatcher.DispatchController;

// ForwardHandler writes the upstream's answer into the client's response as it arrives, pausing
// the upstream while the client's socket is full, and aborting the upstream when the client goes.
class ForwardHandler implements Dispatcher.DispatchHandler {
  #res: ServerResponse;
  #fail: ((err: Error, started: boolean) => void) | undefined;
  #started = false;
  #head: { statusCode: number; statusMessage: string | undefined; headers: IncomingHttpHeaders } | undefined;

  constructor(res: ServerResponse, fail: (err: Error, started: boolean) => void) {
    this.#res = res;
    this.#fail = fail;
  }

  /** The upstream's headers came (written or not yet). */
  get answered(): boolean { return this.#head !== undefined || this.#started; }

  onRequestStart(controller: Controller): void {
    const res = this.#res;
    if (res.destroyed) {
      controller.abort(new GatewayError('client_closed', 'the client closed the connection'));
      return;
    }
    res.once('close', () => {
      if (!res.writableFinished) controller.abort(new GatewayError('client_closed', 'the client closed the connection'));
    });
  }

  onResponseStart(controller: Controller, statusCode: number, headers: IncomingHttpHeaders, statusMessage?: string): void {
    if (statusCode < 200) return; // 1xx: not ours to pass on (Node answered 100-continue already)
    const res = this.#res;
    if (res.destroyed) return;
    // The head is written with the first byte of the body (or the end): an upstream that
    // stalls or fails after its headers can still be answered 502 JSON, nothing having gone out.
    this.#head = { statusCode, statusMessage, headers };
    res.on('drain', () => controller.resume());
  }

  #writeHead(): void {
    const head = this.#head;
    if (head === undefined) return;
    this.#head = undefined;
    this.#started = true;
    const res = this.#res;
    const clean = cleanHeaders(head.headers);
    try {
      res.writeHead(head.statusCode, head.statusMessage || undefined, clean);
    } catch {
      // A name or value Node will not write (undici lets some bytes through that Node's
      // writer refuses): drop those headers rather than the answer.
      res.writeHead(head.statusCode, validHeaders(clean));
    }
  }

  onResponseData(controller: Controller, chunk: Buffer): void {
    if (this.#res.destroyed) return;
    this.#writeHead();
    if (!this.#res.write(chunk)) controller.pause();
  }

  onResponseEnd(): void {
    this.#fail = undefined;
    if (this.#res.destroyed) return;
    this.#writeHead();
    this.#res.end();
  }

  onResponseError(_controller: Controller | undefined, err: Error): void {
    const fail = this.#fail;
    this.#fail = undefined;
    fail?.(err, this.#started);
  }
}


/** passthrough is the registry entry of the raw proxy backend. */
export const passthrough: BackendFactory<PassthroughConfig> = {
  type: 'passthrough',
  schema: passthroughSchema,
  create(name, config, deps): Backend {
    const proxy = createRawProxy(config.url, deps.log, { timeoutMs: config.timeoutMs, connectTimeoutMs: config.connectTimeoutMs });
    const health = (signal?: AbortSignal): Promise<Health> => probe(config.url, config.healthPath, signal);
    const notModels = (): Promise<never> => Promise.reject(new GatewayError('bad_request',
      `backend "${name}" is a passthrough: it serves raw routes only, not model calls`));
    return {
      name, type: 'passthrough',
      start: async () => {},
      model: () => ({ infer: notModels, metadata: notModels, health }),
      health,
      proxy,
      // The origin's pool is shared and closed with the others at shutdown (closeClients).
      close: async () => {},
    };
  },
};

async function probe(url: string, healthPath: string | undefined, signal?: AbortSignal): Promise<Health> {
  const origin = new URL(url);
  if (healthPath !== undefined) {
    try {
      const res = await fetch(`${origin.origin}${healthPath}`, { signal: signal ?? AbortSignal.timeout(5000) });
      await res.body?.cancel();
      return res.ok ? { ready: true } : { ready: false, reason: `GET ${healthPath} answered ${res.status}` };
    } catch (err) {
      return { ready: false, reason: `GET ${healthPath} failed: ${toGatewayError(err).message}` };
    }
  }
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (h: Health): void => { socket.destroy(); resolve(h); };
    socket.setTimeout(5000, () => done({ ready: false, reason: `connect to ${origin.host} timed out` }));
    signal?.addEventListener('abort', () => done({ ready: false, reason: 'health check aborted' }), { once: true });
    socket.once('error', (err: NodeJS.ErrnoException) => done({ ready: false, reason: `cannot connect to ${origin.host} (${err.code ?? err.message})` }));
    socket.connect(Number(origin.port || (origin.protocol === 'https:' ? 443 : 80)), origin.hostname.replace(/^\[|\]$/g, ''), () => done({ ready: true }));
  });
}
