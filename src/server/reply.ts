// reply.ts — the one place that writes answers: JSON errors with their status, code and
// Retry-After, and handler replies. Never a stack trace, never HTML.

import type { ServerResponse } from 'node:http';
import { stringifyJson } from '../codecs/json.ts';
import { GatewayError, toGatewayError } from '../errors.ts';
import type { HttpReply } from '../types.ts';

/** writeReply sends a handler's reply; objects become JSON. */
export function writeReply(res: ServerResponse, reply: HttpReply): void {
  if (res.headersSent || res.destroyed) return;
  let body: Buffer | string | undefined;
  const headers: Record<string, string> = { ...reply.headers };
  if (reply.body === undefined || reply.body === null) body = undefined;
  else if (typeof reply.body === 'string' || Buffer.isBuffer(reply.body)) body = reply.body;
  else if (reply.body instanceof Uint8Array) body = Buffer.from(reply.body.buffer, reply.body.byteOffset, reply.body.byteLength);
  else {
    body = stringifyJson(reply.body);
    headers['content-type'] ??= 'application/json';
  }
  if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));
  else if (reply.status !== 204 && reply.status !== 304) headers['content-length'] = '0';
  res.writeHead(reply.status, headers);
  res.end(body);
}

/** writeError sends a GatewayError (or anything, mapped through toGatewayError) as JSON. */
export function writeError(res: ServerResponse, err: unknown): GatewayError {
  const e = toGatewayError(err);
  if (res.headersSent) {
    // The answer already started: the only honest signal left is a broken connection.
    res.destroy();
    return e;
  }
  if (e.code === 'client_closed' || res.destroyed) return e;
  const headers: Record<string, string> = { ...e.headers };
  if (e.retryAfter !== undefined) headers['retry-after'] = String(Math.max(1, Math.ceil(e.retryAfter)));
  writeReply(res, { status: e.status, headers, body: e.toJSON() });
  return e;
}
