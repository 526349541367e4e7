// Backend answers held in memory, through the whole gateway (vertex frontend → http backend →
// a server answering huge predictions): each read stops at the smallest limit that applies (the
// frontend's maxResponseBytes → 413, the backend's own → 502), and server.maxBufferedBytes
// bounds the bytes held over all calls: the excess waits briefly, then gets 503 buffers_full
// with Retry-After, shown in /metrics.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent, request } from 'undici';
import { startGateway, type RunningGateway } from '../support/gateway.ts';

const mb = 1024 * 1024;
const agent = new Agent({ connections: 32 });
const servers: Server[] = [];

after(async () => {
  await agent.close();
  for (const s of servers) s.closeAllConnections();
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
});

/** A model server whose every answer is {"predictions": ["xxx…"]} of `size` bytes, written in 1 MB pieces as the socket takes them. */
async function hugeAnswers(size: number, options: { declare: boolean; pauseMs?: number }): Promise<{ url: string; written: number[] }> {
  const written: number[] = [];
  const server = createServer((req, res) => {
    if (req.method === 'GET') return void res.end('{}');
    req.resume();
    req.on('end', () => void answer(res));
  });
  const answer = async (res: ServerResponse): Promise<void> => {
    const head = Buffer.from('{"predictions":["');
    const tail = Buffer.from('"]}');
    const fill = size - head.length - tail.length;
    res.writeHead(200, { 'content-type': 'application/json', ...(options.declare ? { 'content-length': String(size) } : {}) });
    const index = written.push(0) - 1;
    const piece = Buffer.alloc(mb, 0x78);
    const write = (chunk: Buffer): Promise<boolean> => new Promise((resolve) => {
      if (res.destroyed) return resolve(false);
      written[index]! += chunk.length;
      if (res.write(chunk)) return resolve(true);
      const done = (): void => { res.off('drain', done); res.off('close', done); resolve(!res.destroyed); };
      res.once('drain', done).once('close', done);
    });
    if (!await write(head)) return;
    for (let left = fill; left > 0; left -= mb) {
      if (!await write(left >= mb ? piece : piece.subarray(0, left))) return;
      if (options.pauseMs !== undefined) await new Promise((r) => setTimeout(r, options.pauseMs));
    }
    if (await write(tail)) res.end();
  };
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, written };
}

async function predict(gw: RunningGateway): Promise<{ status: number; code?: string; retryAfter?: string; bytes: number }> {
  const res = await request(`${gw.url}/predict`, {
    method: 'POST', body: '{"instances":[[1]]}', headers: { 'content-type': 'application/json' }, dispatcher: agent, signal: AbortSignal.timeout(60_000),
  });
  const body = Buffer.from(await res.body.arrayBuffer());
  const retryAfter = res.headers['retry-after']?.toString();
  if (res.statusCode === 200) return { status: 200, bytes: body.length };
  return { status: res.statusCode, code: (JSON.parse(body.toString()) as { code: string }).code, bytes: body.length, ...(retryAfter === undefined ? {} : { retryAfter }) };
}

async function metric(gw: RunningGateway, name: string): Promise<number> {
  const text = await (await fetch(`${gw.adminUrl}/metrics`)).text();
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  return m === null ? NaN : Number(m[1]);
}

describe('each read stops at the smallest limit that applies', () => {
  let gw: RunningGateway;
  let streamed: { url: string; written: number[] };

  before(async () => {
    // 40 MB, undeclared: the gateway can only know its size by reading it.
    streamed = await hugeAnswers(40 * mb, { declare: false });
    gw = await startGateway(`
frontends: { vertex: { model: m, predictRoute: /predict, healthRoute: /health, maxResponseBytes: 1mb } }
backends:
  a: { type: http, url: "${streamed.url}" }
  small: { type: http, url: "${streamed.url}", maxResponseBytes: 512kb }
models:
  m: { timeoutMs: 30000, retry: { attempts: 1 }, targets: [ { backend: a } ] }
`);
  });
  after(async () => { await gw?.stop(); });

  test('the frontend\'s maxResponseBytes caps the read: 413 response_too_large, and the rest is never read', async () => {
    const got = await predict(gw);
    assert.equal(got.status, 413);
    assert.equal(got.code, 'response_too_large');
    // The server could write at most the cap plus what the sockets buffer before it was cut.
    const sent = streamed.written.at(-1)!;
    assert.ok(sent < 20 * mb, `the server wrote ${(sent / mb).toFixed(1)} MB of its 40 MB answer`);
  });
});

describe('the backend\'s own cap, when smaller, is a 502', () => {
  let gw: RunningGateway;

  before(async () => {
    const server = await hugeAnswers(2 * mb, { declare: true });
    gw = await startGateway(`
frontends: { vertex: { model: m, predictRoute: /predict, healthRoute: /health, maxResponseBytes: 32mb } }
backends: { a: { type: http, url: "${server.url}", maxResponseBytes: 1mb } }
models:
  m: { timeoutMs: 30000, retry: { attempts: 1 }, targets: [ { backend: a } ] }
`);
  });
  after(async () => { await gw?.stop(); });

  test('502 backend_bad_reply naming the backend\'s maxResponseBytes', async () => {
    const got = await predict(gw);
    assert.equal(got.status, 502);
    assert.equal(got.code, 'backend_bad_reply');
  });
});

describe('server.maxBufferedBytes bounds the answer bytes held over all calls', () => {
  let gw: RunningGateway;
  const answers = 24;
  const size = 16 * mb;

  before(async () => {
    // Written over a few hundred ms each, so that the 24 reads overlap.
    const server = await hugeAnswers(size, { declare: true, pauseMs: 15 });
    gw = await startGateway(`
server: { maxBufferedBytes: 48mb }
frontends: { vertex: { model: m, predictRoute: /predict, healthRoute: /health, maxResponseBytes: 64mb } }
backends: { a: { type: http, url: "${server.url}" } }
models:
  m: { timeoutMs: 60000, retry: { attempts: 1 }, targets: [ { backend: a } ] }
`);
  });
  after(async () => { await gw?.stop(); });

  test('24 concurrent 16 MB answers: the excess gets 503 buffers_full with Retry-After, RSS growth stays bounded', async (t) => {
    const rssBefore = await metric(gw, 'process_resident_memory_bytes');
    const got = await Promise.all(Array.from({ length: answers }, () => predict(gw)));
    const rssAfter = await metric(gw, 'process_resident_memory_bytes');
    const counts: Record<string, number> = {};
    for (const g of got) counts[`${g.status} ${g.code ?? ''}`] = (counts[`${g.status} ${g.code ?? ''}`] ?? 0) + 1;
    const growth = (rssAfter - rssBefore) / mb;
    t.diagnostic(`${JSON.stringify(counts)}; RSS +${growth.toFixed(0)} MB`);
    for (const g of got) {
      if (g.status === 200) assert.ok(g.bytes > size - 64, 'a whole answer');
      else assert.deepEqual([g.status, g.code, g.retryAfter], [503, 'buffers_full', '1']);
    }
    const refused = got.filter((g) => g.status === 503).length;
    assert.ok(refused > 0 && refused < answers, `some are refused, some served: ${JSON.stringify(counts)}`);
    assert.equal(await metric(gw, 'infergate_buffer_refusals_total'), refused);
    assert.equal(await metric(gw, 'infergate_buffered_response_bytes'), 0, 'every byte taken was given back');
    // Unbounded, 24 answers of 16 MB would hold 384 MB at once, before any copy made from them.
    // Measured here: +180 to +265 MB bounded, +542 MB unbounded.
    assert.ok(growth < 400, `RSS grew ${growth.toFixed(0)} MB`);
  });
});
