// Pipelining (issue 14, item 7): one connection is served one request at a time, as NGINX and
// Envoy do. A client that pipelines hundreds of requests and never reads its answers gets at
// most one backend call at a time and, once its socket's buffers are full, none more; the
// gateway's memory stays flat; a request holds its place under maxConcurrentRequests until its
// answer is written; pipelined requests that are read are answered in order.

import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { startGateway, type RunningGateway } from '../support/gateway.ts';
import { rawExchange, rawRequest } from '../support/raw-client.ts';

// The backend answers {"predictions": [<256 KB string>]} to a body naming "big", else
// {"predictions": [<the row's first value>]}, after a delay the row's second value names (ms).
let backend: Server;
let gw: RunningGateway;
const calls = { total: 0, now: 0, most: 0 };
const big = 'x'.repeat(256 * 1024);
const open: Socket[] = [];

before(async () => {
  backend = createServer((req, res) => {
    if (req.method !== 'POST') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      return;
    }
    calls.total++;
    calls.most = Math.max(calls.most, ++calls.now);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const row = (JSON.parse(Buffer.concat(chunks).toString()) as { instances: unknown[][] }).instances[0]!;
      setTimeout(() => {
        calls.now--;
        const body = JSON.stringify({ predictions: [row[0] === 'big' ? big : row[0]] });
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) }).end(body);
      }, Number(row[1] ?? 0));
    });
  });
  await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
  const port = (backend.address() as { port: number }).port;
  gw = await startGateway(`
server: { maxConcurrentRequests: 2 }
frontends: { vertex: { model: m, predictRoute: /predict, healthRoute: /health } }
backends: { b: { type: http, url: "http://127.0.0.1:${port}" } }
models: { m: { targets: [ { backend: b } ] } }
`);
});

after(async () => {
  for (const s of open) s.destroy();
  await gw?.stop();
  await new Promise<void>((r) => { backend?.closeAllConnections(); backend?.close(() => r()); });
});

function predict(row: unknown[], id = ''): string {
  const body = JSON.stringify({ instances: [row] });
  return rawRequest('POST /predict HTTP/1.1', ['host: a', 'content-type: application/json', ...(id === '' ? [] : [`x-request-id: ${id}`]), `content-length: ${body.length}`], body);
}

// pipelineUnread writes n requests on one connection and never reads an answer.
async function pipelineUnread(bytes: string): Promise<Socket> {
  const socket = connect(gw.port, '127.0.0.1');
  open.push(socket);
  socket.pause();
  socket.on('error', () => {});
  await new Promise((r) => socket.once('connect', r));
  socket.write(bytes);
  return socket;
}

// settled waits until the backend has seen no new call for quietMs (at most 40 checks).
async function settled(quietMs = 300): Promise<void> {
  let last = -1;
  for (let i = 0; i < 40 && calls.total !== last; i++) {
    last = calls.total;
    await new Promise((r) => setTimeout(r, quietMs));
  }
}

async function rssBytes(): Promise<number> {
  const text = await (await fetch(`${gw.adminUrl}/metrics`)).text();
  return Number(/^process_resident_memory_bytes (\d+)/m.exec(text)?.[1]);
}

test('400 pipelined requests for 256 KB answers, never read: one backend call at a time, a bounded number, flat memory', async () => {
  const rss = await rssBytes();
  calls.total = 0;
  calls.most = 0;
  const socket = await pipelineUnread(predict(['big', 2]).repeat(400));
  await settled();
  // The kernel's socket buffers hold a few MB of answers; then the gateway stops.
  assert.equal(calls.most, 1, 'backend calls at once from one connection');
  assert.ok(calls.total <= 100, `${calls.total} backend calls for a client that reads nothing`);
  const grown = (await rssBytes()) - rss;
  assert.ok(grown < 100 * 1024 * 1024, `RSS grew by ${Math.round(grown / 1e6)} MB`);
  socket.destroy();
});

test('a request counts under maxConcurrentRequests until its answer is written', async () => {
  // Two connections whose answers cannot be written hold both places (maxConcurrentRequests: 2).
  const stuck = [await pipelineUnread(predict(['big', 0]).repeat(60)), await pipelineUnread(predict(['big', 0]).repeat(60))];
  await settled();
  const shed = await fetch(`${gw.url}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"instances":[[1,0]]}' });
  assert.equal(shed.status, 429);
  assert.equal(((await shed.json()) as { code: string }).code, 'overloaded');
  for (const s of stuck) s.destroy();
  // The places are freed when those connections close.
  let status = 0;
  for (let i = 0; i < 50 && status !== 200; i++) {
    await new Promise((r) => setTimeout(r, 100));
    status = (await fetch(`${gw.url}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"instances":[[1,0]]}' })).status;
  }
  assert.equal(status, 200);
});

test('pipelined requests that are read are answered in order, one backend call at a time', async () => {
  calls.most = 0;
  // Later requests answer faster: served at once, they would finish out of order.
  const bytes = Array.from({ length: 50 }, (_, i) => predict([i, 50 - i], `p${i}`)).join('');
  const ex = await rawExchange(gw.port, bytes, { timeoutMs: 10_000, expect: 50 });
  assert.equal(ex.responses.length, 50);
  assert.deepEqual(ex.responses.map((r) => r.headers['x-request-id']), Array.from({ length: 50 }, (_, i) => `p${i}`));
  assert.deepEqual(ex.responses.map((r) => (JSON.parse(r.body) as { predictions: number[] }).predictions[0]), Array.from({ length: 50 }, (_, i) => i));
  assert.equal(calls.most, 1);
});
