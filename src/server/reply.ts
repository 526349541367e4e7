// reply.ts — the one place that writes answers: JSON errors with their status, code and
// Retry-After (through a response, or straight onto a socket Node could not parse a request
// from), and handler replies. Never a stack trace, never HTML.

import { STATUS_CODES, type ServerResponse } from 'node:http';
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
  writeReply(res, errorReply(e));
  return e;
}

/**
 * rawErrorResponse gives the whole HTTP/1.1 answer to an error, as bytes for a socket that has
 * no response to write through (a request Node could not parse); the connection closes after it.
 */
export function rawErrorResponse(err: unknown): string {
  const reply = errorReply(toGatewayError(err));
  const body = stringifyJson(reply.body);
  const headers = { ...reply.headers, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), connection: 'close' };
  const lines = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  return `HTTP/1.1 ${reply.status} ${STATUS_CODES[reply.status] ?? 'Error'}\r\n${lines}\r\n${body}`;
}

// errorReply is the answer to an error: its status, its headers and Retry-After, {"error", "code"}.
function errorReply(e: GatewayError): HttpReply {
  const headers: Record<string, string> = { ...e.headers };
  if (e.retryAfter !== undefined) headers['retry-after'] = String(Math.max(1, Math.ceil(e.retryAfter)));
  return { status: e.status, headers, body: e.toJSON() };
}
