// echo-backend.ts (test support) — an in-process model server that records every request it
// receives (method, path, header names and values), so security tests can count what reached a
// backend: smuggled requests, stripped hop-by-hop headers, unexpected paths.
// POST <any> {"instances": [...]} → {"predictions": [row sums]}; GET <any> → 200 {"ok": true};
// a body that is not such JSON is echoed back as {"echo": "<text>"}.

import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';

/** EchoRequest is one request as the echo backend saw it. */
export interface EchoRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface EchoBackendOptions {
  /** Host to listen on (default 127.0.0.1). */
  host?: string;
  /** Delay before answering a request, in ms, chosen per request (pipelining order tests). */
  delayMs?(req: EchoRequest): number;
}

/** EchoBackend is a running echo server and what it has received. */
export interface EchoBackend {
  url: string;
  port: number;
  requests: EchoRequest[];
  /** connections counts TCP connections accepted (a smuggled request may arrive on one). */
  connections(): number;
  close(): Promise<void>;
}

/** startEchoBackend listens on a free port and records every request. */
export async function startEchoBackend(options: EchoBackendOptions = {}): Promise<EchoBackend> {
  const requests: EchoRequest[] = [];
  let connections = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const seen: EchoRequest = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      requests.push(seen);
      const answer = (): void => {
        let body: string;
        if (seen.method === 'GET' || seen.method === 'HEAD') body = JSON.stringify({ ok: true });
        else {
          try {
            const { instances } = JSON.parse(seen.body) as { instances: unknown[] };
            body = JSON.stringify({ predictions: instances.map((row) => (Array.isArray(row) ? row.reduce((a: number, b) => a + Number(b), 0) : row)) });
          } catch {
            body = JSON.stringify({ echo: seen.body.slice(0, 1024) });
          }
        }
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) }).end(body);
      };
      const delay = options.delayMs?.(seen) ?? 0;
      if (delay > 0) setTimeout(answer, delay);
      else answer();
    });
  });
  server.on('connection', () => { connections++; });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, options.host ?? '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}`,
    port,
    requests,
    connections: () => connections,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
