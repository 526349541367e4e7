// connection.ts — one HTTP/1.1 connection's requests, as NGINX and Envoy treat them: framing
// that is not exactly what HTTP/1.1 allows is refused; requests are served one at a time, in
// order (a pipelined request waits, with the socket paused, until the answer before it is
// flushed); and an answer sent before its request's body was received whole either reads and
// drops a small rest and keeps the connection, or says Connection: close and closes lingering.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { clip } from '../errors.ts';

interface Connection {
  /** A request on this connection is being served (its answer not yet flushed). */
  busy: boolean;
  /** Requests parsed while one was served, in arrival order; each starts its own serving. */
  waiting: Array<() => void>;
  /** The socket was paused here (and must stay so while requests wait). */
  paused: boolean;
  /** An answer said Connection: close: nothing more on this connection is served. */
  closing: boolean;
}

const connections = new WeakMap<Socket, Connection>();

function connectionOf(socket: Socket): Connection {
  let conn = connections.get(socket);
  if (conn !== undefined) return conn;
  const c: Connection = { busy: false, waiting: [], paused: false, closing: false };
  connections.set(socket, c);
  // Node resumes a socket whenever a request body is read (IncomingMessage._read); while
  // requests wait their turn, pause it again in the same tick, so nothing more is read.
  socket.on('resume', () => { if (c.paused) socket.pause(); });
  socket.once('close', () => { c.waiting.length = 0; });
  return c;
}

/**
 * inTurn runs serve for a request once every request before it on the same connection has its
 * answer flushed. A request that must wait pauses the socket: a client pipelining thousands of
 * requests has at most what one read brought in parsed, and none of them served, until it reads.
 * A request that arrives after an answer that closes the connection is not served at all.
 */
export function inTurn(req: IncomingMessage, res: ServerResponse, serve: () => void): void {
  const socket = req.socket;
  const conn = connectionOf(socket);
  if (conn.closing) return;
  if (conn.busy) {
    conn.waiting.push(() => start(conn, socket, res, serve));
    if (!conn.paused) {
      conn.paused = true;
      socket.pause();
    }
    return;
  }
  start(conn, socket, res, serve);
}

function start(conn: Connection, socket: Socket, res: ServerResponse, serve: () => void): void {
  conn.busy = true;
  // 'close' comes just after 'finish' (the answer handed to the kernel, and the socket given to
  // the next response by Node), or alone when the answer was cut short.
  const next = (): void => {
    conn.busy = false;
    if (socket.destroyed || conn.closing) {
      conn.waiting.length = 0;
      return;
    }
    const waiting = conn.waiting.shift();
    if (conn.waiting.length === 0 && conn.paused) {
      conn.paused = false;
      socket.resume();
    }
    waiting?.();
  };
  res.once('close', next);
  serve();
}

/** framingProblem says what makes a request's framing unacceptable (400, connection closed), or undefined. */
export function framingProblem(req: IncomingMessage): string | undefined {
  const raw = req.rawHeaders;
  let hosts = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 4 && name.toLowerCase() === 'host') hosts++;
  }
  if (hosts > 1) return `the request has ${hosts} Host headers; send one`;
  const te = req.headers['transfer-encoding'];
  if (te !== undefined) {
    if (req.httpVersion === '1.0') return 'an HTTP/1.0 request cannot carry Transfer-Encoding';
    // Only what every parser on the path reads the same way (as NGINX): exactly "chunked".
    if (te.toLowerCase() !== 'chunked') return `Transfer-Encoding ${JSON.stringify(clip(te, 60))} is not supported; send "chunked" or a Content-Length`;
  }
  return undefined;
}

/**
 * discardBytes is the most of an unread body that is read and dropped so that the connection
 * can stay open after an early answer (a 404, 401, 413, …); a larger rest, or one of unknown
 * size, closes the connection instead.
 */
export const discardBytes = 64 * 1024;

export interface SettleOptions {
  /** Close the connection after this answer whatever the body (bad framing). */
  close?: boolean;
  /** The rest of the body may be read and dropped (false when the client was never told to send it, or it stalled). */
  mayDiscard: boolean;
  /** A discarded rest that stalls this long closes the connection. */
  idleMs: number;
}

/**
 * settleBody is called just before an answer's headers are written. When the request's body has
 * not been received whole, either the rest is small (a declared Content-Length up to
 * discardBytes): it is read and dropped and the connection stays open, as NGINX does; or the
 * answer says Connection: close and the connection closes lingering (lingerClose), so the client
 * reads the answer rather than a reset.
 */
export function settleBody(req: IncomingMessage, res: ServerResponse, options: SettleOptions): void {
  if (res.headersSent || res.destroyed || (req.complete && options.close !== true)) return;
  const connection = res.getHeader('connection');
  const closing = options.close === true || (typeof connection === 'string' && connection.toLowerCase() === 'close');
  const declared = req.headers['content-length'];
  if (!closing && options.mayDiscard && declared !== undefined && req.headers['transfer-encoding'] === undefined && Number(declared) <= discardBytes) {
    discardRest(req, options.idleMs);
    return;
  }
  res.setHeader('connection', 'close');
  connectionOf(req.socket).closing = true;
  if (req.complete) return;
  // Node ends a Connection: close answer with socket.destroySoon(), which closes the socket as
  // soon as the answer is written: unread body bytes would then turn into a reset that destroys
  // the answer at the client. Linger instead.
  const socket = req.socket;
  socket.destroySoon = () => lingerClose(req, socket);
}

// discardRest reads the rest of a small body and drops it; the parser then reads the next
// request on the connection. A rest that stalls for idleMs closes the connection.
function discardRest(req: IncomingMessage, idleMs: number): void {
  const socket = req.socket;
  const timer = setTimeout(() => socket.destroy(), idleMs);
  const onData = (): void => { timer.refresh(); };
  // Every listener goes when the rest is read: a keep-alive connection may carry any number
  // of refused requests, and must not gather a listener for each.
  const done = (): void => { clearTimeout(timer); req.off('data', onData); req.off('end', done); socket.off('close', done); };
  req.on('data', onData);
  req.once('end', done);
  socket.once('close', done);
  req.resume();
}

// Lingering close, as NGINX does it: a client still sending a body we refused has our answer
// in its receive buffer, and closing now would make the kernel answer its next bytes with a
// reset that destroys that answer unread. So send FIN after the answer, read and discard the
// rest for at most lingerMs and lingerBytes, then close.
const lingerMs = 2000;
const lingerBytes = 16 * 1024 * 1024;

function lingerClose(req: IncomingMessage, socket: Socket): void {
  if (socket.destroyed) return;
  socket.end();
  let seen = 0;
  const timer = setTimeout(() => socket.destroy(), lingerMs);
  const onData = (chunk: Buffer): void => {
    seen += chunk.length;
    if (seen > lingerBytes) socket.destroy();
  };
  req.on('data', onData);
  socket.once('close', () => { clearTimeout(timer); req.off('data', onData); });
  req.resume();
}
