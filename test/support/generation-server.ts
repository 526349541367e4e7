// generation-server.ts (test support) — an `instances` model server started by the gateway's
// `spawn` block, for the reload tests: it listens on the port given as its first argument only
// after START_DELAY_MS (a model server loading its model), answers POST /predict with one
// prediction per instance naming its GEN, GET /health with 200, and on SIGTERM finishes what it
// is answering before it exits. Usage: node test/support/generation-server.ts PORT

import { createServer } from 'node:http';

const port = Number(process.argv[2]);
const gen = process.env.GEN ?? '0';
const delayMs = Number(process.env.START_DELAY_MS ?? 0);
if (!Number.isInteger(port) || port <= 0) {
  process.stderr.write(`generation-server: bad port ${JSON.stringify(process.argv[2])}\n`);
  process.exit(2);
}

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    if (req.method === 'GET') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ gen }));
      return;
    }
    const { instances } = JSON.parse(Buffer.concat(chunks).toString() || '{}') as { instances?: unknown[] };
    res.writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ predictions: (instances ?? []).map(() => `gen${gen}`) }));
  });
});
setTimeout(() => {
  server.listen(port, '127.0.0.1', () => process.stdout.write(`generation ${gen} listening on ${port}\n`));
}, delayMs);
server.on('error', (err) => {
  process.stderr.write(`generation ${gen}: ${err.message}\n`);
  process.exit(1);
});
process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeIdleConnections();
});
