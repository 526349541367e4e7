// ports.ts (test support) — free TCP ports on 127.0.0.1 for servers that cannot listen on 0
// themselves (child processes such as gunicorn, which take the port on their command line).

import { createServer } from 'node:net';

/** freePort asks the kernel for a free port on 127.0.0.1 (listen on 0, read it, close). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('no port assigned'))));
    });
  });
}
