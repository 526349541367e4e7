import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  abortReason, clip, describeValue, type ErrorCode, errorCodes, GatewayError, isBackendFault, isCongestion,
  isRetryable, isTargetFault, restate, toGatewayError,
} from '../src/errors.ts';

function errno(code: string, message = `connect ${code} 127.0.0.1:1`): Error {
  return Object.assign(new Error(message), { code });
}

const codes = Object.keys(errorCodes) as ErrorCode[];
const origins = new Set(['client', 'gateway', 'backend_refused', 'backend_failed']);

describe('errorCodes', () => {
  it('gives every code an HTTP error status and an origin', () => {
    assert.ok(codes.length > 20);
    for (const code of codes) {
      const entry = errorCodes[code] as { status: number; origin: string; retryAfter?: number };
      assert.match(code, /^[a-z][a-z0-9_]*$/, code);
      assert.ok(Number.isInteger(entry.status) && entry.status >= 400 && entry.status <= 599, code);
      assert.ok(origins.has(entry.origin), code);
      if (entry.retryAfter !== undefined) assert.ok(entry.retryAfter > 0, code);
    }
  });

  it('keeps client codes 4xx and only lets the backend and gateway give 5xx', () => {
    for (const code of codes) {
      const { status, origin } = errorCodes[code];
      if (origin === 'client') assert.ok(status < 500, code);
      if (origin === 'backend_failed') assert.ok(status >= 500, code);
    }
    assert.equal(errorCodes.bad_request.status, 400);
    assert.equal(errorCodes.model_not_found.status, 404);
    assert.equal(errorCodes.client_closed.status, 499);
    assert.equal(errorCodes.backend_unavailable.status, 503);
    assert.equal(errorCodes.backend_unreachable.status, 502);
    assert.equal(errorCodes.deadline_exceeded.status, 504);
  });
});

describe('GatewayError', () => {
  it('takes status, origin and Retry-After from the table', () => {
    const e = new GatewayError('queue_full', 'the queue is full');
    assert.ok(e instanceof Error);
    assert.equal(e.name, 'GatewayError');
    assert.equal(e.message, 'the queue is full');
    assert.equal(e.code, 'queue_full');
    assert.equal(e.status, 429);
    assert.equal(e.origin, 'gateway');
    assert.equal(e.retryAfter, 1);
    assert.equal(e.headers, undefined);
    assert.equal(e.cause, undefined);
    assert.equal(new GatewayError('bad_tensor', 'x').retryAfter, undefined);
  });

  it('lets options override status and Retry-After but never the origin, and keeps cause and headers', () => {
    const cause = new Error('root');
    const e = new GatewayError('backend_error', 'the backend said 418', { status: 418, retryAfter: 30, cause, headers: { allow: 'POST' } });
    assert.equal(e.status, 418);
    assert.equal(e.origin, 'backend_failed');
    assert.equal(e.retryAfter, 30);
    assert.equal(e.cause, cause);
    assert.deepEqual(e.headers, { allow: 'POST' });
  });

  it('serialises to the one error body shape', () => {
    assert.deepEqual(JSON.parse(JSON.stringify(new GatewayError('not_found', 'no such route', { cause: new Error('secret') }))), {
      error: 'no such route', code: 'not_found',
    });
  });
});

describe('restate', () => {
  it('keeps code, status, origin, Retry-After and headers under a new message, the old one as cause', () => {
    const first = new GatewayError('backend_error', 'raw', { status: 418, retryAfter: 7, headers: { 'x-a': '1' } });
    const again = restate(first, 'model m: raw');
    assert.notEqual(again, first);
    assert.equal(again.message, 'model m: raw');
    assert.equal(again.code, 'backend_error');
    assert.equal(again.status, 418);
    assert.equal(again.origin, 'backend_failed');
    assert.equal(again.retryAfter, 7);
    assert.deepEqual(again.headers, { 'x-a': '1' });
    assert.equal(again.cause, first);
  });

  it('keeps the table default when the error had no override', () => {
    const again = restate(new GatewayError('bad_tensor', 'a'), 'b');
    assert.equal(again.status, 400);
    assert.equal(again.retryAfter, undefined);
    assert.equal(again.headers, undefined);
  });
});

describe('toGatewayError', () => {
  it('returns a GatewayError as it is', () => {
    const e = new GatewayError('forbidden', 'no');
    assert.equal(toGatewayError(e), e);
  });

  it('maps an AbortError to its GatewayError cause, else to client_closed', () => {
    const reason = new GatewayError('deadline_exceeded', 'the deadline passed');
    const abort = new DOMException('This operation was aborted', 'AbortError');
    Object.defineProperty(abort, 'cause', { value: reason });
    assert.equal(toGatewayError(abort), reason);

    const plain = toGatewayError(new DOMException('aborted', 'AbortError'));
    assert.equal(plain.code, 'client_closed');
    assert.equal(plain.status, 499);
    assert.match(plain.message, /aborted/);

    for (const code of ['UND_ERR_ABORTED', 'ABORT_ERR']) {
      const e = toGatewayError(Object.assign(new Error('x'), { code, cause: reason }));
      assert.equal(e, reason, code);
    }
  });

  it('maps timeouts to 504 deadline_exceeded naming where', () => {
    const t = toGatewayError(new DOMException('The operation timed out', 'TimeoutError'), 'triton');
    assert.equal(t.code, 'deadline_exceeded');
    assert.equal(t.status, 504);
    assert.match(t.message, /triton did not answer in time/);
    for (const code of ['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT']) {
      const e = toGatewayError(errno(code));
      assert.equal(e.status, 504, code);
      assert.equal(e.code, 'deadline_exceeded', code);
      assert.match(e.message, /^backend did not answer in time/);
    }
  });

  it('maps refused and reset connections to 502 backend_unreachable with the errno in the message', () => {
    for (const code of ['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT']) {
      const cause = errno(code);
      const e = toGatewayError(cause, 'the model server');
      assert.equal(e.code, 'backend_unreachable', code);
      assert.equal(e.status, 502, code);
      assert.equal(e.origin, 'backend_failed', code);
      assert.equal(e.message, `the model server is unreachable (${code})`);
      assert.equal(e.cause, cause);
    }
  });

  it('maps an answer undici could not parse to 502 backend_bad_reply, a backend fault', () => {
    const parser = Object.assign(new Error('Response does not match the HTTP/1.1 protocol (Invalid header value char)'), { name: 'HTTPParserError' });
    for (const cause of [errno('UND_ERR_RES_CONTENT_LENGTH_MISMATCH'), errno('UND_ERR_HEADERS_OVERFLOW'), errno('UND_ERR_RES_EXCEEDED_MAX_SIZE'), errno('HPE_INVALID_STATUS'), parser]) {
      const e = toGatewayError(cause, 'the model server');
      assert.equal(e.code, 'backend_bad_reply', cause.message);
      assert.equal(e.status, 502);
      assert.match(e.message, /^the model server sent a malformed HTTP answer \(/);
      assert.equal(e.cause, cause);
      assert.ok(isBackendFault(e));
    }
  });

  it('maps anything else to 500 internal without its message', () => {
    for (const thrown of [new TypeError('secret path /etc/passwd'), errno('EACCES', 'secret token abc'), 'a string secret', 42, null, undefined, { message: 'secret' }]) {
      const e = toGatewayError(thrown);
      assert.equal(e.code, 'internal');
      assert.equal(e.status, 500);
      assert.equal(e.message, 'internal error');
      assert.doesNotMatch(JSON.stringify(e), /secret/);
      assert.equal(e.cause, thrown);
    }
  });
});

describe('abortReason', () => {
  it('gives a GatewayError reason as it is', () => {
    const reason = new GatewayError('draining', 'shutting down');
    const c = new AbortController();
    c.abort(reason);
    assert.equal(abortReason(c.signal), reason);
  });

  it('turns a timeout into deadline_exceeded naming where', () => {
    const c = new AbortController();
    c.abort(new DOMException('timed out', 'TimeoutError'));
    const e = abortReason(c.signal, 'the call to m');
    assert.equal(e.code, 'deadline_exceeded');
    assert.equal(e.status, 504);
    assert.equal(e.message, 'the call to m ran out of time');
  });

  it('turns any other reason into client_closed', () => {
    const c = new AbortController();
    c.abort();
    const e = abortReason(c.signal);
    assert.equal(e.code, 'client_closed');
    assert.equal(e.message, 'the request was aborted');
    const d = new AbortController();
    d.abort('bye');
    assert.equal(abortReason(d.signal).cause, 'bye');
  });
});

describe('fault classification', () => {
  const g = (code: ErrorCode, status?: number): GatewayError => new GatewayError(code, code, status === undefined ? {} : { status });

  it('isBackendFault: backend 5xx and backend_unavailable count; 429s, client and gateway refusals do not', () => {
    for (const e of [g('backend_error'), g('backend_bad_reply'), g('backend_unreachable'), g('deadline_exceeded'), g('backend_unavailable'), errno('ECONNREFUSED'), errno('UND_ERR_HEADERS_TIMEOUT')]) {
      assert.equal(isBackendFault(e), true, String(e));
    }
    for (const e of [g('backend_overloaded'), g('backend_queue_full'), g('bad_request'), g('bad_tensor'), g('client_closed'), g('rate_limited'),
      g('overloaded'), g('queue_full'), g('circuit_open'), g('not_ready'), g('draining'), g('internal'), g('backend_error', 404), new DOMException('x', 'AbortError')]) {
      assert.equal(isBackendFault(e), false, String(e));
    }
  });

  it('isTargetFault: any 5xx that is not the client\'s', () => {
    for (const e of [g('backend_error'), g('backend_unavailable'), g('internal'), g('circuit_open'), g('deadline_exceeded'), new Error('boom')]) {
      assert.equal(isTargetFault(e), true, String(e));
    }
    for (const e of [g('bad_request'), g('client_closed'), g('backend_overloaded'), g('queue_full'), g('backend_error', 400)]) {
      assert.equal(isTargetFault(e), false, String(e));
    }
  });

  it('isCongestion: the backend refused or took too long', () => {
    for (const e of [g('backend_overloaded'), g('backend_queue_full'), g('backend_unavailable'), g('deadline_exceeded'), errno('ETIMEDOUT')]) {
      assert.equal(isCongestion(e), true, String(e));
    }
    for (const e of [g('backend_error'), g('backend_unreachable'), g('queue_full'), g('overloaded'), g('bad_request'), g('internal')]) {
      assert.equal(isCongestion(e), false, String(e));
    }
  });

  it('isRetryable: a 503 refusal, or a connection that never carried the request', () => {
    assert.equal(isRetryable(g('backend_unavailable')), true);
    assert.equal(isRetryable(g('backend_overloaded')), false);
    assert.equal(isRetryable(g('backend_unavailable', 429)), false);
    assert.equal(isRetryable(errno('ECONNREFUSED')), true);
    assert.equal(isRetryable(errno('ENOTFOUND')), true);
    assert.equal(isRetryable(errno('UND_ERR_CONNECT_TIMEOUT')), true);
    // the errno deeper in the cause chain, as undici reports it (TypeError: fetch failed → cause)
    const wrapped = new GatewayError('backend_unreachable', 'm is unreachable', { cause: new Error('fetch failed', { cause: errno('ECONNREFUSED') }) });
    assert.equal(isRetryable(wrapped), true);
    assert.equal(isRetryable(restate(wrapped, 'again')), true);
  });

  it('isRetryable: not after a reset, a timeout, a backend error or a client mistake', () => {
    assert.equal(isRetryable(errno('ECONNRESET')), false);
    assert.equal(isRetryable(errno('EPIPE')), false);
    assert.equal(isRetryable(errno('UND_ERR_SOCKET')), false);
    assert.equal(isRetryable(new GatewayError('backend_unreachable', 'reset', { cause: new Error('fetch failed', { cause: errno('ECONNRESET') }) })), false);
    assert.equal(isRetryable(new GatewayError('backend_unreachable', 'no cause')), false);
    for (const code of ['deadline_exceeded', 'backend_error', 'backend_bad_reply', 'bad_request', 'client_closed', 'circuit_open', 'queue_full', 'internal'] as const) {
      assert.equal(isRetryable(g(code)), false, code);
    }
  });
});

describe('describeValue', () => {
  it('names what was sent', () => {
    assert.equal(describeValue(undefined), 'missing');
    assert.equal(describeValue(null), 'null');
    assert.equal(describeValue([1, 2, 3]), 'an array of 3');
    assert.equal(describeValue([]), 'an array of 0');
    assert.equal(describeValue('abc'), 'the string "abc"');
    assert.equal(describeValue({ a: 1 }), 'an object');
    assert.equal(describeValue(5), 'number 5');
    assert.equal(describeValue(true), 'boolean true');
    assert.equal(describeValue(10n), 'bigint 10');
  });

  it('clips a long string and quotes it as JSON', () => {
    const d = describeValue('x'.repeat(100));
    assert.equal(d, `the string "${'x'.repeat(30)}…"`);
    assert.equal(describeValue('a"b\n'), 'the string "a\\"b\\n"');
  });
});

describe('clip', () => {
  it('keeps text up to max and cuts longer text with an ellipsis', () => {
    assert.equal(clip('short'), 'short');
    assert.equal(clip('a'.repeat(200)), 'a'.repeat(200));
    assert.equal(clip('a'.repeat(201)), `${'a'.repeat(200)}…`);
    assert.equal(clip('abcdef', 3), 'abc…');
    assert.equal(clip('abc', 3), 'abc');
    assert.equal(clip('', 0), '');
  });
});
