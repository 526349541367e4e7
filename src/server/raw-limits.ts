// raw-limits.ts — the server's limits for raw (streaming) routes, which never go through the
// parsed path: maxConcurrentRequests (counted until the answer ends), maxBodyBytes (a declared
// Content-Length over it is refused at once; a streamed body is counted as it arrives, never
// buffered, and cut when it passes the limit: 413 when nothing was answered yet) and the request
// metrics (infergate_requests_total, _request_duration_seconds, _in_flight). Auth and the rate
// limit are the route's own wrapping (access.ts), inside these.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { GatewayError, toGatewayError } from '../errors.ts';
import { inFlight, requestDuration, requestsTotal } from '../observe/metrics.ts';
import { codeLabel } from '../observe/series.ts';
import type { RawRoute } from '../types.ts';
import { RawCall, type RequestLog } from './request-context.ts';

export interface RawLimits {
  maxBodyBytes: number;
  maxConcurrentRequests: number;
  /** The server's count of requests being served, shared with the parsed routes. */
  active: { count: number };
  /** When the request arrived (performance.now()), for the duration metric. */
  started: number;
  /** Called once the request is admitted, before its body is read (100 Continue goes out then). */
  admitted(): void;
  /**
   * Answers a refusal or a failure, as the parsed routes do theirs (the server's handling of
   * the unread rest of the body included).
   */
  refuse(err: GatewayError): void;
}

/** serveRaw runs a raw route inside the server's limits. */
export function serveRaw(route: RawRoute, req: IncomingMessage, res: ServerResponse,
  ctx: { requestId: string; log: RequestLog; path: string }, limits: RawLimits): void {
  const frontend = route.frontend;
  const count = (code: number): void => {
    requestsTotal.at(frontend, '', '', codeLabel(code)).inc();
    requestDuration.at(frontend, '').observe((performance.now() - limits.started) / 1000);
  };
  const { maxBodyBytes, maxConcurrentRequests, active } = limits;
  const declared = req.headers['content-length'];
  const refusal = active.count >= maxConcurrentRequests
    ? new GatewayError('overloaded', `the gateway is serving ${active.count} requests, its limit`)
    : declared !== undefined && Number(declared) > maxBodyBytes
      ? new GatewayError('payload_too_large', `request body of ${declared} bytes exceeds the limit of ${maxBodyBytes} bytes`)
      : undefined;
  if (refusal !== undefined) {
    limits.refuse(refusal);
    count(refusal.status);
    return;
  }

  active.count++;
  inFlight.at(frontend).inc();
  // The body passed the limit: once set, the rest of the body is dropped and the answer (if
  // none started) is this 413.
  let tooLarge: GatewayError | undefined;
  res.once('close', () => {
    active.count--;
    inFlight.at(frontend).dec();
    count(tooLarge !== undefined && !res.headersSent ? tooLarge.status : res.headersSent ? res.statusCode : 499);
  });
  const fail = (err: unknown): void => {
    // Whatever the upstream made of a body cut short, the client's answer is the 413.
    limits.refuse(tooLarge ?? toGatewayError(err));
  };
  limits.admitted();
  if (declared === undefined && req.headers['transfer-encoding'] !== undefined) countBody(req, res, maxBodyBytes, (e) => {
    tooLarge = e;
    cut(req);
  });
  route.raw(req, res, new RawCall(ctx.requestId, ctx.path, ctx.log, fail));
}

// countBody counts the body's bytes as the HTTP parser hands them over (the request's own
// push, so the stream's flow and its reader are untouched) and calls over() once they pass the
// limit; from then on the rest of the body is read and dropped, so the parser keeps the
// connection's framing (the answer says Connection: close, and the server closes it after).
function countBody(req: IncomingMessage, res: ServerResponse, limit: number, over: (e: GatewayError) => void): void {
  const push = req.push.bind(req);
  let seen = 0;
  let cutOff = false;
  req.push = (chunk: unknown, encoding?: BufferEncoding): boolean => {
    if (chunk === null || chunk === undefined) return cutOff ? false : push(chunk, encoding);
    if (cutOff) return true;
    seen += (chunk as Buffer).length;
    if (seen <= limit) return push(chunk, encoding);
    cutOff = true;
    if (!res.headersSent && res.req?.httpVersionMajor !== 2) res.setHeader('connection', 'close');
    over(new GatewayError('payload_too_large', `request body exceeds the limit of ${limit} bytes`));
    return true;
  };
}

// cut ends the body stream with an error so that its reader (the upstream request) is aborted,
// but keeps the client's socket, which still has to carry the 413: an IncomingMessage destroyed
// without its socket does not take the socket with it.
function cut(req: IncomingMessage): void {
  const socket = req.socket as Socket | null;
  (req as { socket: Socket | null }).socket = null;
  try {
    req.destroy(new GatewayError('payload_too_large', 'the request body passed the limit'));
  } finally {
    (req as { socket: Socket | null }).socket = socket;
  }
}
