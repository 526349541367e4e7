// fault-backend.ts — an `instances` model server whose misbehaviour is switchable at run time, for
// the fault tests (test/faults/) and the guard benchmark. POST to any path → {"predictions": row
// sums}; GET /health → 200 (503 while starting or failing). Modes: ok (optional delay), refuse
// (stops listening: connection refused), hang, slowStart, reset (mid-body), garbage, truncated
// (short body for its content-length), wrongRows, status (5xx, optionally a burst of N), dribble.
// In-process: startFaultBackend(). As a process (real SIGKILL): spawnFaultBackend(), controlled
// through POST /__fault with the mode as JSON (there, refuse = kill(); restart() recovers). CLI: node test/support/fault-backend.ts PORT

import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';

/** FaultMode says how the backend answers from now on. */
export type FaultMode =
  | { kind: 'ok'; delayMs?: number }
  | { kind: 'refuse' }
  | { kind: 'hang' }
  | { kind: 'slowStart'; readyAfterMs: number }
  | { kind: 'reset' }
  | { kind: 'garbage' }
  | { kind: 'truncated' }
  | { kind: 'wrongRows' }
  | { kind: 'status'; status: number; count?: number }
  | { kind: 'dribble'; bytesPerSecond: number };

/** FaultBackend is a running fault backend. */
export interface FaultBackend {
  url: string;
  port: number;
  setMode(mode: FaultMode): Promise<void>;
  /** Prediction requests received (all modes). */
  calls(): number;
  close(): Promise<void>;
}

/** startFaultBackend runs a fault backend in this process on 127.0.0.1 (port 0 = free port). */
export async function startFaultBackend(port = 0): Promise<FaultBackend> {
  let mode: FaultMode = { kind: 'ok' };
  let startedAt = performance.now();
  let calls = 0;
  let burstLeft = 0;
  let server: Server | undefined;
  const sockets = new Set<Socket>();

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? '/').split('?')[0];
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('error', () => {});
    req.on('end', () => {
      if (path === '/__fault') {
        void api.setMode(JSON.parse(Buffer.concat(chunks).toString()) as FaultMode).then(() => res.end('{}'));
        return;
      }
      const starting = mode.kind === 'slowStart' && performance.now() - startedAt < mode.readyAfterMs;
      if (path === '/health' || req.method === 'GET') {
        // A failing model (status mode) often still says healthy: only the breaker can catch it.
        const down = starting;
        res.writeHead(down ? 503 : 200, { 'content-type': 'application/json' }).end(down ? '{"error":"not ready"}' : '{}');
        return;
      }
      calls++;
      answer(req, res, Buffer.concat(chunks), starting);
    });
  };

  const answer = (req: IncomingMessage, res: ServerResponse, body: Buffer, starting: boolean): void => {
    let rows: unknown[] = [];
    try {
      rows = (JSON.parse(body.toString()) as { instances?: unknown[] }).instances ?? [];
    } catch {
      res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"bad json"}');
      return;
    }
    const predictions = rows.map((r) => (Array.isArray(r) ? r.reduce((a: number, b) => a + Number(b), 0) : 0));
    const good = JSON.stringify({ predictions });
    const json = { 'content-type': 'application/json' };
    if (starting) { res.writeHead(503, json).end('{"error":"starting"}'); return; }
    switch (mode.kind) {
      case 'ok':
        if (mode.delayMs) setTimeout(() => res.writeHead(200, json).end(good), mode.delayMs);
        else res.writeHead(200, json).end(good);
        return;
      case 'slowStart':
        res.writeHead(200, json).end(good);
        return;
      case 'hang':
        return;
      case 'reset':
        res.writeHead(200, { ...json, 'content-length': String(good.length + 100) });
        res.write(good.slice(0, Math.max(1, good.length >> 1)));
        setTimeout(() => req.socket.resetAndDestroy(), 5);
        return;
      case 'garbage':
        res.writeHead(200, json).end('<html>this is not json</html>');
        return;
      case 'truncated':
        res.writeHead(200, { ...json, 'content-length': String(good.length + 10) });
        res.write(good);
        setTimeout(() => req.socket.destroy(), 5);
        return;
      case 'wrongRows':
        res.writeHead(200, json).end(JSON.stringify({ predictions: [...predictions, 0] }));
        return;
      case 'status':
        if (burstLeft !== 0) {
          if (burstLeft > 0) burstLeft--;
          res.writeHead(mode.status, json).end(`{"error":"injected ${mode.status}"}`);
        } else {
          res.writeHead(200, json).end(good);
        }
        return;
      case 'dribble': {
        res.writeHead(200, { ...json, 'content-length': String(good.length) });
        let i = 0;
        const step = Math.max(1, Math.round(mode.bytesPerSecond / 20));
        const timer = setInterval(() => {
          if (res.destroyed) { clearInterval(timer); return; }
          res.write(good.slice(i, i + step));
          i += step;
          if (i >= good.length) { clearInterval(timer); res.end(); }
        }, 50);
        return;
      }
      case 'refuse':
        req.socket.destroy();
        return;
    }
  };

  const listen = (): Promise<void> => new Promise((resolve, reject) => {
    const s = createServer(handle);
    s.keepAliveTimeout = 5_000;
    s.on('connection', (sock) => { sockets.add(sock); sock.on('close', () => sockets.delete(sock)); });
    s.once('error', reject);
    s.listen(port, '127.0.0.1', () => {
      const a = s.address();
      port = typeof a === 'object' && a !== null ? a.port : port;
      server = s;
      resolve();
    });
  });
  const stopListening = (): Promise<void> => new Promise((resolve) => {
    const s = server;
    server = undefined;
    for (const sock of sockets) sock.destroy();
    if (s === undefined) { resolve(); return; }
    s.close(() => resolve());
  });

  await listen();
  const api: FaultBackend = {
    url: `http://127.0.0.1:${port}`,
    port,
    calls: () => calls,
    async setMode(next) {
      mode = next;
      burstLeft = next.kind === 'status' ? (next.count ?? -1) : 0;
      if (next.kind === 'slowStart') startedAt = performance.now();
      if (next.kind === 'refuse') await stopListening();
      else if (server === undefined) await listen();
    },
    close: stopListening,
  };
  return api;
}

/** SpawnedFaultBackend is a fault backend in its own process, which can be killed for real. */
export interface SpawnedFaultBackend {
  url: string;
  port: number;
  setMode(mode: FaultMode): Promise<void>;
  /** kill sends SIGKILL and waits for the exit. */
  kill(): Promise<void>;
  /** restart starts a new process on the same port. */
  restart(): Promise<void>;
  close(): Promise<void>;
}

/** spawnFaultBackend runs this file as a child process (port 0 = free port, kept on restart). */
export async function spawnFaultBackend(port = 0): Promise<SpawnedFaultBackend> {
  let child: ChildProcess | undefined;
  const start = (): Promise<number> => new Promise((resolve, reject) => {
    const c = spawn(process.execPath, [fileURLToPath(import.meta.url), String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
    child = c;
    let out = '';
    c.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve((JSON.parse(out.split('\n')[0]!) as { port: number }).port);
    });
    c.once('exit', (code) => reject(new Error(`fault backend exited with ${code}`)));
  });
  const kill = async (): Promise<void> => {
    const c = child;
    child = undefined;
    if (c === undefined || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGKILL');
    await exited;
  };
  port = await start();
  const url = `http://127.0.0.1:${port}`;
  return {
    url, port, kill,
    restart: async () => { await kill(); await start(); },
    close: kill,
    setMode: async (mode) => {
      const res = await fetch(`${url}/__fault`, { method: 'POST', body: JSON.stringify(mode) });
      await res.arrayBuffer();
    },
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const backend = await startFaultBackend(Number(process.argv[2] ?? 0));
  process.stdout.write(`${JSON.stringify({ port: backend.port })}\n`);
  process.on('SIGTERM', () => { void backend.close().then(() => process.exit(0)); });
}
