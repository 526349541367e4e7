// canary.ts (test support) — a TCP server on another loopback address (127.0.0.2 by default)
// that no config names: any connection it receives means a client made the gateway call an
// address outside its config (SSRF). It counts connections, not only complete requests, so a
// half-sent or garbled request counts too; what it got is kept for the failure message.

import { createServer, type Server, type Socket } from 'node:net';

/** Canary is a listening canary and its hit count. */
export interface Canary {
  host: string;
  port: number;
  /** hits counts TCP connections accepted. */
  hits(): number;
  /** seen is the first bytes of each connection, for messages. */
  seen: string[];
  close(): Promise<void>;
}

/** startCanary listens on host:0 and answers every request 200 so a caller would believe it worked. */
export async function startCanary(host = '127.0.0.2'): Promise<Canary> {
  const seen: string[] = [];
  const sockets = new Set<Socket>();
  let hits = 0;
  const server: Server = createServer((socket) => {
    hits++;
    sockets.add(socket);
    const index = seen.push('') - 1;
    socket.on('data', (chunk: Buffer) => {
      if (seen[index]!.length < 512) seen[index] += chunk.toString('latin1').slice(0, 512);
      socket.end('HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 20\r\nconnection: close\r\n\r\n{"predictions":[42]}');
    });
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    host, port, seen,
    hits: () => hits,
    close: () => new Promise((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}
