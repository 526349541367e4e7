// SIGTERM under load with Cloud Run's 10 s kill, through the real gateway process running
// config/cloudrun.yaml's server block: HTTP/1.1 and HTTP/2 requests in flight when the signal
// comes, and clients that keep opening connections during the drain. Every request the gateway
// accepted is answered (200, or 503 draining) before the kill would land; a connection made
// after the listener closed is refused, never accepted and dropped. The process exits 0 by itself.

import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:http2';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { startNodeServer, type Proc } from '../../bench/support/processes.ts';
import { startGateway } from '../support/gateway.ts';

const cloudrun = parse(readFileSync(fileURLToPath(new URL('../../config/cloudrun.yaml', import.meta.url)), 'utf8')) as { server: Record<string, unknown> };
const body = JSON.stringify({ instances: [[1, 2], [3, 4]] });
const killAfterMs = 10_000;

let backend: Proc;
before(async () => { backend = await startNodeServer(new URL('../support/slow-backend.ts', import.meta.url).href); });
after(() => backend.stop());

type Outcome = { status: number } | { error: string };

function post1(port: number): Promise<Outcome> {
  return new Promise((resolve) => {
    // A fresh connection each time (agent: false), as a client arriving mid-drain opens one.
    const req = httpRequest({ host: '127.0.0.1', port, path: '/predict', method: 'POST', agent: false, headers: { 'content-type': 'application/json' } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0 }));
      res.on('error', (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message }));
    });
    req.on('error', (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message }));
    req.end(body);
  });
}

test('SIGTERM under load, killed 10 s later as Cloud Run does: every accepted request is answered first', async () => {
  const server = { ...cloudrun.server, port: 0, adminPort: 0, healthIntervalMs: '200ms' };
  const gw = await startGateway(stringify({
    version: 'cloudrun-drain', server,
    frontends: { vertex: { model: 'm', predictRoute: '/predict', healthRoute: '/health' } },
    backends: { slow: { type: 'http', url: `http://127.0.0.1:${backend.port}`, predictPath: '/predict', healthPath: '/health' } },
    models: { m: { timeoutMs: 7000, targets: [{ backend: 'slow' }] } },
  }));
  // Each answer takes 1.5 s in the backend: plenty are in flight when the signal comes.
  await fetch(`http://127.0.0.1:${backend.port}/admin/delay?ms=1500`);
  try {
    const h1 = Array.from({ length: 30 }, () => post1(gw.port));
    const session = connect(gw.url);
    session.on('error', () => undefined);
    let goaway = false;
    session.on('goaway', () => { goaway = true; });
    const h2 = Array.from({ length: 10 }, () => new Promise<Outcome>((resolve) => {
      const stream = session.request({ ':method': 'POST', ':path': '/predict', 'content-type': 'application/json' });
      let status = 0;
      stream.on('response', (h) => { status = Number(h[':status']); });
      stream.on('data', () => undefined);
      stream.on('end', () => resolve({ status }));
      stream.on('error', (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message }));
      stream.end(body);
    }));
    // Clients that keep coming during the drain, each on a new connection, until refused.
    let stopping = false;
    const arrivals: Outcome[] = [];
    const loops = Array.from({ length: 4 }, async () => {
      while (!stopping) {
        const o = await post1(gw.port);
        arrivals.push(o);
        if ('error' in o && o.error === 'ECONNREFUSED') return;
      }
    });
    await new Promise((r) => setTimeout(r, 300));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => gw.process.once('exit', (code, signal) => resolve({ code, signal })));
    gw.process.kill('SIGTERM');
    const kill = setTimeout(() => gw.process.kill('SIGKILL'), killAfterMs);
    const [results1, results2] = await Promise.all([Promise.all(h1), Promise.all(h2)]);
    const end = await exited;
    clearTimeout(kill);
    stopping = true;
    await Promise.all(loops);
    session.destroy();

    assert.deepEqual(end, { code: 0, signal: null }, 'exited 0 by itself, before the kill');
    for (const r of [...results1, ...results2]) assert.deepEqual(r, { status: 200 });
    assert.ok(goaway, 'the HTTP/2 connection was told GOAWAY');
    for (const a of arrivals) {
      const fine = ('status' in a && (a.status === 200 || a.status === 503)) || ('error' in a && a.error === 'ECONNREFUSED');
      assert.ok(fine, `a client arriving during the drain got ${JSON.stringify(a)}`);
    }
    assert.ok(arrivals.some((a) => 'error' in a), 'the listener closed during the drain');
    assert.match(gw.logs(), /"drainSeconds":8/);
  } finally {
    await fetch(`http://127.0.0.1:${backend.port}/admin/delay?ms=0`);
    await gw.stop();
  }
});
