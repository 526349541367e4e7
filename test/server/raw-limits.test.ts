// raw-limits.test.ts — raw (streaming) routes get the server's limits, through the real gateway:
// a declared Content-Length over maxBodyBytes is 413 before anything reaches the upstream; a
// chunked body that passes it is cut and answered 413; maxConcurrentRequests counts raw
// requests until their answer ends; raw requests are in infergate_requests_total and the
// duration histogram; an upstream that stalls after its headers gets a 502 JSON answer.

import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { after, before, test } from 'node:test';
import { startGateway, type RunningGateway } from '../support/gateway.ts';
import { parseResponses, rawExchange, rawRequest } from '../support/raw-client.ts';
import { waitFor } from '../support/wait-for.ts';

// The upstream: ?hold keeps each request open until released; ?stall sends its headers, then
// nothing; anything else reads the whole body and answers how many bytes it got.
let upstream: Server;
let upstreamPort = 0;
const held: ServerResponse[] = [];
const received: Array<{ path: string; bytes: number; complete: boolean }> = [];
let gw: RunningGateway;

before(async () => {
  upstream = createServer((req: IncomingMessage, res: ServerResponse) => {
    const seen = { path: req.url ?? '', bytes: 0, complete: false };
    received.push(seen);
    req.on('data', (c: Buffer) => { seen.bytes += c.length; });
    req.on('error', () => {});
    if (seen.path.includes('hold')) { held.push(res); return; }
    if (seen.path.includes('stall')) { res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': '100' }); res.flushHeaders(); return; }
    req.on('end', () => {
      seen.complete = true;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ bytes: seen.bytes }));
    });
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  upstreamPort = (upstream.address() as { port: number }).port;
  gw = await startGateway(`
server: { maxBodyBytes: 64kb, maxConcurrentRequests: 2 }
frontends:
  vertex: { model: m, predictRoute: /predict, healthRoute: /health, rawPredictRoute: /raw, rawBackend: up }
backends:
  up: { type: passthrough, url: "http://127.0.0.1:${upstreamPort}", timeoutMs: 1s }
models:
  m: { targets: [ { backend: up } ] }
`);
});

after(async () => {
  for (const res of held) res.destroy();
  await gw?.stop();
  upstream?.closeAllConnections();
  await new Promise<void>((resolve) => upstream?.close(() => resolve()));
});

async function metricLines(pattern: RegExp): Promise<string[]> {
  const text = await (await fetch(`${gw.adminUrl}/metrics`)).text();
  return text.split('\n').filter((l) => pattern.test(l));
}

test('a declared Content-Length over maxBodyBytes is 413 at once; the upstream never sees it', async () => {
  const before = received.length;
  // Only the headers: the answer must come without the body being sent.
  const ex = await rawExchange(gw.port, rawRequest('POST /raw HTTP/1.1', ['Host: x', 'Content-Type: application/octet-stream', 'Content-Length: 50000000']).replace(/\r\n\r\n[\s\S]*$/, '\r\n\r\n'), { expect: 1 });
  assert.equal(ex.responses[0]?.status, 413, JSON.stringify(ex));
  assert.equal(JSON.parse(ex.responses[0]!.body).code, 'payload_too_large');
  assert.equal(received.length, before, 'nothing reached the upstream');
});

test('a chunked body that passes maxBodyBytes is cut: 413, and the upstream never gets it whole', async () => {
  const before = received.length;
  const answer = await new Promise<string>((resolve) => {
    const socket = connect(gw.port, '127.0.0.1');
    let data = '';
    socket.on('data', (c: Buffer) => { data += c.toString('latin1'); });
    socket.on('error', () => {});
    socket.on('close', () => resolve(data));
    socket.write('POST /raw HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n');
    const chunk = Buffer.alloc(16 * 1024, 120);
    let sent = 0;
    // 20 chunks of 16 KB (320 KB, five times the limit), then the end; bounded.
    const send = (): void => {
      if (socket.destroyed) return;
      if (sent === 20) { socket.write('0\r\n\r\n'); setTimeout(() => socket.end(), 2000); return; }
      sent++;
      socket.write(`${chunk.length.toString(16)}\r\n`);
      socket.write(chunk);
      socket.write('\r\n', () => setImmediate(send));
    };
    send();
  });
  const { responses } = parseResponses(Buffer.from(answer, 'latin1'));
  assert.equal(responses[0]?.status, 413, answer.slice(0, 300));
  assert.equal(JSON.parse(responses[0]!.body).code, 'payload_too_large');
  const got = received.slice(before);
  assert.ok(got.every((r) => !r.complete && r.bytes <= 64 * 1024), `the upstream got ${JSON.stringify(got)}`);
});

test('maxConcurrentRequests counts raw requests until their answers end; the rest get 429', async () => {
  const before = held.length;
  const calls = Array.from({ length: 10 }, () => fetch(`${gw.url}/raw?hold=1`, { method: 'POST', body: 'x' }).then(async (r) => ({ status: r.status, body: await r.text() })));
  // Two reach the upstream and stay there; the other eight are refused.
  await waitFor(async () => held.length - before >= 2, 10_000);
  const settled: Array<{ status: number; body: string }> = [];
  for (const c of calls) void c.then((r) => settled.push(r));
  await waitFor(async () => settled.length >= 8, 10_000);
  assert.deepEqual(settled.map((r) => r.status), Array(8).fill(429));
  assert.equal(JSON.parse(settled[0]!.body).code, 'overloaded');
  assert.equal(held.length - before, 2, 'no more than the limit reached the upstream');
  for (const res of held.slice(before)) res.end('done');
  const all = await Promise.all(calls);
  assert.equal(all.filter((r) => r.status === 200).length, 2);
  // The slots are free again.
  const next = fetch(`${gw.url}/raw?hold=1`, { method: 'POST', body: 'x' });
  await waitFor(async () => held.length - before >= 3, 10_000);
  held.at(-1)!.end('done');
  assert.equal((await next).status, 200);
});

test('raw requests are in infergate_requests_total and the duration histogram, by frontend and code', async () => {
  assert.equal((await fetch(`${gw.url}/raw`, { method: 'POST', body: 'hello' })).status, 200);
  const ok = await metricLines(/^infergate_requests_total\{.*frontend="vertex".*code="200"/);
  assert.ok(ok.length > 0 && Number(ok[0]!.split(' ').pop()) >= 1, ok.join('\n'));
  assert.ok((await metricLines(/^infergate_requests_total\{.*frontend="vertex".*code="413"/)).length > 0);
  assert.ok((await metricLines(/^infergate_requests_total\{.*frontend="vertex".*code="429"/)).length > 0);
  const duration = await metricLines(/^infergate_request_duration_seconds_count\{.*frontend="vertex"/);
  assert.ok(duration.length > 0 && Number(duration[0]!.split(' ').pop()) >= 1, duration.join('\n'));
});

test('an upstream that stalls after its headers gets a 502 JSON answer when nothing was flushed', async () => {
  const res = await fetch(`${gw.url}/raw?stall=1`, { method: 'POST', body: 'x' });
  const body = await res.text();
  assert.equal(res.status, 502, body);
  assert.match(res.headers.get('content-type') ?? '', /application\/json/);
  assert.equal(JSON.parse(body).code, 'backend_bad_reply');
});
