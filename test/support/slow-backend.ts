// slow-backend.ts — an `instances` model server whose answer time and health are controllable:
// POST /predict (GET /admin/delay?ms=N delays every answer) → row sums; GET /health (200 or 503);
// GET /admin/health?ok=0|1 flips health. Usage: node test/support/slow-backend.ts PORT

import { createServer } from 'node:http';

let healthy = true;
let delayMs = 0;
const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://x');
  if (url.pathname === '/admin/health') {
    healthy = url.searchParams.get('ok') !== '0';
    res.end('{}');
    return;
  }
  if (url.pathname === '/admin/delay') {
    delayMs = Number(url.searchParams.get('ms') ?? 0);
    res.end('{}');
    return;
  }
  if (url.pathname === '/health') {
    res.writeHead(healthy ? 200 : 503, { 'content-type': 'application/json' }).end(healthy ? '{}' : '{"error":"down"}');
    return;
  }
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    setTimeout(() => {
      const { instances } = JSON.parse(Buffer.concat(chunks).toString()) as { instances: number[][] };
      res.writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ predictions: instances.map((r) => r.reduce((a, b) => a + b, 0)) }));
    }, delayMs);
  });
});
server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => {
  const addr = server.address();
  process.stdout.write(`${JSON.stringify({ port: typeof addr === 'object' && addr ? addr.port : 0 })}\n`);
});
process.on('SIGTERM', () => { server.closeAllConnections(); server.close(() => process.exit(0)); });
