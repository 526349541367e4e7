// errors.ts — the one table of error codes. Every failure the gateway reports is a
// GatewayError with a stable snake_case code; only server/reply.ts turns it into HTTP.

/** errorCodes maps each stable code to its HTTP status and whether it carries Retry-After. */
export const errorCodes = {
  bad_request: { status: 400 },
  invalid_json: { status: 400 },
  bad_tensor: { status: 400 },
  bad_name: { status: 400 },
  unauthorized: { status: 401 },
  forbidden: { status: 403 },
  not_found: { status: 404 },
  model_not_found: { status: 404 },
  method_not_allowed: { status: 405 },
  request_timeout: { status: 408 },
  length_required: { status: 411 },
  payload_too_large: { status: 413 },
  response_too_large: { status: 413 },
  unsupported_media_type: { status: 415 },
  expectation_failed: { status: 417 },
  headers_too_large: { status: 431 },
  queue_full: { status: 429, retryAfter: 1 },
  overloaded: { status: 429, retryAfter: 1 },
  rate_limited: { status: 429, retryAfter: 1 },
  internal: { status: 500 },
  backend_error: { status: 502 },
  backend_bad_reply: { status: 502 },
  backend_unreachable: { status: 502, retryAfter: 1 },
  backend_unavailable: { status: 503, retryAfter: 1 },
  not_ready: { status: 503, retryAfter: 5 },
  draining: { status: 503, retryAfter: 5 },
  circuit_open: { status: 503, retryAfter: 5 },
  deadline_exceeded: { status: 504 },
  client_closed: { status: 499 },
} as const satisfies Record<string, { status: number; retryAfter?: number }>;

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
  readonly retryAfter: number | undefined;
  readonly headers: Record<string, string> | undefined;

  constructor(code: ErrorCode, message: string, options: GatewayErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'GatewayError';
    this.code = code;
    const entry: { status: number; retryAfter?: number } = errorCodes[code];
    this.status = options.status ?? entry.status;
    this.retryAfter = options.retryAfter ?? entry.retryAfter;
    this.headers = options.headers;
  }

  toJSON(): { error: string; code: ErrorCode } {
    return { error: this.message, code: this.code };
  }
}

const unreachableCodes = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN',
  'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'UND_ERR_CONNECT_TIMEOUT',
]);
const timeoutCodes = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT']);

/**
 * toGatewayError maps anything thrown to a GatewayError, in one place: timeouts → 504,
 * refused or reset connections → 502 backend_unreachable, aborts → the abort reason,
 * anything else → 500 internal (its message is kept out of the client's answer).
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
  }
  return new GatewayError('internal', 'internal error', { cause: err });
}
