// h2c.ts — HTTP/2 cleartext on the HTTP/1.1 listener's port (Cloud Run's --use-http2, gRPC and
// end-to-end streaming). Node's http2 module serves HTTP/1.1 beside HTTP/2 only on TLS, so each
// connection is sniffed: one that opens with the HTTP/2 preface ("PRI * HTTP/2.0…", prior
// knowledge) goes to an http2 server, anything else to the HTTP/1.1 server, with the bytes read
// put back. An HTTP/1.1 request with "Upgrade: h2c" (RFC 7540 §3.2) gets 101 and its connection
// turns into an HTTP/2 session, with the request itself answered on stream 1.

import type { Http2ServerRequest, Http2ServerResponse, Http2Session } from 'node:http2';
import { createRequire } from 'node:module';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { GrpcRelay, isGrpc } from './grpc-relay.ts';
import { boundSession, h2ServerLimits, type SessionBounds } from './h2-limits.ts';
import { upgradeFrames, upgradeSettings, withUpgradeSettings } from './h2-upgrade.ts';

// RFC 9113 §7 INTERNAL_ERROR.
const internalError = 0x2;

export const h2Preface = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');

export interface H2cOptions {
  maxConcurrentStreams: number;
  maxHeaders: number;
  /** A new connection must show its first bytes (or an upgraded one its preface) within this time. */
  firstBytesTimeoutMs: number;
  /** An HTTP/2 connection with no traffic for this long is closed (GOAWAY). */
  idleTimeoutMs: number;
  draining(): boolean;
  /** Serves one request; resolves when the handler is done with it (not when the client leaves). */
  serve(req: Http2ServerRequest, res: Http2ServerResponse): Promise<void>;
  /** The gateway's gRPC port, where gRPC calls on this port are relayed (Cloud Run has one port). */
  grpcPort?: () => number | undefined;
}

// node:http2 is loaded when a listener turns h2c on, not by every start (~25 ms CPU).
/** attachH2c makes `server` (node:http, not yet listening) answer HTTP/2 cleartext too. */
export function attachH2c(server: Server, options: H2cOptions): void {
  const sessions = new Set<Http2Session>();
  const sniffing = new Set<Socket>();
  const bounded = new WeakMap<Http2Session, SessionBounds>();
  const h2 = (createRequire(import.meta.url)('node:http2') as typeof import('node:http2')).createServer(h2ServerLimits(options));
  h2.on('session', (session: Http2Session) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
    // A connection that stays silent is closed gracefully: GOAWAY lets open streams finish.
    session.setTimeout(options.idleTimeoutMs, () => session.close());
    // A session that opens during a drain still serves what it sent, then goes.
    if (options.draining()) session.close();
    bounded.set(session, boundSession(session, options));
  });
  const grpc = new GrpcRelay(options.grpcPort ?? (() => undefined));
  server.once('close', () => grpc.close());
  h2.on('request', (req: Http2ServerRequest, res: Http2ServerResponse) => {
    const session = req.stream.session;
    const bounds = session === undefined ? undefined : bounded.get(session);
    if (bounds === undefined || !bounds.admit(req.stream)) return;
    void (isGrpc(req) ? grpc.relay(req, res) : options.serve(req, res))
      // The handler answers every failure itself; one that escapes it (the stream was torn down
      // under it) ends that stream, never the process.
      .catch(() => { if (!req.stream.destroyed) req.stream.close(internalError); })
      .finally(() => {
        bounds.release();
        // As HTTP/1.1 answers say Connection: close while draining.
        if (options.draining() && !req.stream.session?.closed) req.stream.session?.close();
      });
  });
  // Streams refused or reset before a request forms, and sockets h2 gives up on, end here quietly.
  h2.on('sessionError', () => undefined);

  const http1 = server.listeners('connection') as Array<(socket: Socket) => void>;
  server.removeAllListeners('connection');
  const toHttp1 = (socket: Socket): void => { for (const l of http1) l.call(server, socket); };
  server.on('connection', (socket: Socket) => {
    sniffing.add(socket);
    sniff(socket, options.firstBytesTimeoutMs, (kind) => {
      sniffing.delete(socket);
      // The http2 session reads what was put back itself; the HTTP/1.1 parser gets it as 'data'.
      if (kind === 'h2') h2.emit('connection', socket);
      else {
        toHttp1(socket);
        socket.resume();
      }
    });
  });

  // Node (>= 24.9) asks this before emitting 'upgrade'; any other Upgrade is served as HTTP/1.1.
  (server as Server & { shouldUpgradeCallback(req: IncomingMessage): boolean }).shouldUpgradeCallback = (req) => upgradeSettings(req) !== undefined;
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const s = socket as Socket;
    const settings = upgradeSettings(req);
    if (settings === undefined) { s.destroy(); return; }
    s.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n');
    sniffing.add(s);
    // The client now sends its preface and SETTINGS (which get HTTP2-Settings in front); the
    // upgrade request goes in as stream 1 right after, answered as if it had come as HTTP/2.
    clientPreface(s, head, options.firstBytesTimeoutMs, (opening) => {
      sniffing.delete(s);
      const applied = withUpgradeSettings(opening, settings, h2Preface.length);
      if (applied === undefined) { s.destroy(); return; }
      s.unshift(Buffer.concat([applied, upgradeFrames(req)]));
      h2.emit('connection', s);
    });
  });

  // The drain (lifecycle.ts) closes idle connections and, at its end, all of them: HTTP/2
  // sessions and connections still being sniffed are connections of this server too.
  const closeIdle = server.closeIdleConnections.bind(server);
  server.closeIdleConnections = () => {
    closeIdle();
    for (const socket of sniffing) socket.destroy();
    for (const session of sessions) if (!session.closed) session.close();
  };
  const closeAll = server.closeAllConnections.bind(server);
  server.closeAllConnections = () => {
    closeAll();
    for (const socket of sniffing) socket.destroy();
    for (const session of sessions) session.destroy();
  };
}

type Kind = 'h2' | 'http1';

// sniff reads until the bytes either are the HTTP/2 preface or cannot be; all of them are put
// back. HTTP/1.1 methods never start with "PRI", so one chunk nearly always decides.
function sniff(socket: Socket, timeoutMs: number, decided: (kind: Kind) => void): void {
  let seen: Buffer = Buffer.alloc(0);
  const timer = setTimeout(() => socket.destroy(), timeoutMs);
  const stop = (): void => { clearTimeout(timer); socket.off('data', onData); socket.off('close', onClose); };
  const onClose = (): void => stop();
  const onData = (chunk: Buffer): void => {
    seen = seen.length === 0 ? chunk : Buffer.concat([seen, chunk]);
    const n = Math.min(seen.length, h2Preface.length);
    const prefix = seen.subarray(0, n).equals(h2Preface.subarray(0, n));
    if (prefix && seen.length < h2Preface.length) return;
    stop();
    socket.pause();
    socket.unshift(seen);
    decided(prefix ? 'h2' : 'http1');
  };
  socket.on('data', onData);
  socket.once('close', onClose);
  socket.on('error', () => socket.destroy());
}

// clientPreface reads the preface and the SETTINGS frame that must follow it (RFC 9113 §3.4)
// and gives back both; anything else closes the connection.
function clientPreface(socket: Socket, head: Buffer, timeoutMs: number, got: (opening: Buffer) => void): void {
  let seen: Buffer = Buffer.alloc(0);
  let finished = false;
  const timer = setTimeout(() => socket.destroy(), timeoutMs);
  const stop = (): void => { finished = true; clearTimeout(timer); socket.off('data', onData); };
  const onData = (chunk: Buffer): void => {
    seen = Buffer.concat([seen, chunk]);
    const n = Math.min(seen.length, h2Preface.length);
    if (!seen.subarray(0, n).equals(h2Preface.subarray(0, n))) { stop(); socket.destroy(); return; }
    const frameAt = h2Preface.length;
    if (seen.length < frameAt + 9) return;
    const length = seen.readUIntBE(frameAt, 3);
    if (seen[frameAt + 3] !== 0x4 || length > 16_384) { stop(); socket.destroy(); return; }
    const end = frameAt + 9 + length;
    if (seen.length < end) return;
    stop();
    socket.pause();
    if (seen.length > end) socket.unshift(seen.subarray(end));
    got(seen.subarray(0, end));
  };
  socket.once('close', stop);
  socket.on('error', () => socket.destroy());
  // What the HTTP/1.1 parser read past the upgrade request (the preface, when the client sent it
  // at once) comes as `head`; Node leaves the socket paused after an upgrade.
  if (head.length > 0) onData(head);
  if (finished) return;
  socket.on('data', onData);
  socket.resume();
}

// An HTTP/2 answer sent before its request body arrived whole: the rest is read and dropped for
// at most 2 s and 16 MB, as HTTP/1.1's lingering close does (connection.ts), then the stream is
// reset (CANCEL); the connection and its other streams stay. Not a reset at once: nghttp2 sends
// RST_STREAM ahead of the answer's queued DATA, which would cut the answer the client is owed.
export function settleStream(req: IncomingMessage, res: ServerResponse): void {
  const stream = (res as unknown as Http2ServerResponse).stream;
  if (req.complete || stream.endAfterHeaders) return;
  let seen = 0;
  const cancel = (): void => { if (!stream.destroyed) stream.close(8); };
  const timer = setTimeout(cancel, 2000);
  const onData = (chunk: Buffer): void => {
    seen += chunk.length;
    if (seen > 16 * 1024 * 1024) cancel();
  };
  req.on('data', onData);
  stream.once('close', () => { clearTimeout(timer); req.off('data', onData); });
  req.once('end', () => clearTimeout(timer));
  req.resume();
}
