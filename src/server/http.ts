// http.ts — the node:http listener: request ids, body limits, the request's call context (its
// abort signal follows the client; the deadline is the model path's), then hand-off to the
// router. Every accepted request ends with a definite answer. Requests on one connection are
// served one at a time (connection.ts).

import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { Logger } from 'pino';
import { clip, GatewayError } from '../errors.ts';
import { httpRequestField, parseCloudTrace, traceFields } from '../observe/cloud-trace.ts';
import { inFlight, requestDuration, requestsTotal } from '../observe/metrics.ts';
import { codeLabel } from '../observe/series.ts';
import { payloadLog } from '../observe/payload-log.ts';
import { spanned, tracing } from '../observe/trace.ts';
import type { CallContext } from '../types.ts';
import { framingProblem, inTurn, settleBody } from './connection.ts';
import { bodyRefusal, readBody } from './body.ts';
import { attachH2c, settleStream } from './h2c.ts';
import { h2HeadersProblem } from './h2-limits.ts';
import { RequestLog, ServerCall, ServerRequest } from './request-context.ts';
import { endRequestSpan, requestSpan } from './request-span.ts';
import { serveRaw } from './raw-limits.ts';
import { forwardHeaders, requestIdOf } from './request-id.ts';
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
  /** HTTP/2 cleartext beside HTTP/1.1 (h2c.ts), with this many streams per connection. */
  /** HTTP/2 cleartext beside HTTP/1.1; gRPC calls on it go to the gRPC port (grpcPort) as they are. */
  h2c?: { maxConcurrentStreams: number; grpcPort?: () => number | undefined };
  /** Cloud Logging: request ids from X-Cloud-Trace-Context, trace fields and httpRequest on request lines. */
  cloudLogging?: { project: string };
}

// node:http through require: as an ES module import its namespace reads every export, and the
// lazy WebSocket/MessageEvent getters then load Node's bundled undici (~35 ms CPU per start).
const { createServer } = createRequire(import.meta.url)('node:http') as typeof import('node:http');

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
  }, (req, res) => { inTurn(req, res, () => { void handle(req, res, options, active, false); }); });
  // With this listener Node leaves `100 Continue` to us: it is sent when a route reads the body,
  // never before an answer that refuses the request without reading it (404, 401, 413, …).
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    inTurn(req, res, () => { void handle(req, res, options, active, true); });
  });
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
  if (options.h2c !== undefined) {
    attachH2c(server, {
      maxConcurrentStreams: options.h2c.maxConcurrentStreams, maxHeaders: options.maxHeaders,
      firstBytesTimeoutMs: options.headersTimeoutMs, idleTimeoutMs: options.keepAliveTimeoutMs, draining: options.draining,
      serve: (req, res) => handle(req as unknown as IncomingMessage, res as unknown as ServerResponse, options, active, false),
      ...(options.h2c.grpcPort === undefined ? {} : { grpcPort: options.h2c.grpcPort }),
    });
  }
  return server;
}

async function handle(req: IncomingMessage, res: ServerResponse, options: HttpServerOptions, active: { count: number }, expectsContinue: boolean): Promise<void> {
  const started = performance.now();
  // An HTTP/2 stream (h2c.ts): no Connection header, and one connection carries many at once.
  const h2 = req.httpVersionMajor === 2;
  const trace = options.cloudLogging === undefined ? undefined : parseCloudTrace(req.headers['x-cloud-trace-context']);
  const requestId = requestIdOf(req.headers);
  res.setHeader('x-request-id', requestId);
  // OCI's clients read their own id back from opc-request-id.
  if (req.headers['opc-request-id'] !== undefined) res.setHeader('opc-request-id', requestId);
  if (options.draining() && !h2) res.setHeader('connection', 'close');
  const log = new RequestLog(options.log, trace === undefined ? { requestId } : { requestId, ...traceFields(trace, options.cloudLogging!.project) });
  const headersProblem = h2 ? h2HeadersProblem(req.rawHeaders, options.maxHeaders)
    : req.rawHeaders.length > options.maxHeaders * 2 ? `the request has more than ${options.maxHeaders} headers` : undefined;
  const badFraming = framingProblem(req);
  const rawUrl = req.url ?? '/';
  const q = rawUrl.indexOf('?');
  const path = q < 0 ? rawUrl : rawUrl.slice(0, q);
  const router = options.router();
  router.active++;
  // One close listener per request: it frees the router's count and the request's place under
  // maxConcurrentRequests (held until the answer is written, not until the handler returns), and,
  // for a model call, tells the call the client left (an answer not finished when it closed).
  let controller: AbortController | undefined;
  let counted = false;
  let frontend = 'none';
  res.once('close', () => {
    router.active--;
    if (counted) {
      active.count--;
      inFlight.at(frontend).dec();
    }
    if (controller !== undefined && !res.writableFinished) controller.abort(new GatewayError('client_closed', 'the client closed the connection'));
  });
  // Before an answer goes out: what becomes of a body not received whole (connection.ts).
  let continued = false;
  const settle = (err?: unknown): void => {
    if (h2) { settleStream(req, res); return; }
    const stalled = err instanceof GatewayError && err.code === 'request_timeout';
    settleBody(req, res, { close: badFraming !== undefined, mayDiscard: !stalled && (!expectsContinue || continued), idleMs: options.bodyIdleTimeoutMs });
  };
  const match = router.match(req.method ?? 'GET', path);
  // The request's span, when tracing is on; admin routes (scrapes, probes) make none.
  const span = tracing === undefined || match.kind === 'none' || match.route.frontend === 'admin'
    ? undefined : requestSpan(req, match.route.path, match.route.frontend, requestId);

  if (match.kind === 'raw' && headersProblem === undefined && badFraming === undefined) {
    if (span !== undefined) {
      // A raw proxy passes the client's headers on as they are: the upstream's parent is this span.
      Object.assign(req.headers, span.headers());
      res.once('close', () => { span.set('http.response.status_code', res.statusCode); span.end(res.writableFinished ? undefined : new Error('the answer was not finished')); });
    }
    // Raw routes stream: raw-limits.ts applies the same limits and metrics to them; an answer
    // it gives (a refusal, an upstream failure) settles the unread body as the parsed path does.
    serveRaw(match.route, req, res, { requestId, log, path: rawUrl }, {
      maxBodyBytes: options.maxBodyBytes, maxConcurrentRequests: options.maxConcurrentRequests, active, started,
      admitted: () => {
        if (!expectsContinue) return;
        continued = true;
        res.writeContinue();
      },
      refuse: (err) => {
        settle(err);
        writeError(res, err);
      },
    });
    return;
  }
  let call: CallContext | undefined;
  let code = 200;
  let failed: GatewayError | undefined;
  let body: Promise<Buffer> | undefined;
  try {
    if (badFraming !== undefined) throw new GatewayError('bad_request', badFraming);
    if (headersProblem !== undefined) throw new GatewayError('headers_too_large', headersProblem);
    if (match.kind !== 'route') throw unrouted(match, req.method ?? 'GET', path);
    frontend = match.route.frontend;
    if (active.count >= options.maxConcurrentRequests && frontend !== 'admin') {
      throw new GatewayError('overloaded', `the gateway is serving ${active.count} requests, its limit`);
    }
    active.count++;
    counted = true;
    inFlight.at(frontend).inc();
    controller = new AbortController();
    call = new ServerCall(requestId, controller.signal, forwardHeaders(req.headers, requestId), req.headers, log, span);
    const httpReq = new ServerRequest(req.method ?? 'GET', path, match.params, req.headers, req.socket.remoteAddress ?? '', options.maxJsonDepth, call, () => {
      if (body !== undefined) return body;
      if (expectsContinue && !continued && !res.headersSent && bodyRefusal(req, options.maxBodyBytes) === undefined) {
        continued = true;
        res.writeContinue();
      }
      body = readBody(req, options.maxBodyBytes, options.bodyIdleTimeoutMs, h2 ? options.requestTimeoutMs - (performance.now() - started) : undefined);
      if (span !== undefined) body = spanned(span.child('read body'), body);
      return body;
    });
    // Parsed only when there is a query string (most model calls have none).
    if (q >= 0) httpReq.query = new URLSearchParams(rawUrl.slice(q + 1));
    const reply = await match.route.handle(httpReq);
    code = reply.status;
    settle();
    writeReply(res, reply);
    // After the answer went out: a payload sink never holds up the client.
    if (payloadLog !== undefined && req.method === 'POST' && frontend !== 'admin') {
      payloadLog.record({ requestId, model: call.model, target: call.target, headers: req.headers, requestBody: body, status: code, responseBody: reply.body, responseType: reply.headers?.['content-type'] });
    }
  } catch (err) {
    // A failed call names its target too, in the answer and the metrics: a canary's errors
    // must be told apart from the primary's.
    if (call?.target !== undefined && !res.headersSent) res.setHeader('x-infergate-target', call.target);
    settle(err);
    const e = writeError(res, err, match.kind === 'route' ? match.route.errorStyle : undefined);
    code = e.status;
    if (e.status >= 500 && e.code !== 'not_ready' && e.code !== 'draining') log.logger.warn({ code: e.code, err: e.cause ?? e }, e.message);
    else if (log.enabled('debug')) log.logger.debug({ code: e.code }, e.message);
    if (payloadLog !== undefined && req.method === 'POST' && call !== undefined && frontend !== 'admin') {
      payloadLog.record({ requestId, model: call.model, target: call.target, headers: req.headers, requestBody: body, status: e.status, responseBody: e.toJSON(), responseType: 'application/json' });
    }
    failed = e;
  } finally {
    if (span !== undefined) endRequestSpan(span, code, call, failed);
    const model = call?.model ?? '';
    requestsTotal.at(frontend, model, call?.target ?? '', codeLabel(code)).inc();
    requestDuration.at(frontend, model).observe((performance.now() - started) / 1000);
    if (log.enabled('debug')) {
      const ms = performance.now() - started;
      const line: Record<string, unknown> = { method: req.method, path: clip(path), status: code, ms: Math.round(ms) };
      if (options.cloudLogging !== undefined) {
        line.httpRequest = httpRequestField({
          method: req.method ?? 'GET', url: clip(rawUrl, 512), status: code, latencyMs: ms, userAgent: req.headers['user-agent'],
          remoteIp: req.socket?.remoteAddress ?? '', protocol: `HTTP/${req.httpVersion}`, requestSize: Number(req.headers['content-length'] ?? 0) || undefined,
        });
      }
      log.logger.debug(line, 'request');
    }
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
