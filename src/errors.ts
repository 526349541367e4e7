// errors.ts — the one table of error codes. Every failure the gateway reports is a
// GatewayError with a stable snake_case code and an origin; only server/reply.ts turns it into
// HTTP. The origin answers "whose fault is it?" once, as Envoy's response flags do, for every
// stage that needs to know (breaker, rollback, adaptive limit, retry, outlier detection).

/**
 * Origin says where a failure came from: the client's request, the gateway's own decision
 * (shedding, an open circuit, a deadline in the queue), the backend refusing the work (429,
 * 503: it did nothing), or the backend failing at it (unreachable, 5xx, a wrong answer, no
 * answer in time).
 */
export type Origin = 'client' | 'gateway' | 'backend_refused' | 'backend_failed';

interface CodeEntry { status: number; origin: Origin; retryAfter?: number }

/** errorCodes maps each stable code to its HTTP status, its origin and whether it carries Retry-After. */
export const errorCodes = {
  bad_request: { status: 400, origin: 'client' },
  invalid_json: { status: 400, origin: 'client' },
  bad_tensor: { status: 400, origin: 'client' },
  bad_name: { status: 400, origin: 'client' },
  bad_config: { status: 400, origin: 'client' },
  unauthorized: { status: 401, origin: 'client' },
  forbidden: { status: 403, origin: 'client' },
  not_found: { status: 404, origin: 'client' },
  model_not_found: { status: 404, origin: 'client' },
  // A model load asked for a name already loaded (SageMaker's multi-model contract: 409).
  model_exists: { status: 409, origin: 'client' },
  method_not_allowed: { status: 405, origin: 'client' },
  request_timeout: { status: 408, origin: 'client' },
  length_required: { status: 411, origin: 'client' },
  payload_too_large: { status: 413, origin: 'client' },
  response_too_large: { status: 413, origin: 'client' },
  not_acceptable: { status: 406, origin: 'client' },
  unsupported_media_type: { status: 415, origin: 'client' },
  expectation_failed: { status: 417, origin: 'client' },
  headers_too_large: { status: 431, origin: 'client' },
  rate_limited: { status: 429, origin: 'client', retryAfter: 1 },
  client_closed: { status: 499, origin: 'client' },
  // The gateway's own shedding and refusals.
  queue_full: { status: 429, origin: 'gateway', retryAfter: 1 },
  overloaded: { status: 429, origin: 'gateway', retryAfter: 1 },
  internal: { status: 500, origin: 'gateway' },
  not_ready: { status: 503, origin: 'gateway', retryAfter: 5 },
  draining: { status: 503, origin: 'gateway', retryAfter: 5 },
  circuit_open: { status: 503, origin: 'gateway', retryAfter: 5 },
  buffers_full: { status: 503, origin: 'gateway', retryAfter: 1 },
  // A model does not fit the memory budget for loaded models (SageMaker's multi-model contract: 507).
  insufficient_memory: { status: 507, origin: 'gateway' },
  // A transform (user code or a built-in) failed at a request it was given: not the backend's fault.
  transform_failed: { status: 500, origin: 'gateway' },
  // The backend refused the work: nothing ran, a later try may succeed.
  backend_overloaded: { status: 429, origin: 'backend_refused', retryAfter: 1 },
  backend_queue_full: { status: 429, origin: 'backend_refused', retryAfter: 1 },
  backend_unavailable: { status: 503, origin: 'backend_refused', retryAfter: 1 },
  // The backend failed at it.
  backend_error: { status: 502, origin: 'backend_failed' },
  backend_bad_reply: { status: 502, origin: 'backend_failed' },
  backend_unreachable: { status: 502, origin: 'backend_failed', retryAfter: 1 },
  deadline_exceeded: { status: 504, origin: 'backend_failed' },
} as const satisfies Record<string, CodeEntry>;

export type ErrorCode = keyof typeof errorCodes;

export interface GatewayErrorOptions {
  cause?: unknown;
  /** Overrides the table's status (e.g. a backend's own 4xx passed on as is). */
  status?: number;
  /** Seconds for Retry-After; overrides the table. */
  retryAfter?: number;
  /** Extra headers for the reply (e.g. Allow for 405). */
  headers?: Record<string, string>;
}

/** GatewayError is the only error type stages reject with: a code, a status and a message for the client. */
export class GatewayError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly origin: Origin;
  readonly retryAfter: number | undefined;
  readonly headers: Record<string, string> | undefined;

  constructor(code: ErrorCode, message: string, options: GatewayErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'GatewayError';
    this.code = code;
    const entry: CodeEntry = errorCodes[code];
    this.status = options.status ?? entry.status;
    this.origin = entry.origin;
    this.retryAfter = options.retryAfter ?? entry.retryAfter;
    this.headers = options.headers;
  }

  toJSON(): { error: string; code: ErrorCode } {
    return { error: this.message, code: this.code };
  }
}

/** restate gives the same failure (code, status, origin, Retry-After, headers) with a new message. */
export function restate(e: GatewayError, message: string): GatewayError {
  return new GatewayError(e.code, message, {
    cause: e, status: e.status,
    ...(e.retryAfter === undefined ? {} : { retryAfter: e.retryAfter }),
    ...(e.headers === undefined ? {} : { headers: e.headers }),
  });
}

const unreachableCodes = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN',
  'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'UND_ERR_CONNECT_TIMEOUT',
]);
const timeoutCodes = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT']);
// undici refusing a server's answer as malformed HTTP (llhttp's HPE_* codes besides): a length
// that disagrees with the body (duplicate or conflicting Content-Length, CL with TE), headers
// past its bounds, a body past the byte cap.
const badReplyCodes = new Set(['UND_ERR_RES_CONTENT_LENGTH_MISMATCH', 'UND_ERR_HEADERS_OVERFLOW', 'UND_ERR_RES_EXCEEDED_MAX_SIZE']);
// Errno codes that mean the connection never carried the request: nothing can have happened.
const notSentCodes = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);

/**
 * toGatewayError maps anything thrown to a GatewayError, in one place: timeouts → 504,
 * refused or reset connections → 502 backend_unreachable, an answer undici could not parse
 * (bad framing, bad headers, a bad status line) → 502 backend_bad_reply, aborts → the abort
 * reason, anything else → 500 internal (its message is kept out of the client's answer).
 */
export function toGatewayError(err: unknown, where = 'backend'): GatewayError {
  if (err instanceof GatewayError) return err;
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    if (err.name === 'AbortError' || code === 'UND_ERR_ABORTED' || code === 'ABORT_ERR') {
      const reason = (err as { cause?: unknown }).cause;
      if (reason instanceof GatewayError) return reason;
      return new GatewayError('client_closed', 'the request was aborted', { cause: err });
    }
    if (err.name === 'TimeoutError' || timeoutCodes.has(code)) {
      return new GatewayError('deadline_exceeded', `${where} did not answer in time`, { cause: err });
    }
    if (unreachableCodes.has(code)) {
      return new GatewayError('backend_unreachable', `${where} is unreachable (${code})`, { cause: err });
    }
    if (badReplyCodes.has(code) || code.startsWith('HPE_') || err.name === 'HTTPParserError') {
      return new GatewayError('backend_bad_reply', `${where} sent a malformed HTTP answer (${clip(code === '' ? err.message : `${code}: ${err.message}`, 160)})`, { cause: err });
    }
  }
  return new GatewayError('internal', 'internal error', { cause: err });
}

/** abortReason turns an aborted signal's reason into the GatewayError the client gets. */
export function abortReason(signal: AbortSignal, where = 'the request'): GatewayError {
  const reason: unknown = signal.reason;
  if (reason instanceof GatewayError) return reason;
  if (reason instanceof Error && reason.name === 'TimeoutError') {
    return new GatewayError('deadline_exceeded', `${where} ran out of time`, { cause: reason });
  }
  return new GatewayError('client_closed', `${where} was aborted`, { cause: reason });
}

/**
 * isBackendFault says whether a failed call counts against the backend (breaker, outlier
 * detection): it failed at the work, or refused it with a 5xx. A client's mistake, a client
 * that left, the gateway's own shedding and a backend's 429 never count.
 */
export function isBackendFault(err: unknown): boolean {
  const e = toGatewayError(err);
  return e.status >= 500 && (e.origin === 'backend_failed' || e.origin === 'backend_refused');
}

/** isTargetFault says whether a failure counts against a target (canary rollback): any 5xx but the client's. */
export function isTargetFault(err: unknown): boolean {
  const e = toGatewayError(err);
  return e.status >= 500 && e.origin !== 'client';
}

/** isCongestion says whether a failure speaks of capacity (adaptive limit): the backend refused, or took too long. */
export function isCongestion(err: unknown): boolean {
  const e = toGatewayError(err);
  return e.origin === 'backend_refused' || e.code === 'deadline_exceeded';
}

/**
 * isRetryable says whether a failed call may be sent again: the backend refused it with 503
 * (nothing ran), or it never left (a connect-phase errno in the cause chain: refused, DNS, no
 * route, connect timeout). A reset after sending is not retried: the backend may have run it.
 */
export function isRetryable(err: unknown): boolean {
  const e = toGatewayError(err);
  if (e.origin === 'backend_refused') return e.status === 503;
  if (e.code !== 'backend_unreachable') return false;
  let cause: unknown = e.cause;
  for (let depth = 0; depth < 5 && cause !== undefined && cause !== null; depth++) {
    const code = (cause as { code?: unknown }).code;
    if (typeof code === 'string' && notSentCodes.has(code)) return true;
    cause = (cause as { cause?: unknown }).cause;
  }
  return false;
}

/** describeValue names what a client sent where something else was expected, for error messages. */
export function describeValue(v: unknown): string {
  if (v === undefined) return 'missing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (typeof v === 'string') return `the string ${JSON.stringify(clip(v, 30))}`;
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${String(v)}`;
}

/** clip shortens text a client or a backend chose before it goes into a message or a log line. */
export function clip(text: string, max = 200): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
