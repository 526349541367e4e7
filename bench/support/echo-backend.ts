// echo-backend.ts — a minimal, fast model server for proxy benchmarks, run as its own process:
// POST /predict {"instances": [...]} → {"predictions": [row sums]}; GET /health → 200.
// Usage: node bench/support/echo-backend.ts PORT

import { createServer } from 'node:http';

const port = Number(process.argv[2] ?? 0);
const server = createServer((req, res) => {
  if (req.method === 'GET') {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': '2' }).end('{}');
    return;
  }
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    let body: string;
    try {
      const { instances } = JSON.parse(Buffer.concat(chunks).toString()) as { instances: number[][] };
      body = JSON.stringify({ predictions: instances.map((row) => (Array.isArray(row) ? row.reduce((a, b) => a + b, 0) : row)) });
    } catch {
      res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"bad body"}');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) }).end(body);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(port, '127.0.0.1', () => {
  const addr = server.address();
  process.stdout.write(`${JSON.stringify({ port: typeof addr === 'object' && addr ? addr.port : port })}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
