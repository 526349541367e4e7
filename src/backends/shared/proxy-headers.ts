// proxy-headers.ts — the headers a raw proxy passes each way: hop-by-hop headers (and every
// header Connection names) dropped, x-forwarded-* set for the upstream, and an upstream's
// header Node cannot write dropped rather than the answer.

import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';

// node:http through require: as an ES module import its namespace reads every export, and the
// lazy WebSocket/MessageEvent getters then load Node's bundled undici (~35 ms CPU per start).
const { validateHeaderName, validateHeaderValue } = createRequire(import.meta.url)('node:http') as typeof import('node:http');

// RFC 9110 §7.6.1 plus the de-facto ones; `expect` too: Node already answered 100-continue.
const hopByHop = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade',
  'proxy-authorization', 'proxy-authenticate', 'http2-settings', 'expect',
]);
/** cleanHeaders drops hop-by-hop headers and every header the Connection header names. */
export function cleanHeaders<H extends IncomingHttpHeaders | OutgoingHttpHeaders>(headers: H): H {
  const connection = headers.connection;
  let named: Set<string> | undefined;
  for (const value of Array.isArray(connection) ? connection : [connection]) {
    if (typeof value === 'string') for (const n of value.split(',')) (named ??= new Set()).add(n.trim().toLowerCase());
  }
  const out: Record<string, unknown> = {};
  for (const key in headers) {
    const value = headers[key];
    const k = key.toLowerCase();
    if (value === undefined || hopByHop.has(k) || named?.has(k) === true) continue;
    out[key] = value;
  }
  return out as H;
}

/** validHeaders keeps the headers Node can write in a response (RFC 9110 tokens and field values). */
export function validHeaders(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const out: IncomingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    try {
      validateHeaderName(name);
      for (const v of Array.isArray(value) ? value : [value ?? '']) validateHeaderValue(name, v);
      out[name] = value;
    } catch { /* dropped */ }
  }
  return out;
}

/** forwardedHeaders gives the client's request headers as the upstream gets them. */
export function forwardedHeaders(req: IncomingMessage, res: ServerResponse): IncomingHttpHeaders {
  const headers = cleanHeaders(req.headers);
  const peer = req.socket.remoteAddress ?? '';
  const prior = headers['x-forwarded-for'];
  headers['x-forwarded-for'] = prior !== undefined && prior !== '' ? `${prior}, ${peer}` : peer;
  // Proto and host describe what the first proxy saw: keep a load balancer's values.
  headers['x-forwarded-proto'] ??= (req.socket as { encrypted?: boolean }).encrypted === true ? 'https' : 'http';
  if (headers['x-forwarded-host'] === undefined && headers.host !== undefined) headers['x-forwarded-host'] = headers.host;
  const id = res.getHeader('x-request-id');
  if (headers['x-request-id'] === undefined && typeof id === 'string') headers['x-request-id'] = id;
  return headers;
}
