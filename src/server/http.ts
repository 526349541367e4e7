// http.ts — the node:http listener: request ids, body limits, the request's call context (its
// abort signal follows the client; the deadline is the model path's), then hand-off to the
// router. Every accepted request ends with a definite answer.

import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { clip, GatewayError } from '../errors.ts';
import { inFlight, requestDuration, requestsTotal } from '../observe/metrics.ts';
import type { CallContext, HttpRequest } from '../types.ts';
import { serveRaw } from './raw-limits.ts';
import { rawErrorResponse, writeError, writeReply } from './reply.ts';
import type { RouteMatch, Router } from './router.ts';

export interface HttpServerOptions {
  maxBodyBytes: number;
  maxJsonDepth: number;
  /** Most request headers accepted; more → 431. */
  maxHeaders: number;
  /** A body that stalls this long between chunks gets 408 (slow-client protection). */
  bodyIdleTimeoutMs: number;
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
  log: Logger;
  /** The current router; read per request so a reload swaps it atomically. */
  router(): Router;
  /** True while draining: answers carry Connection: close. */
  draining(): boolean;
  /** Requests served at once; beyond it → 429 before the body is read, so memory stays bounded. */
  maxConcurrentRequests: number;
}

const requestIdPattern = /^[A-Za-z0-9._:-]{1,128}$/;

/** createHttpServer makes the platform listener (not yet listening). */
export function createHttpServer(options: HttpServerOptions): Server {
  const active = { count: 0 };
  const server = createServer({
    headersTimeout: options.headersTimeoutMs,
    requestTimeout: options.requestTimeoutMs,
    // Node checks headersTimeout/requestTimeout only this often (default 30 s, so a slowloris
    // socket would live up to 30 s past its timeout): check at least every second.
    connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(Math.min(options.headersTimeoutMs, options.requestTimeoutMs) / 2))),
    keepAliveTimeout: options.keepAliveTimeoutMs,
    // Headers larger than this get 431 from Node itself.
    maxHeaderSize: 16 * 1024,
    requireHostHeader: false,
  }, (req, res) => { void handle(req, res, options, active); });
  // Node drops headers past maxHeadersCount without a word; one more than the limit lets
  // handle() see that the limit was passed and answer 431, with parsing still bounded.
  server.maxHeadersCount = options.maxHeaders + 1;
  // Node answers an Expect other than 100-continue with a bare 417; give it the JSON shape.
  server.on('checkExpectation', (req: IncomingMessage, res: ServerResponse) => {
    res.setHeader('connection', 'close');
    writeError(res, new GatewayError('expectation_failed', `Expect: ${clip(String(req.headers.expect), 64)} is not supported`));
  });
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    // A reset or a broken pipe is not a request to answer; and with this listener attached
    // Node leaves destroying the socket to us (else the request would never see its close).
    const answerable = err.code === 'ERR_HTTP_REQUEST_TIMEOUT' || err.code?.startsWith('HPE_') === true;
    if (!socket.writable || !answerable) {
      socket.destroy();
      return;
    }
    const answer = err.code === 'HPE_HEADER_OVERFLOW'
      ? new GatewayError('headers_too_large', 'request headers are too large')
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? new GatewayError('request_timeout', 'the request was not received in time')
        : new GatewayError('bad_request', 'malformed HTTP request');
    const pending = (socket as { _httpMessage?: ServerResponse | null })._httpMessage ?? undefined;
    if (pending !== undefined && !pending.req.complete) {
      // The framing broke inside this response's own request (a bad chunk, a stalled body):
      // answer it through its response, which closes the connection after.
      // Its body will never complete, and once this answer is out Node forgets the request
      // (no 'aborted' or 'close' would reach whoever reads it): end it ourselves.
      pending.once('close', () => pending.req.destroy());
      if (pending.headersSent) socket.destroy();
      else {
        pending.setHeader('connection', 'close');
        writeError(pending, answer);
      }
      return;
    }
    const raw = rawErrorResponse(answer);
    // A later pipelined request is malformed: answers stay in order, so the earlier answer
    // goes out first, then this one, then the close.
    if (pending !== undefined) {
      pending.once('finish', () => { if (socket.writable) socket.end(raw); else socket.destroy(); });
      pending.once('close', () => { if (!pending.writableFinished) socket.destroy(); });
      return;
    }
    socket.end(raw);
  });
  return server;
}

async function handle(req: IncomingMessage, res: ServerResponse, options: HttpServerOptions, active: { count: number }): Promise<void> {
  const started = performance.now();
  const header = req.headers['x-request-id'];
  const requestId = typeof header === 'string' && requestIdPattern.test(header) ? header : randomUUID();
  res.setHeader('x-request-id', requestId);
  if (options.draining()) res.setHeader('connection', 'close');
  // The request's child logger is made on first use: most requests log nothing at the usual
  // levels, and making one per request was a measurable share of the hot path.
  let child: Logger | undefined;
  const logOf = (): Logger => (child ??= options.log.child({ requestId }));
  const tooManyHeaders = req.rawHeaders.length > options.maxHeaders * 2;
  const rawUrl = req.url ?? '/';
  const q = rawUrl.indexOf('?');
  const path = q < 0 ? rawUrl : rawUrl.slice(0, q);
  const router = options.router();
  router.active++;
  // One close listener per request: it frees the router's count and, for a model call, tells
  // the call the client left (an answer not finished when the response closed).
  let controller: AbortController | undefined;
  res.once('close', () => {
    router.active--;
    if (controller !== undefined && !res.writableFinished) controller.abort(new GatewayError('client_closed', 'the client closed the connection'));
  });
  const match = router.match(req.method ?? 'GET', path);

  if (match.kind === 'raw' && !tooManyHeaders) {
    // Raw routes stream: raw-limits.ts applies the same limits and metrics to them.
    serveRaw(match.route, req, res, { requestId, log: logOf, path: rawUrl }, {
      maxBodyBytes: options.maxBodyBytes, maxConcurrentRequests: options.maxConcurrentRequests, active, started,
      refuse: (err) => {
        writeError(res, err);
        if (!req.complete && !res.destroyed) res.once('finish', () => lingerClose(req));
      },
    });
    return;
  }
  let frontend = 'none';
  let call: CallContext | undefined;
  let code = 200;
  let counted = false;
  try {
    if (tooManyHeaders) throw new GatewayError('headers_too_large', `the request has more than ${options.maxHeaders} headers`);
    if (match.kind !== 'route') throw unrouted(match, req.method ?? 'GET', path);
    frontend = match.route.frontend;
    if (active.count >= options.maxConcurrentRequests && frontend !== 'admin') {
      throw new GatewayError('overloaded', `the gateway is serving ${active.count} requests, its limit`);
    }
    active.count++;
    counted = true;
    inFlight.inc({ frontend });
    controller = new AbortController();
    call = {
      requestId, signal: controller.signal, deadline: Infinity, forward: forwardHeaders(req, requestId),
      headers: req.headers, get log() { return logOf(); }, model: '',
    };
    let body: Promise<Buffer> | undefined;
    const httpReq: HttpRequest = {
      method: req.method ?? 'GET',
      path,
      params: match.params,
      headers: req.headers,
      requestId,
      get log() { return logOf(); },
      remoteAddress: req.socket.remoteAddress ?? '',
      maxJsonDepth: options.maxJsonDepth,
      body: () => (body ??= readBody(req, options.maxBodyBytes, options.bodyIdleTimeoutMs)),
      call,
    };
    const reply = await match.route.handle(httpReq);
    code = reply.status;
    writeReply(res, reply);
  } catch (err) {
    // A failed call names its target too, in the answer and the metrics: a canary's errors
    // must be told apart from the primary's.
    if (call?.target !== undefined && !res.headersSent) res.setHeader('x-infergate-target', call.target);
    const e = writeError(res, err);
    code = e.status;
    if (e.status >= 500 && e.code !== 'not_ready' && e.code !== 'draining') logOf().warn({ code: e.code, err: e.cause ?? e }, e.message);
    else if ((child ?? options.log).isLevelEnabled('debug')) logOf().debug({ code: e.code }, e.message);
  } finally {
    if (counted) {
      active.count--;
      inFlight.dec({ frontend });
    }
    const model = call?.model ?? '';
    requestsTotal.inc({ frontend, model, target: call?.target ?? '', code: String(code) });
    requestDuration.observe({ frontend, model }, (performance.now() - started) / 1000);
    if ((child ?? options.log).isLevelEnabled('debug')) {
      logOf().debug({ method: req.method, path: clip(path), status: code, ms: Math.round(performance.now() - started) }, 'request');
    }
    // A body we never read (an error before body()) must not be parsed as the next request, and
    // the connection closes after it; but not at once (see lingerClose).
    if (!req.complete && !res.destroyed) res.once('finish', () => lingerClose(req));
  }
}

// unrouted is the answer to a path no parsed route serves: 405 with Allow when the path has
// routes for other methods, else 404.
function unrouted(match: Exclude<RouteMatch, { kind: 'route' }>, method: string, path: string): GatewayError {
  if (match.kind === 'none' && match.status === 405) {
    return new GatewayError('method_not_allowed', `${method} is not allowed on ${clip(path)}; allowed: ${match.allow.join(', ')}`,
      { headers: { allow: match.allow.join(', ') } });
  }
  return new GatewayError('not_found', `no route for ${method} ${clip(path)}`);
}

// Lingering close, as nginx does it: a client still sending a body we refused has our answer
// in its receive buffer, and closing now would make the kernel answer its next bytes with a
// reset that destroys that answer unread. So read and discard the rest, for at most
// lingerMs and lingerBytes, then close.
const lingerMs = 2000;
const lingerBytes = 16 * 1024 * 1024;

function lingerClose(req: IncomingMessage): void {
  const socket = req.socket;
  if (socket.destroyed) return;
  let seen = 0;
  const timer = setTimeout(() => socket.destroy(), lingerMs);
  const onData = (chunk: Buffer): void => {
    seen += chunk.length;
    if (seen > lingerBytes) socket.destroy();
  };
  const done = (): void => { clearTimeout(timer); req.off('data', onData); };
  req.on('data', onData);
  req.once('end', () => { done(); socket.end(); });
  socket.once('close', done);
  req.resume();
}

/**
 * readBody reads the request body, refusing more than limit bytes as soon as it knows, and
 * giving up with 408 when the client stops sending for idleMs.
 */
export function readBody(req: IncomingMessage, limit: number, idleMs = 15_000): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) {
    return Promise.reject(new GatewayError('payload_too_large', `request body of ${declared} bytes exceeds the limit of ${limit} bytes`));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const idle = setTimeout(() => onIdle(), idleMs);
    const onIdle = (): void => {
      cleanup();
      req.pause();
      reject(new GatewayError('request_timeout', `the request body stalled for ${idleMs} ms`));
    };
    const onData = (chunk: Buffer): void => {
      idle.refresh();
      size += chunk.length;
      if (size > limit) {
        cleanup();
        req.pause();
        reject(new GatewayError('payload_too_large', `request body exceeds the limit of ${limit} bytes`));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => { cleanup(); resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)); };
    const onError = (err: Error): void => { cleanup(); reject(new GatewayError('client_closed', 'the client went away while sending', { cause: err })); };
    // 'close' too: a request that ends without 'end', 'aborted' or 'error' (see clientError)
    // would otherwise hold its slot under maxConcurrentRequests until the idle timer.
    const onAborted = (): void => { cleanup(); reject(new GatewayError('client_closed', 'the client went away while sending')); };
    const cleanup = (): void => {
      clearTimeout(idle);
      req.off('data', onData); req.off('end', onEnd); req.off('error', onError); req.off('aborted', onAborted); req.off('close', onAborted);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('aborted', onAborted);
    req.on('close', onAborted);
  });
}

function forwardHeaders(req: IncomingMessage, requestId: string): Record<string, string> {
  const out: Record<string, string> = { 'x-request-id': requestId };
  const tp = req.headers.traceparent;
  if (typeof tp === 'string' && /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/.test(tp)) {
    out.traceparent = tp;
    const ts = req.headers.tracestate;
    if (typeof ts === 'string' && ts.length <= 512) out.tracestate = ts;
  }
  return out;
}
