import assert from 'node:assert/strict';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { GatewayError } from '../../src/errors.ts';
import { silentLogger } from '../../src/observe/log.ts';
import { registry } from '../../src/observe/metrics.ts';
import { createHttpServer } from '../../src/server/http.ts';
import { Router } from '../../src/server/router.ts';
import type { CallContext, RawRoute, Route } from '../../src/types.ts';

let base = '';
let lastCtx: CallContext | undefined;
let aborted: unknown;

const routes: Array<Route | RawRoute> = [
  {
    // A raw route that fails before streaming, as a proxy whose upstream is down does.
    method: 'POST', path: '/raw/*', frontend: 't', raw: (_req, _res, ctx) => {
      ctx.fail(new GatewayError('backend_unreachable', `nothing answers ${ctx.path}`));
    },
  },
  { method: 'POST', path: '/echo', frontend: 't', handle: async (req) => ({ status: 200, body: { bytes: (await req.body()).length } }) },
  {
    method: 'POST', path: '/twice', frontend: 't', handle: async (req) => {
      const first = req.body();
      const same = first === req.body();
      const [a, b] = await Promise.all([first, req.body()]);
      return { status: 200, body: { same, a: a.toString(), b: b.toString() } };
    },
  },
  {
    method: 'POST', path: '/slow', frontend: 't', handle: async (req) => {
      const ctx = req.call;
      lastCtx = ctx;
      await new Promise<void>((resolve, reject) => {
        ctx.signal.addEventListener('abort', () => { aborted = ctx.signal.reason; reject(ctx.signal.reason); }, { once: true });
      });
      return { status: 200 };
    },
  },
  {
    method: 'GET', path: '/call', frontend: 't', handle: async (req) => {
      const { requestId, deadline, forward, headers, model, target, signal } = req.call;
      return { status: 200, body: { requestId, deadline: String(deadline), forward, timeout: headers['x-request-timeout-ms'], model, target, aborted: signal.aborted, same: req.call === req.call } };
    },
  },
  {
    // As a model's handle and split do: the call names its model and target, then fails.
    method: 'POST', path: '/canary', frontend: 'metrics_t', handle: async (req) => {
      req.call.model = 'm1';
      req.call.target = 'canary_t';
      throw new GatewayError('backend_error', 'the canary failed');
    },
  },
  { method: 'GET', path: '/boom', frontend: 't', handle: async () => { throw new Error('secret internals'); } },
  { method: 'GET', path: '/busy', frontend: 't', handle: async () => { throw new GatewayError('queue_full', 'queue is full'); } },
];

const server = createHttpServer({
  maxBodyBytes: 1024, maxJsonDepth: 64, maxHeaders: 20, bodyIdleTimeoutMs: 200, headersTimeoutMs: 2000, requestTimeoutMs: 5000, keepAliveTimeoutMs: 5000,
  log: silentLogger, router: () => router, draining: () => false, maxConcurrentRequests: 100,
});
const router = new Router(routes);

before(async () => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }));

test('unknown route → 404 JSON; wrong method → 405 with Allow', async () => {
  const r = await fetch(`${base}/nope`);
  assert.equal(r.status, 404);
  assert.equal(r.headers.get('content-type'), 'application/json');
  assert.equal(((await r.json()) as { code: string }).code, 'not_found');
  const m = await fetch(`${base}/echo`);
  assert.equal(m.status, 405);
  assert.equal(m.headers.get('allow'), 'POST');
  assert.equal(((await m.json()) as { code: string }).code, 'method_not_allowed');
});

test('x-request-id is echoed when valid and generated otherwise', async () => {
  const a = await fetch(`${base}/echo`, { method: 'POST', body: 'x', headers: { 'x-request-id': 'abc-123' } });
  assert.equal(a.headers.get('x-request-id'), 'abc-123');
  const b = await fetch(`${base}/echo`, { method: 'POST', body: 'x', headers: { 'x-request-id': 'bad id\u00e9' } });
  assert.match(b.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
});

test('a body over the limit gets 413 from Content-Length and while streaming', async () => {
  const a = await fetch(`${base}/echo`, { method: 'POST', body: 'x'.repeat(2000) });
  assert.equal(a.status, 413);
  assert.equal(((await a.json()) as { code: string }).code, 'payload_too_large');
  const stream = new ReadableStream({ start(c) { for (let i = 0; i < 4; i++) c.enqueue(new Uint8Array(400)); c.close(); } });
  const b = await fetch(`${base}/echo`, { method: 'POST', body: stream, duplex: 'half' } as RequestInit);
  assert.equal(b.status, 413);
  const ok = await fetch(`${base}/echo`, { method: 'POST', body: 'x'.repeat(1024) });
  assert.deepEqual(await ok.json(), { bytes: 1024 });
});

test('the call context: the request id, forwarded trace headers, no deadline (the model path sets it), no model yet', async () => {
  const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
  const r = await fetch(`${base}/call`, { headers: { 'x-request-id': 'rid-1', traceparent, tracestate: 'a=1', 'x-request-timeout-ms': '50' } });
  assert.equal(r.status, 200);
  assert.deepEqual(await r.json(), {
    requestId: 'rid-1', deadline: 'Infinity', forward: { 'x-request-id': 'rid-1', traceparent, tracestate: 'a=1' },
    timeout: '50', model: '', aborted: false, same: true,
  });
  const bad = await fetch(`${base}/call`, { headers: { traceparent: 'not-a-trace' } });
  const body = await bad.json() as { forward: Record<string, string> };
  assert.deepEqual(Object.keys(body.forward), ['x-request-id'], 'a malformed traceparent is not passed on');
});

test('a raw route\'s ctx.fail answers the JSON error with its status and Retry-After', async () => {
  const r = await fetch(`${base}/raw/x?q=1`, { method: 'POST' });
  assert.equal(r.status, 502);
  assert.equal(r.headers.get('retry-after'), '1');
  assert.ok(r.headers.get('x-request-id'));
  assert.deepEqual(await r.json(), { error: 'nothing answers /raw/x?q=1', code: 'backend_unreachable' });
});

test('body() reads once: a second call gives the same promise and the same bytes', async () => {
  const r = await fetch(`${base}/twice`, { method: 'POST', body: 'hello' });
  assert.deepEqual(await r.json(), { same: true, a: 'hello', b: 'hello' });
});

test('a failed call names its target in the answer; metrics carry the model and target the call named', async () => {
  const r = await fetch(`${base}/canary`, { method: 'POST' });
  assert.equal(r.status, 502);
  assert.equal(r.headers.get('x-infergate-target'), 'canary_t');
  const metrics = await registry.metrics();
  assert.match(metrics, /infergate_requests_total\{[^}]*frontend="metrics_t"[^}]*model="m1"[^}]*target="canary_t"[^}]*code="502"[^}]*\} 1/);
});

test('a client that goes away aborts the call with client_closed', async () => {
  aborted = undefined;
  const ac = new AbortController();
  const pending = fetch(`${base}/slow`, { method: 'POST', signal: ac.signal }).catch(() => undefined);
  while (lastCtx === undefined || lastCtx.signal.aborted) await new Promise((r) => setTimeout(r, 5));
  ac.abort();
  await pending;
  while (aborted === undefined) await new Promise((r) => setTimeout(r, 5));
  assert.ok(aborted instanceof GatewayError && aborted.code === 'client_closed');
});

test('unknown errors are 500 without internals; overload is 429 with Retry-After', async () => {
  const r = await fetch(`${base}/boom`);
  assert.equal(r.status, 500);
  const text = await r.text();
  assert.doesNotMatch(text, /secret internals/);
  assert.equal((JSON.parse(text) as { code: string }).code, 'internal');
  const busy = await fetch(`${base}/busy`);
  assert.equal(busy.status, 429);
  assert.equal(busy.headers.get('retry-after'), '1');
});

test('oversized headers → 431 JSON; malformed request → 400 JSON', async () => {
  const raw = (text: string): Promise<string> => new Promise((resolve) => {
    const port = Number(new URL(base).port);
    const s = connect(port, '127.0.0.1', () => s.write(text));
    let out = '';
    s.on('data', (d) => { out += d.toString(); });
    s.on('close', () => resolve(out));
    s.on('error', () => resolve(out));
  });
  const big = await raw(`GET /nope HTTP/1.1\r\nhost: x\r\nx-big: ${'a'.repeat(20_000)}\r\n\r\n`);
  assert.match(big, /^HTTP\/1\.1 431/);
  assert.match(big, /"code":"headers_too_large"/);
  const bad = await raw('GARBAGE\r\n\r\n');
  assert.match(bad, /^HTTP\/1\.1 400/);
  assert.match(bad, /"code":"bad_request"/);
});

test('more request headers than maxHeaders → 431 JSON; exactly the limit is served', async () => {
  const port = Number(new URL(base).port);
  const raw = (count: number): Promise<string> => new Promise((resolve) => {
    // host + connection + filler = count headers in all
    const filler = Array.from({ length: count - 2 }, (_, i) => `x-h${i}: ${i}\r\n`).join('');
    const s = connect(port, '127.0.0.1', () => s.write(`GET /nope HTTP/1.1\r\nhost: x\r\nconnection: close\r\n${filler}\r\n`));
    let out = '';
    s.on('data', (d) => { out += d.toString(); });
    s.on('close', () => resolve(out));
    s.on('error', () => resolve(out));
  });
  const over = await raw(21);
  assert.match(over, /^HTTP\/1\.1 431/);
  assert.match(over, /"code":"headers_too_large"/);
  assert.match(over, /more than 20 headers/);
  const many = await raw(500);
  assert.match(many, /^HTTP\/1\.1 431/);
  assert.match(await raw(20), /^HTTP\/1\.1 404/, 'the limit itself is accepted (and routed)');
});

test('a body that stalls gets 408 request_timeout and the connection is closed', async () => {
  const port = Number(new URL(base).port);
  const out = await new Promise<string>((resolve) => {
    const s = connect(port, '127.0.0.1', () => s.write('POST /echo HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\nabc'));
    let text = '';
    s.on('data', (d) => { text += d.toString(); });
    s.on('close', () => resolve(text));
  });
  assert.match(out, /^HTTP\/1\.1 408/);
  assert.match(out, /"code":"request_timeout"/);
});
