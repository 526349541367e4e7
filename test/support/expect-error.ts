// expect-error.ts (test support) — checks that a gateway answer is an error in the one shape
// every route uses: JSON with exactly the keys "error" (a string) and "code". For answers read
// with fetch and for raw ones read off a socket (test/support/raw-client.ts).

import assert from 'node:assert/strict';
import { GatewayError } from '../../src/errors.ts';
import type { RawResponse } from './raw-client.ts';

/** expectError checks status and the one error shape: exactly {"error": string, "code": string} JSON. */
export async function expectError(res: Response, status: number, code: string, what = ''): Promise<{ error: string; code: string }> {
  return checkError(res.status, res.headers.get('content-type'), await res.text(), status, code, what);
}

/** expectErrorBody is expectError for a response read off a raw socket. */
export function expectErrorBody(res: RawResponse, status: number, code: string, what = ''): { error: string; code: string } {
  return checkError(res.status, res.headers['content-type'], res.body, status, code, what);
}

function checkError(gotStatus: number, contentType: string | null | undefined, text: string, status: number, code: string, what: string): { error: string; code: string } {
  assert.equal(gotStatus, status, `${what} ${text}`);
  assert.match(contentType ?? '', /^application\/json/, what);
  const body = JSON.parse(text) as Record<string, unknown>;
  assert.deepEqual(Object.keys(body).sort(), ['code', 'error'], `${what} error body keys: ${text}`);
  assert.equal(typeof body.error, 'string', what);
  assert.equal(body.code, code, `${what} ${text}`);
  return body as { error: string; code: string };
}

/** throwsGatewayError checks that f throws a GatewayError with `code` and a message matching `pattern`. */
export function throwsGatewayError(f: () => unknown, code: string, pattern: RegExp): void {
  assert.throws(f, (err: unknown) => {
    assert.ok(err instanceof GatewayError, String(err));
    assert.equal(err.code, code);
    assert.match(err.message, pattern);
    return true;
  });
}
