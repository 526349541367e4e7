// reply.test.ts — the one writer of answers: handler replies (JSON, bytes, empty), errors as
// {"error", "code"} with their status, Retry-After and headers, a started answer cut rather
// than corrupted, and the raw HTTP/1.1 error answer for a socket with no response.

import assert from 'node:assert/strict';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { GatewayError } from '../../src/errors.ts';
import { rawErrorResponse, writeError, writeReply } from '../../src/server/reply.ts';

interface Received { status: number; headers: Headers; text(): Promise<string>; json(): Promise<any> }

// answer serves one request with write(res) and gives what a client receives, body read.
async function answer(write: (res: ServerResponse) => void): Promise<Received> {
  const server = createServer((_req, res) => write(res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const { port } = server.address() as AddressInfo;
    const r = await fetch(`http://127.0.0.1:${port}/`);
    const text = await r.text();
    return { status: r.status, headers: r.headers, text: async () => text, json: async () => JSON.parse(text) };
  } finally {
    server.closeAllConnections();
    server.close();
  }
}

test('writeReply: an object becomes JSON with its length; bytes and text go as they are', async () => {
  const j = await answer((res) => writeReply(res, { status: 201, headers: { 'x-a': '1' }, body: { ok: 'é' } }));
  assert.equal(j.status, 201);
  assert.equal(j.headers.get('content-type'), 'application/json');
  assert.equal(j.headers.get('content-length'), String(Buffer.byteLength('{"ok":"é"}')));
  assert.equal(j.headers.get('x-a'), '1');
  assert.deepEqual(await j.json(), { ok: 'é' });
  const b = await answer((res) => writeReply(res, { status: 200, headers: { 'content-type': 'text/csv' }, body: new Uint8Array([49, 44, 50]) }));
  assert.equal(b.headers.get('content-type'), 'text/csv');
  assert.equal(await b.text(), '1,2');
});

test('writeReply: no body → content-length 0, except 204', async () => {
  const empty = await answer((res) => writeReply(res, { status: 200 }));
  assert.equal(empty.headers.get('content-length'), '0');
  assert.equal(await empty.text(), '');
  const none = await answer((res) => writeReply(res, { status: 204 }));
  assert.equal(none.status, 204);
  assert.equal(none.headers.get('content-length'), null);
});

test('writeError: the code\'s status, {"error", "code"}, Retry-After rounded up, the error\'s own headers', async () => {
  const r = await answer((res) => {
    const e = writeError(res, new GatewayError('rate_limited', 'slow down', { retryAfter: 0.2, headers: { 'x-why': 'bucket' } }));
    assert.equal(e.code, 'rate_limited');
  });
  assert.equal(r.status, 429);
  assert.equal(r.headers.get('retry-after'), '1');
  assert.equal(r.headers.get('x-why'), 'bucket');
  assert.deepEqual(await r.json(), { error: 'slow down', code: 'rate_limited' });
  const m = await answer((res) => writeError(res, new GatewayError('method_not_allowed', 'GET is not allowed', { headers: { allow: 'POST' } })));
  assert.equal(m.status, 405);
  assert.equal(m.headers.get('allow'), 'POST');
});

test('writeError: anything not a GatewayError is a 500 that keeps its message out of the answer', async () => {
  const r = await answer((res) => writeError(res, new Error('db password is hunter2')));
  assert.equal(r.status, 500);
  const text = await r.text();
  assert.doesNotMatch(text, /hunter2/);
  assert.deepEqual(JSON.parse(text), { error: 'internal error', code: 'internal' });
});

test('writeError after the answer started cuts the connection instead of writing a second answer', async () => {
  await assert.rejects(answer((res) => {
    res.writeHead(200, { 'content-length': '100' });
    res.write('partial');
    writeError(res, new GatewayError('backend_error', 'upstream died'));
  }).then((r) => r.text()));
});

test('rawErrorResponse: a whole HTTP/1.1 answer with reason phrase, JSON body and its length, closing the connection', () => {
  const raw = rawErrorResponse(new GatewayError('headers_too_large', 'request headers are too large'));
  const [head, body] = raw.split('\r\n\r\n');
  const lines = head!.split('\r\n');
  assert.equal(lines[0], 'HTTP/1.1 431 Request Header Fields Too Large');
  assert.ok(lines.includes('content-type: application/json'));
  assert.ok(lines.includes('connection: close'));
  assert.ok(lines.includes(`content-length: ${Buffer.byteLength(body!)}`));
  assert.deepEqual(JSON.parse(body!), { error: 'request headers are too large', code: 'headers_too_large' });
  assert.match(rawErrorResponse(new GatewayError('request_timeout', 'late')), /^HTTP\/1\.1 408 Request Timeout\r\n/);
  assert.match(rawErrorResponse(new GatewayError('overloaded', 'busy')), /\r\nretry-after: 1\r\n/);
});
