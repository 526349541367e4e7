// request-context.ts — the objects the server makes for each request: the CallContext a model
// call carries, the HttpRequest a parsed route reads, the RawContext of a raw route. Each one's
// `log` is the request's child logger (its requestId bound), made on first read: most requests
// log nothing, and making one per request was a measurable share of the hot path.
//
// Classes with the getter on the prototype, never object literals with `get log()`: V8 gives a
// literal's accessor a pair of its own in the old space, and that pair's closure then holds the
// whole request (its sockets' buffers, undici's Request, the answer) through every scavenge until
// a full GC. Measured on the parsed and raw routes under wrk -c32 (--trace-gc-nvp): about 10 MB
// copied per scavenge, against the bare proxy's 3 MB.

import type { IncomingHttpHeaders } from 'node:http';
import type { Logger } from 'pino';
import type { TraceSpan } from '../observe/trace.ts';
import type { CallContext, HttpRequest, RawContext } from '../types.ts';

/** RequestLog is one request's child logger, made from the server's on first use. */
export class RequestLog {
  #base: Logger;
  #bindings: Record<string, unknown>;
  #child: Logger | undefined;

  constructor(base: Logger, bindings: Record<string, unknown>) {
    this.#base = base;
    this.#bindings = bindings;
  }

  get logger(): Logger { return (this.#child ??= this.#base.child(this.#bindings)); }

  /** Whether a level is on, without making the child for it. */
  enabled(level: string): boolean { return (this.#child ?? this.#base).isLevelEnabled(level); }
}

// An own property under a symbol: a copy made by derive() keeps it and the prototype's getter
// (a spread keeps the symbol but loses the getter, so contexts are copied with derive()).
const requestLog = Symbol('requestLog');

/** ServerCall is the CallContext the server (HTTP or gRPC) makes for a client request. */
export class ServerCall implements CallContext {
  requestId: string;
  signal: AbortSignal;
  deadline = Infinity;
  forward: Record<string, string>;
  headers: IncomingHttpHeaders;
  model = '';
  trace: TraceSpan | undefined;
  [requestLog]: RequestLog;

  constructor(requestId: string, signal: AbortSignal, forward: Record<string, string>, headers: IncomingHttpHeaders, log: RequestLog, trace?: TraceSpan) {
    this.requestId = requestId;
    this.signal = signal;
    this.forward = forward;
    this.headers = headers;
    this.trace = trace;
    this[requestLog] = log;
  }

  get log(): Logger { return this[requestLog].logger; }
}

/** ServerRequest is the HttpRequest a parsed route's handler gets. */
export class ServerRequest implements HttpRequest {
  readonly method: string;
  readonly path: string;
  readonly params: Record<string, string>;
  readonly headers: IncomingHttpHeaders;
  readonly remoteAddress: string;
  readonly maxJsonDepth: number;
  readonly call: CallContext;
  readonly body: () => Promise<Buffer>;
  query?: URLSearchParams;

  constructor(method: string, path: string, params: Record<string, string>, headers: IncomingHttpHeaders, remoteAddress: string,
    maxJsonDepth: number, call: CallContext, body: () => Promise<Buffer>) {
    this.method = method;
    this.path = path;
    this.params = params;
    this.headers = headers;
    this.remoteAddress = remoteAddress;
    this.maxJsonDepth = maxJsonDepth;
    this.call = call;
    this.body = body;
  }

  get requestId(): string { return this.call.requestId; }
  get log(): Logger { return this.call.log; }
}

/** RawCall is the RawContext a raw route gets. */
export class RawCall implements RawContext {
  readonly requestId: string;
  readonly path: string;
  readonly fail: (err: unknown) => void;
  #log: RequestLog;

  constructor(requestId: string, path: string, log: RequestLog, fail: (err: unknown) => void) {
    this.requestId = requestId;
    this.path = path;
    this.#log = log;
    this.fail = fail;
  }

  get log(): Logger { return this.#log.logger; }
}
