// raw-backend.ts (test support) — a model server at the TCP level, for answers no HTTP library
// would write: it reads a request's head, then answers with exact bytes chosen per request
// (malformed framing, an early answer before the body is read). GET requests (health checks)
// get a plain 200 unless `health` says otherwise. In-process, on 127.0.0.1.

import { createServer, type Server, type Socket } from 'node:net';

/** RawAnswer says what to do with one request: the bytes to write, and whether to close after. */
export interface RawAnswer {
  bytes: string | Buffer;
  /**
   * 'keep': leave the connection open (the body is read and discarded, as a server would);
   * 'close': close at once after writing, the rest of the body unread (the kernel resets);
   * 'end': write, then FIN.
   */
  after: 'keep' | 'close' | 'end';
}

export interface RawBackend {
  url: string;
  port: number;
  /** Requests (POST) whose head was read. */
  calls(): number;
  close(): Promise<void>;
}

export interface RawBackendOptions {
  /** The answer for a POST, given its head (request line and headers). */
  answer(head: string): RawAnswer;
}

const healthy = 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}';

/** startRawBackend listens on a free port of 127.0.0.1. */
export async function startRawBackend(options: RawBackendOptions): Promise<RawBackend> {
  let calls = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let buffered = Buffer.alloc(0);
    // Bytes of the current request's body still to drop (keep-alive answers), -1: reading a head.
    let bodyLeft = -1;
    const onData = (chunk: Buffer): void => {
      buffered = Buffer.concat([buffered, chunk]);
      for (let guard = 0; guard < 1000; guard++) {
        if (bodyLeft > 0) {
          const n = Math.min(bodyLeft, buffered.length);
          bodyLeft -= n;
          buffered = buffered.subarray(n);
          if (bodyLeft > 0) return;
          bodyLeft = -1;
        }
        const end = buffered.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buffered.subarray(0, end).toString('latin1');
        buffered = buffered.subarray(end + 4);
        const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
        if (head.startsWith('GET ')) {
          socket.write(healthy);
          continue;
        }
        calls++;
        const answer = options.answer(head);
        if (answer.after === 'close') {
          socket.off('data', onData);
          socket.write(answer.bytes, () => socket.destroy());
          return;
        }
        if (answer.after === 'end') {
          socket.off('data', onData);
          socket.end(answer.bytes);
          socket.resume();
          return;
        }
        socket.write(answer.bytes);
        bodyLeft = length;
      }
    };
    socket.on('data', onData);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`, port,
    calls: () => calls,
    close: () => new Promise((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}

/** jsonAnswer writes a whole well-formed answer with a JSON body. */
export function jsonAnswer(status: number, reason: string, doc: unknown, extra = ''): string {
  const body = JSON.stringify(doc);
  return `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`;
}
