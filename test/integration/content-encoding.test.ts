// Compressed request bodies (issue 14, item 13): Content-Encoding gzip, x-gzip and deflate (the
// zlib format, and raw deflate that some clients send under its name) are decoded on every
// parsed route, as Triton does; identity passes; any other coding is a 415 naming it; a zip
// bomb is a 413 (the decoded size is bounded by maxBodyBytes); a corrupt stream is a 400 JSON.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import { startEchoBackend, type EchoBackend } from '../support/echo-backend.ts';
import { startGateway, type RunningGateway } from '../support/gateway.ts';
import { rawExchange, rawRequest } from '../support/raw-client.ts';

let echo: EchoBackend;
let gw: RunningGateway;

before(async () => {
  echo = await startEchoBackend();
  gw = await startGateway(`
server: { maxBodyBytes: 64kb }
frontends:
  vertex: { model: m, predictRoute: /predict, healthRoute: /health }
  oci: { model: m, predictRoute: /oci/predict, healthRoute: /oci/health }
  sagemaker: { model: m }
backends: { echo: { type: http, url: "${echo.url}" } }
models: { m: { targets: [ { backend: echo } ] } }
`);
});

after(async () => {
  await gw?.stop();
  await echo?.close();
});

const json = '{"instances":[[1,2],[3,4]]}';

async function post(path: string, encoding: string, body: Buffer): Promise<{ status: number; json: { predictions?: unknown; code?: string; error?: string } }> {
  const r = await fetch(`${gw.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-encoding': encoding }, body });
  return { status: r.status, json: await r.json() as { predictions?: unknown; code?: string; error?: string } };
}

test('gzip, x-gzip, deflate (zlib and raw) and identity bodies are decoded on every parsed route', async () => {
  const bodies: Array<[string, Buffer]> = [
    ['gzip', gzipSync(json)], ['x-gzip', gzipSync(json)], ['GZIP', gzipSync(json)], ['deflate', deflateSync(json)], ['deflate', deflateRawSync(json)],
    ['identity', Buffer.from(json)], ['gzip, identity', gzipSync(json)],
  ];
  for (const path of ['/predict', '/oci/predict', '/invocations']) {
    for (const [encoding, body] of bodies) {
      const r = await post(path, encoding, body);
      assert.equal(r.status, 200, `${path} ${encoding}: ${JSON.stringify(r.json)}`);
      assert.deepEqual(r.json.predictions, [3, 7], `${path} ${encoding}`);
    }
  }
  // The backend got the decoded JSON, and no Content-Encoding with it.
  const last = echo.requests.at(-1)!;
  assert.equal(last.body, json);
  assert.equal(last.headers['content-encoding'], undefined);
});

test('a gzip body sent in chunks (Transfer-Encoding: chunked) is decoded as it streams', async () => {
  const z = gzipSync(json);
  const parts = [z.subarray(0, 1), z.subarray(1, 7), z.subarray(7)];
  const chunked = parts.map((p) => `${p.length.toString(16)}\r\n${p.toString('latin1')}\r\n`).join('') + '0\r\n\r\n';
  const ex = await rawExchange(gw.port, Buffer.from(rawRequest('POST /predict HTTP/1.1',
    ['host: a', 'content-type: application/json', 'content-encoding: gzip', 'transfer-encoding: chunked', 'connection: close'], chunked), 'latin1'), { expect: 1 });
  assert.equal(ex.responses[0]?.status, 200, ex.responses[0]?.body);
  assert.deepEqual(JSON.parse(ex.responses[0]!.body), { predictions: [3, 7] });
});

test('another Content-Encoding is a 415 naming it', async () => {
  for (const encoding of ['br', 'zstd', 'compress', 'gzip, gzip', 'deflate, gzip']) {
    const r = await post('/predict', encoding, gzipSync(json));
    assert.equal(r.status, 415, encoding);
    assert.equal(r.json.code, 'unsupported_media_type');
    assert.ok(r.json.error?.includes(JSON.stringify(encoding)), `${encoding}: ${r.json.error}`);
  }
});

test('a zip bomb is a 413: 60 MB of zeros in 60 KB of gzip, against a 64 KB limit', async () => {
  const bomb = gzipSync(Buffer.alloc(60 * 1024 * 1024), { level: 9 });
  assert.ok(bomb.length < 64 * 1024);
  for (const [encoding, body] of [['gzip', bomb], ['deflate', deflateSync(Buffer.alloc(60 * 1024 * 1024), { level: 9 })]] as Array<[string, Buffer]>) {
    const r = await post('/predict', encoding, body);
    assert.equal(r.status, 413, encoding);
    assert.equal(r.json.code, 'payload_too_large');
    assert.match(r.json.error ?? '', /once decoded/);
  }
  // Still serving, on a fresh request.
  assert.equal((await post('/predict', 'gzip', gzipSync(json))).status, 200);
});

test('a corrupt or truncated gzip body is a 400 JSON', async () => {
  const z = gzipSync(json);
  for (const [what, body] of [['not gzip', Buffer.from(json)], ['truncated', z.subarray(0, z.length - 6)], ['bad checksum', Buffer.concat([z.subarray(0, z.length - 8), Buffer.alloc(8)])]] as Array<[string, Buffer]>) {
    const r = await post('/predict', 'gzip', body);
    assert.equal(r.status, 400, what);
    assert.equal(r.json.code, 'bad_request', what);
    assert.match(r.json.error ?? '', /not valid gzip/, what);
  }
});
