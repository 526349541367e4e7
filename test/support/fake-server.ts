// fake-server.ts (test support) — the HTTP plumbing the protocol fakes (fake-triton.ts,
// fake-tfserving.ts, fake-torchserve.ts) share: a server on a free port of 127.0.0.1 that
// reads each request's whole body, records the call, then hands it to the fake's own handler.

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** RecordedCall is one request as a fake server received it. */
export interface RecordedCall {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

/** RecordingServer is a listening fake server. */
export interface RecordingServer {
  url: string;
  /** Closes the server and every connection still open to it. */
  close(): Promise<void>;
}

/**
 * startRecordingServer listens on 127.0.0.1 port 0; each request, once its body is read, is
 * pushed onto `calls` and passed to `handle`.
 */
export async function startRecordingServer(calls: RecordedCall[], handle: (req: IncomingMessage, res: ServerResponse, body: Buffer) => void): Promise<RecordingServer> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      calls.push({ method: req.method!, url: req.url!, headers: req.headers, body });
      handle(req, res, body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}
