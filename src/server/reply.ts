// reply.ts — the one place that writes answers: JSON errors with their status, code and
// Retry-After (through a response, or straight onto a socket Node could not parse a request
// from), and handler replies. Never a stack trace, never HTML.

import type { ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { Readable } from 'node:stream';
import { stringifyJson } from '../codecs/json.ts';
import { GatewayError, toGatewayError } from '../errors.ts';
import type { ErrorStyle, HttpReply } from '../types.ts';

// node:http through require: as an ES module import its namespace reads every export, and the
// lazy WebSocket/MessageEvent getters then load Node's bundled undici (~35 ms CPU per start).
const { STATUS_CODES } = createRequire(import.meta.url)('node:http') as typeof import('node:http');

/** writeReply sends a handler's reply; objects become JSON. */
export function writeReply(res: ServerResponse, reply: HttpReply): void {
  if (reply.body instanceof Readable) { writeStream(res, reply, reply.body); return; }
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
  res.writeHead(reply.status, forProtocol(res, headers));
  res.end(body);
}

/**
 * writeStream relays a streamed answer chunk by chunk (chunked transfer), pausing the source
 * while the client's buffer is full. A client that leaves destroys the source (which aborts the
 * server's call). A failure after the first byte ends the answer so the client can tell: an
 * error event for server-sent events, else the chunked body is cut (no final chunk).
 */
function writeStream(res: ServerResponse, reply: HttpReply, source: Readable): void {
  if (res.headersSent || res.destroyed) { source.destroy(); return; }
  openStreams.add(source);
  source.once('close', () => openStreams.delete(source));
  const headers: Record<string, string> = { ...reply.headers };
  const sse = (headers['content-type'] ?? '').toLowerCase().startsWith('text/event-stream');
  if (sse) headers['cache-control'] ??= 'no-cache';
  res.writeHead(reply.status, forProtocol(res, headers));
  res.flushHeaders();
  let ended = false;
  source.on('data', (chunk: Buffer) => { if (!res.write(chunk)) source.pause(); });
  res.on('drain', () => source.resume());
  source.once('end', () => { ended = true; res.end(); });
  source.once('error', (err) => {
    ended = true;
    if (res.destroyed) return;
    const e = toGatewayError(err);
    if (sse) res.end(`event: error\ndata: ${stringifyJson(e.toJSON())}\n\n`);
    else res.destroy(e);
  });
  res.once('close', () => { if (!ended) source.destroy(); });
}

// HTTP/2 forbids connection-specific header fields (RFC 9113 §8.2.2) and Node throws on them
// when the answer is written; an h2c answer (server/h2c.ts) goes without them.
const connectionSpecific = ['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade'];
function forProtocol(res: ServerResponse, headers: Record<string, string>): Record<string, string> {
  if (res.req?.httpVersionMajor !== 2) return headers;
  for (const name of Object.keys(headers)) if (connectionSpecific.includes(name.toLowerCase())) delete headers[name];
  return headers;
}

// The streams being relayed now, so that a drain can end them as a failure would.
const openStreams = new Set<Readable>();

/**
 * endStreams ends every stream still being relayed, as a failure after the first byte does (an
 * SSE error event carrying `err`, or a cut chunked body): at the end of a drain, so that clients
 * are told rather than left with a connection that just closes. Gives how many it ended.
 */
export function endStreams(err: GatewayError): number {
  const n = openStreams.size;
  for (const s of [...openStreams]) s.destroy(err);
  return n;
}

/** writeError sends a GatewayError (or anything, mapped through toGatewayError) as JSON. */
export function writeError(res: ServerResponse, err: unknown, style?: ErrorStyle): GatewayError {
  const e = toGatewayError(err);
  if (res.headersSent) {
    // The answer already started: the only honest signal left is a broken connection.
    res.destroy();
    return e;
  }
  if (e.code === 'client_closed' || res.destroyed) return e;
  writeReply(res, errorReply(e, style));
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

// errorReply is the answer to an error: its status, its headers and Retry-After, {"error", "code"}
// (or, on a route that speaks OpenAI's API, its error object, which OpenAI clients read).
function errorReply(e: GatewayError, style?: ErrorStyle): HttpReply {
  const headers: Record<string, string> = { ...e.headers };
  if (e.retryAfter !== undefined) headers['retry-after'] = String(Math.max(1, Math.ceil(e.retryAfter)));
  if (style === 'openai') return { status: e.status, headers, body: { error: { message: e.message, type: openaiErrorType(e.status), param: null, code: e.code } } };
  return { status: e.status, headers, body: e.toJSON() };
}

// openaiErrorType gives the `type` OpenAI's API puts on an error of that status.
function openaiErrorType(status: number): string {
  if (status === 401) return 'authentication_error';
  if (status === 403) return 'permission_error';
  if (status === 429) return 'rate_limit_error';
  return status < 500 ? 'invalid_request_error' : 'server_error';
}
