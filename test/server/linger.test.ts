// An error answered before the body was read (413 by Content-Length, 413 while streaming, 404,
// 401) must reach a client that is still sending: closing at once would make the kernel reset
// the connection over the answer still unread at the client. The gateway reads and discards the
// rest for a bounded time and size, then closes (nginx's lingering close).

import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, test } from 'node:test';
import { startEchoBackend, type EchoBackend } from '../support/echo-backend.ts';
import { startGateway, type RunningGateway } from '../support/gateway.ts';

let echo: EchoBackend;
let gw: RunningGateway;

before(async () => {
  echo = await startEchoBackend();
  gw = await startGateway(`
server: { maxBodyBytes: 1mb }
frontends: { vertex: { model: m, predictRoute: /predict, healthRoute: /health } }
backends: { echo: { type: http, url: "${echo.url}" } }
models: { m: { targets: [ { backend: echo } ] } }
`);
});

after(async () => {
  await gw?.stop();
  await echo?.close();
});

// send writes headers and the whole body at once, as clients do, and reads until the server
// closes; it reports what was read and whether the connection was reset.
function send(head: string, body: Buffer): Promise<{ text: string; reset: boolean }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let reset = false;
    const socket = connect(gw.port, '127.0.0.1', () => {
      socket.write(head);
      socket.write(body);
      socket.end();
    });
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', (err: NodeJS.ErrnoException) => { if (err.code === 'ECONNRESET' || err.code === 'EPIPE') reset = true; });
    socket.on('close', () => resolve({ text: Buffer.concat(chunks).toString('latin1'), reset }));
    socket.setTimeout(5000, () => socket.destroy());
  });
}

const body = Buffer.alloc(3 * 1024 * 1024, 0x20);

test('413 by Content-Length reaches a client still sending its body, every time', async () => {
  let resets = 0;
  for (let i = 0; i < 20; i++) {
    const r = await send(`POST /predict HTTP/1.1\r\nhost: a\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n`, body);
    assert.match(r.text, /^HTTP\/1\.1 413 /, `attempt ${i}: ${r.text.slice(0, 80)}`);
    assert.match(r.text, /"code":"payload_too_large"/);
    if (r.reset) resets++;
  }
  assert.equal(resets, 0, 'connections reset under the answer');
});

test('413 while streaming a chunked body and 404 for an unknown route reach the client too', async () => {
  const chunked = Buffer.concat([Buffer.from(`${body.length.toString(16)}\r\n`), body, Buffer.from('\r\n0\r\n\r\n')]);
  for (let i = 0; i < 10; i++) {
    const r = await send('POST /predict HTTP/1.1\r\nhost: a\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n', chunked);
    assert.match(r.text, /^HTTP\/1\.1 413 /, `attempt ${i}: ${r.text.slice(0, 80)}`);
    const missing = await send(`POST /nowhere HTTP/1.1\r\nhost: a\r\ncontent-length: ${body.length}\r\n\r\n`, body);
    assert.match(missing.text, /^HTTP\/1\.1 404 /, `attempt ${i}: ${missing.text.slice(0, 80)}`);
  }
});

test('a client that keeps sending past the lingering bound is cut off, and the gateway serves on', async () => {
  const r = await send('POST /predict HTTP/1.1\r\nhost: a\r\ncontent-length: 1000000000\r\n\r\n', Buffer.alloc(64 * 1024 * 1024, 0x20));
  assert.match(r.text, /^HTTP\/1\.1 413 /);
  const ok = await fetch(`${gw.url}/predict`, { method: 'POST', body: '{"instances":[[1,2]]}', headers: { 'content-type': 'application/json' } });
  assert.equal(ok.status, 200);
});
