// cost-backend.ts — a STAND-IN model server with a known cost model, for the batching benchmark:
// one call of n rows takes t(n) = a + b·n ms, and calls are served one at a time, like a GPU
// running one batch. It speaks the `http` backend protocol:
//   POST /predict {"instances": [...]} → {"predictions": [each row doubled]}
//   GET /health → 200;  GET /stats → {"calls", "rows", "busyMs", "sizes": {n: count}}
// Run alone: node bench/support/cost-backend.ts PORT A_MS B_MS  (prints {"port": N} first).

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

export interface CostBackendOptions {
  /** Fixed cost of one call, ms. */
  a: number;
  /** Cost per row, ms. */
  b: number;
  port?: number;
}

export interface CostBackend {
  port: number;
  url: string;
  stats(): { calls: number; rows: number; busyMs: number; sizes: Record<number, number> };
  resetStats(): void;
  close(): Promise<void>;
}

interface Job { rows: unknown[]; res: ServerResponse }

/** startCostBackend starts the stand-in backend on 127.0.0.1 (port 0 = a free one). */
export async function startCostBackend(options: CostBackendOptions): Promise<CostBackend> {
  const queue: Job[] = [];
  let busy = false;
  let stats = { calls: 0, rows: 0, busyMs: 0, sizes: {} as Record<number, number> };

  const runNext = (): void => {
    const job = queue.shift();
    if (job === undefined) {
      busy = false;
      return;
    }
    busy = true;
    const n = job.rows.length;
    const cost = options.a + options.b * n;
    const start = performance.now();
    sleepUntil(start + cost, () => {
      stats.calls++;
      stats.rows += n;
      stats.busyMs += performance.now() - start;
      stats.sizes[n] = (stats.sizes[n] ?? 0) + 1;
      const body = JSON.stringify({ predictions: job.rows.map(doubled) });
      job.res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) }).end(body);
      runNext();
    });
  };

  const server = createServer((req, res) => {
    if (req.method === 'GET') {
      const body = req.url === '/stats' ? JSON.stringify(stats) : '{}';
      res.writeHead(200, { 'content-type': 'application/json' }).end(body);
      return;
    }
    readJson(req).then((parsed) => {
      const rows = (parsed as { instances?: unknown }).instances;
      if (!Array.isArray(rows)) {
        res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"expected {\\"instances\\": [...]}"}');
        return;
      }
      queue.push({ rows, res });
      if (!busy) runNext();
    }, () => res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"bad json"}'));
  });
  server.keepAliveTimeout = 60_000;
  const port = await listen(server, options.port ?? 0);
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    stats: () => stats,
    resetStats: () => { stats = { calls: 0, rows: 0, busyMs: 0, sizes: {} }; },
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

function doubled(row: unknown): unknown {
  if (typeof row === 'number') return row * 2;
  if (Array.isArray(row)) return row.map((v) => (typeof v === 'number' ? v * 2 : v));
  return row;
}

// setTimeout has 1 ms granularity: sleep to just before the end, then yield turn by turn.
function sleepUntil(end: number, done: () => void): void {
  const left = end - performance.now();
  if (left > 1.5) setTimeout(() => sleepUntil(end, done), Math.floor(left - 1));
  else if (left > 0) setImmediate(() => sleepUntil(end, done));
  else done();
}

function readJson(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString()));
      } catch (err) {
        reject(err);
      }
    });
    req.on('error', reject);
  });
}

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const addr = server.address();
      resolve(typeof addr === 'object' && addr !== null ? addr.port : port);
    });
  });
}

if (import.meta.main) {
  const [port, a, b] = process.argv.slice(2).map(Number);
  const backend = await startCostBackend({ port: port ?? 0, a: a ?? 10, b: b ?? 0.1 });
  process.stdout.write(`${JSON.stringify({ port: backend.port })}\n`);
  process.on('SIGTERM', () => { void backend.close().then(() => process.exit(0)); });
}
