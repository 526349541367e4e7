// listen.ts — binding the gateway's listeners: a port of the kernel's choosing, and a server
// bound to host:port with the port it got.

import type { Server } from 'node:http';
import { createServer as createNetServer } from 'node:net';

// freePort asks the kernel for a free port on `host` (listen on 0, read it, close it).
export function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createNetServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const addr = server.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error(`no free port on ${host}`))));
    });
  });
}

/** listenOn binds `server` to host:port (0 = a free one) and resolves with the port it got. */
export function listenOn(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const addr = server.address();
      resolve(typeof addr === 'object' && addr !== null ? addr.port : port);
    });
  });
}
