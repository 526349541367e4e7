// Forwarding hygiene (reliability.md R3, catalogue row 2): hop-by-hop headers and every name
// listed in Connection never reach a backend, through the parsed http route and through the raw
// passthrough route; Upgrade is never forwarded.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startEchoBackend, type EchoBackend } from '../support/echo-backend.ts';
import { startGateway, type RunningGateway } from '../support/gateway.ts';
import { echoConfig } from '../support/gateway-configs.ts';
import { rawExchange, rawRequest } from '../support/raw-client.ts';

let echo: EchoBackend;
let gw: RunningGateway;

before(async () => {
  echo = await startEchoBackend();
  gw = await startGateway(echoConfig(echo.url, { raw: true }));
});

after(async () => {
  await gw?.stop();
  await echo?.close();
});

const body = '{"instances":[[1,2]]}';
// Names that must never reach a backend, as the client spelled them.
const hostile = [
  'Connection: X-Secret, keep-alive',
  'Connection: x-other',
  'X-Secret: s3cret-value',
  'x-other: other-value',
  'Keep-Alive: timeout=5, max=1000',
  'TE: trailers',
  'Trailer: x-checksum',
  'Upgrade: websocket',
  'Proxy-Authorization: Basic cHJveHk6c2VjcmV0',
  'Proxy-Connection: keep-alive',
  'HTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA',
];
const stripped = ['connection', 'x-secret', 'x-other', 'keep-alive', 'te', 'trailer', 'upgrade', 'proxy-authorization', 'proxy-connection', 'http2-settings'];

async function send(path: string, extra: string[]): Promise<{ status: number; forwarded: Record<string, unknown> }> {
  const before = echo.requests.length;
  const ex = await rawExchange(gw.port, rawRequest(`POST ${path} HTTP/1.1`,
    ['Host: 127.0.0.1', 'Content-Type: application/json', 'X-Visible: end-to-end', ...extra, `Content-Length: ${body.length}`], body), { expect: 1 });
  assert.equal(ex.responses.length, 1, `${path}: no answer`);
  const reached = echo.requests.slice(before);
  assert.equal(reached.length, 1, `${path}: ${reached.length} backend requests`);
  return { status: ex.responses[0]!.status, forwarded: reached[0]!.headers };
}

for (const path of ['/predict', '/raw']) {
  test(`${path}: 0 hop-by-hop or Connection-listed names reach the backend`, async () => {
    const { status, forwarded } = await send(path, hostile);
    assert.equal(status, 200);
    const leaked = stripped.filter((n) => n in forwarded && !(n === 'connection' && /^(keep-alive|close)$/i.test(String(forwarded[n]))));
    assert.deepEqual(leaked, [], `forwarded: ${JSON.stringify(forwarded)}`);
    // The gateway's own connection to the backend may say keep-alive/close; never the client's list.
    assert.doesNotMatch(String(forwarded.connection ?? ''), /x-secret|x-other/i);
    assert.equal(Object.values(forwarded).some((v) => /s3cret-value|other-value|cHJveHk6c2VjcmV0/.test(String(v))), false);
    if (path === '/raw') assert.equal(forwarded['x-visible'], 'end-to-end', 'the raw route forwards end-to-end headers (the check can see them)');
  });

  test(`${path}: a Connection: upgrade request is not turned into an upgrade upstream`, async () => {
    const { status, forwarded } = await send(path, ['Connection: Upgrade', 'Upgrade: websocket', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Version: 13']);
    assert.ok(status < 500, `status ${status}`);
    assert.equal('upgrade' in forwarded, false, JSON.stringify(forwarded));
    assert.doesNotMatch(String(forwarded.connection ?? ''), /upgrade/i);
  });
}

test('Connection naming an end-to-end header the gateway sets itself cannot remove the request id', async () => {
  const { forwarded } = await send('/raw', ['Connection: x-request-id, x-forwarded-for', 'x-request-id: client-id-1']);
  // The (valid) client id is the request's id; the gateway sets it again after stripping.
  assert.equal(forwarded['x-request-id'], 'client-id-1');
  assert.equal(typeof forwarded['x-forwarded-for'], 'string', 'the gateway sets x-forwarded-for after stripping');
});
