// grpc-relay.ts — gRPC on the platform port. Cloud Run (and Knative) give a container one port,
// and with --use-http2 gRPC calls arrive there as h2c streams; grpc-js serves only a port of its
// own (frontends.grpc.port). So an h2c stream whose content type is application/grpc is relayed
// to that port on loopback, as it is: headers, messages, trailers, the client's cancel and
// deadline (grpc-timeout travels as a header). One HTTP/2 connection carries every relayed call.

import type { ClientHttp2Session, Http2ServerRequest, Http2ServerResponse, IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http2';
import { createRequire } from 'node:module';

const http2 = createRequire(import.meta.url)('node:http2') as typeof import('node:http2');

// Headers that belong to one hop of HTTP/2 (pseudo-headers are made anew by each side).
const hopHeaders = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'host']);

/** isGrpc says whether an h2c request is a gRPC call (application/grpc, +proto, +json…). */
export function isGrpc(req: Http2ServerRequest): boolean {
  const type = req.headers['content-type'];
  return typeof type === 'string' && /^application\/grpc(\+|;|$)/i.test(type);
}

/** GrpcRelay sends gRPC calls to the gateway's own gRPC port. */
export class GrpcRelay {
  #session: ClientHttp2Session | undefined;
  readonly #port: () => number | undefined;
  constructor(port: () => number | undefined) {
    this.#port = port;
  }

  /** relay serves one call; resolves when it is over. Without a gRPC port, it is UNIMPLEMENTED. */
  relay(req: Http2ServerRequest, res: Http2ServerResponse): Promise<void> {
    const port = this.#port();
    // grpc-status 12: UNIMPLEMENTED, as a gRPC server answers a service it does not have.
    if (port === undefined) {
      trailersOnly(res, 12, 'gRPC is not served here: set frontends.grpc');
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      const session = this.#sessionTo(port);
      const up = session.request(forwardable(req.headers, { ':method': 'POST', ':path': req.headers[':path'] ?? '/' }));
      req.pipe(up);
      let trailers: IncomingHttpHeaders | undefined;
      up.once('response', (headers, flags) => {
        const status = Number(headers[':status'] ?? 200);
        const out = forwardable(headers, {});
        // A trailers-only answer (an error before any message) ends with its headers: its status
        // goes on as trailers (the compatibility API always ends a stream with them).
        if ((flags & http2.constants.NGHTTP2_FLAG_END_STREAM) !== 0) {
          res.addTrailers(statusOf(out));
          res.writeHead(status, out);
          res.end();
          return;
        }
        res.writeHead(status, out);
        up.pipe(res, { end: false });
      });
      up.once('trailers', (t) => { trailers = t; });
      up.once('end', () => {
        if (res.writableEnded) return;
        // No trailers came (a broken upstream): the call ends UNAVAILABLE rather than without a status.
        res.addTrailers(trailers !== undefined ? forwardable(trailers, {}) : { 'grpc-status': '14', 'grpc-message': 'the gRPC port ended the call without a status' });
        res.end();
      });
      up.once('error', (err) => {
        if (!res.headersSent) trailersOnly(res, 14, `the gRPC port is unreachable: ${err.message}`);
        else if (!res.stream.destroyed) res.stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
      });
      up.once('close', () => resolve());
      // The client went away (or cancelled): so does the call behind it.
      res.stream.once('close', () => { if (!up.closed) up.close(http2.constants.NGHTTP2_CANCEL); });
    });
  }

  close(): void {
    this.#session?.close();
    this.#session = undefined;
  }

  #sessionTo(port: number): ClientHttp2Session {
    if (this.#session === undefined || this.#session.closed || this.#session.destroyed) {
      const session = http2.connect(`http://127.0.0.1:${port}`);
      session.on('error', () => undefined); // each call sees its own stream's error
      session.unref();
      session.once('close', () => { if (this.#session === session) this.#session = undefined; });
      this.#session = session;
    }
    return this.#session;
  }
}

// forwardable copies headers for the next hop: no pseudo-headers but those given, no hop headers.
function forwardable(headers: IncomingHttpHeaders, pseudo: OutgoingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = { ...pseudo };
  for (const [k, v] of Object.entries(headers)) {
    if (k.startsWith(':') || hopHeaders.has(k) || v === undefined) continue;
    out[k] = v;
  }
  return out;
}

// statusOf moves the status fields out of a trailers-only answer's headers, for its trailers.
function statusOf(headers: OutgoingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const key of ['grpc-status', 'grpc-message', 'grpc-status-details-bin']) {
    if (headers[key] !== undefined) out[key] = headers[key];
    delete headers[key];
  }
  return out;
}

// trailersOnly ends a call with a status of the relay's own (headers, then the status as trailers).
function trailersOnly(res: Http2ServerResponse, status: number, message: string): void {
  if (res.stream.destroyed || res.headersSent) return;
  res.addTrailers({ 'grpc-status': String(status), 'grpc-message': encodeURIComponent(message) });
  res.writeHead(200, { 'content-type': 'application/grpc' });
  res.end();
}
