// Request smuggling and framing (reliability.md R2, catalogue rows 1 and 12; issue 14 item 12): every ambiguous
// framing gets 400 JSON and a closed connection, nothing smuggled reaches the backend (neither
// the parsed http route nor the raw passthrough route), and pipelined requests are answered in order.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startEchoBackend, type EchoBackend } from '../support/echo-backend.ts';
import { startGateway, type RunningGateway } from '../support/gateway.ts';
import { echoConfig } from '../support/gateway-configs.ts';
import { rawExchange, rawRequest } from '../support/raw-client.ts';

let echo: EchoBackend;
let gw: RunningGateway;

before(async () => {
  echo = await startEchoBackend({ delayMs: (r) => (r.body.includes('"slow"') ? 300 : 0) });
  gw = await startGateway(echoConfig(echo.url, { raw: true }));
});

after(async () => {
  await gw?.stop();
  await echo?.close();
});

const smuggled = 'GET /smuggled HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n';
const json = '{"instances":[[1,2]]}';

// Each vector hides a second request ("GET /smuggled") where one framing reading would find it.
function vectors(path: string): Array<[string, string]> {
  const line = `POST ${path} HTTP/1.1`;
  const host = 'host: 127.0.0.1';
  const type = 'content-type: application/json';
  const chunkedThenSmuggled = `0\r\n\r\n${smuggled}`;
  return [
    ['CL + TE', rawRequest(line, [host, type, `content-length: ${chunkedThenSmuggled.length}`, 'transfer-encoding: chunked'], chunkedThenSmuggled)],
    ['TE + CL', rawRequest(line, [host, type, 'transfer-encoding: chunked', 'content-length: 4'], `${json.length.toString(16)}\r\n${json}\r\n0\r\n\r\n${smuggled}`)],
    ['duplicate CL, different values', rawRequest(line, [host, type, `content-length: ${json.length}`, `content-length: ${json.length + smuggled.length}`], json + smuggled)],
    ['duplicate CL, same values', rawRequest(line, [host, type, `content-length: ${json.length}`, `content-length: ${json.length}`], json + smuggled)],
    ['CL list', rawRequest(line, [host, type, `content-length: ${json.length}, ${json.length}`], json + smuggled)],
    ['CL with a plus sign', rawRequest(line, [host, type, `content-length: +${json.length}`], json + smuggled)],
    ['CL in hex', rawRequest(line, [host, type, `content-length: 0x${json.length.toString(16)}`], json + smuggled)],
    ['CL negative', rawRequest(line, [host, type, 'content-length: -1'], json + smuggled)],
    ['TE chunked, chunked', rawRequest(line, [host, type, 'transfer-encoding: chunked, chunked'], chunkedThenSmuggled)],
    ['TE twice', rawRequest(line, [host, type, 'transfer-encoding: chunked', 'transfer-encoding: chunked'], chunkedThenSmuggled)],
    ['TE not final (gzip)', rawRequest(line, [host, type, 'transfer-encoding: chunked, gzip'], chunkedThenSmuggled)],
    ['TE gzip only', rawRequest(line, [host, type, 'transfer-encoding: gzip', `content-length: ${json.length}`], json + smuggled)],
    ['TE xchunked', rawRequest(line, [host, type, 'transfer-encoding: xchunked', `content-length: ${json.length}`], json + smuggled)],
    ['TE with space before the colon', rawRequest(line, [host, type, 'transfer-encoding : chunked', `content-length: ${json.length}`], json + smuggled)],
    ['TE with vertical tab', rawRequest(line, [host, type, 'transfer-encoding: chunked\x0b', `content-length: ${json.length}`], json + smuggled)],
    ['TE obs-folded', rawRequest(line, [host, type, 'transfer-encoding:', ' chunked', `content-length: ${json.length}`], json + smuggled)],
    ['obs-fold in another header', rawRequest(line, [host, type, 'x-folded: a', ' b', `content-length: ${json.length}`], json + smuggled)],
    ['chunk size overflow', rawRequest(line, [host, type, 'transfer-encoding: chunked'], `fffffffffffffffff${json.length.toString(16)}\r\n${json}\r\n0\r\n\r\n${smuggled}`)],
    ['chunk size in 0x form', rawRequest(line, [host, type, 'transfer-encoding: chunked'], `0x${json.length.toString(16)}\r\n${json}\r\n0\r\n\r\n${smuggled}`)],
    ['chunk size negative', rawRequest(line, [host, type, 'transfer-encoding: chunked'], `-1\r\n${json}\r\n0\r\n\r\n${smuggled}`)],
    ['chunk size with a space inside', rawRequest(line, [host, type, 'transfer-encoding: chunked'], `1 5\r\n${json}\r\n0\r\n\r\n${smuggled}`)],
    ['chunk data longer than its size', rawRequest(line, [host, type, 'transfer-encoding: chunked'], `2\r\n${json}\r\n0\r\n\r\n${smuggled}`)],
    ['chunk size with a bare LF', rawRequest(line, [host, type, 'transfer-encoding: chunked'], `${json.length.toString(16)}\n${json}\r\n0\r\n\r\n${smuggled}`)],
    ['chunk extension with a bare LF', rawRequest(line, [host, type, 'transfer-encoding: chunked'], `${json.length.toString(16)};a\nb\r\n${json}\r\n0\r\n\r\n${smuggled}`)],
    ['NUL in a header value', rawRequest(line, [host, type, 'x-nul: a\x00b', `content-length: ${json.length}`], json + smuggled)],
    ['space in the header name', rawRequest(line, [host, type, 'x bad: 1', `content-length: ${json.length}`], json + smuggled)],
    // Accepted by Node's parser, refused by the gateway as NGINX refuses them (only exactly
    // "chunked"; no Transfer-Encoding in HTTP/1.0; one Host).
    ['TE identity, chunked', rawRequest(line, [host, type, 'transfer-encoding: identity, chunked'], chunkedThenSmuggled)],
    ['TE ,chunked', rawRequest(line, [host, type, 'transfer-encoding: ,chunked'], chunkedThenSmuggled)],
    ['TE gzip, chunked', rawRequest(line, [host, type, 'transfer-encoding: gzip, chunked'], chunkedThenSmuggled)],
    ['HTTP/1.0 with TE chunked', rawRequest(`POST ${path} HTTP/1.0`, [host, type, 'transfer-encoding: chunked'], chunkedThenSmuggled)],
    ['duplicate Host', rawRequest(line, [host, 'host: evil.example', type, `content-length: ${json.length}`], json + smuggled)],
  ];
}

for (const path of ['/predict', '/raw']) {
  test(`smuggling set on ${path}: 400 JSON, connection closed, nothing reaches the backend`, async () => {
    const before = echo.requests.length;
    const results = await Promise.all(vectors(path).map(async ([name, bytes]) => ({ name, ex: await rawExchange(gw.port, bytes, { timeoutMs: 4000 }) })));
    for (const { name, ex } of results) {
      assert.equal(ex.responses.length, 1, `${name}: expected one answer, got ${ex.responses.map((r) => r.status).join(',') || 'none'} (rest ${JSON.stringify(ex.rest.slice(0, 80))})`);
      const [res] = ex.responses;
      assert.equal(res!.status, 400, `${name}: status ${res!.status} ${res!.body}`);
      assert.match(res!.headers['content-type'] ?? '', /^application\/json/, name);
      const body = JSON.parse(res!.body) as { error?: unknown; code?: unknown };
      assert.equal(typeof body.error, 'string', name);
      assert.equal(typeof body.code, 'string', name);
      assert.equal(ex.closedByServer, true, `${name}: the gateway kept the connection open`);
    }
    const reached = echo.requests.slice(before);
    assert.deepEqual(reached.map((r) => `${r.method} ${r.path}`), [], 'requests reached the backend');
    assert.equal(echo.requests.some((r) => r.path.includes('smuggled')), false);
  });
}

test('a valid request followed by a badly framed one: the first is answered, the second gets 400 and the close', async () => {
  const first = rawRequest('POST /predict HTTP/1.1', ['host: a', 'content-type: application/json', `content-length: ${json.length}`], json);
  const second = rawRequest('POST /predict HTTP/1.1', ['host: a', `content-length: ${json.length}`, 'transfer-encoding: chunked'], `0\r\n\r\n${smuggled}`);
  const before = echo.requests.length;
  const ex = await rawExchange(gw.port, first + second, { timeoutMs: 4000 });
  assert.deepEqual(ex.responses.map((r) => r.status), [200, 400]);
  assert.deepEqual(JSON.parse(ex.responses[0]!.body), { predictions: [3] });
  assert.equal(ex.closedByServer, true);
  assert.deepEqual(echo.requests.slice(before).map((r) => `${r.method} ${r.path}`), ['POST /predict']);
});

test('pipelined requests are answered in order, a slow first one included (parsed and raw routes)', async () => {
  for (const path of ['/predict', '/raw']) {
    const bodies = ['{"instances":[[1,1]],"parameters":{"x":"slow"}}', '{"instances":[[2,2]]}', '{"instances":[[3,3]]}'];
    const bytes = bodies.map((b, i) => rawRequest(`POST ${path} HTTP/1.1`,
      ['host: a', 'content-type: application/json', `x-request-id: pipe-${i}`, `content-length: ${b.length}`], b)).join('');
    const ex = await rawExchange(gw.port, bytes, { timeoutMs: 5000, expect: 3 });
    assert.deepEqual(ex.responses.map((r) => r.status), [200, 200, 200], `${path}: ${ex.responses.map((r) => r.body).join(' | ')}`);
    assert.deepEqual(ex.responses.map((r) => r.headers['x-request-id']), ['pipe-0', 'pipe-1', 'pipe-2'], path);
    assert.deepEqual(ex.responses.map((r) => (JSON.parse(r.body) as { predictions: number[] }).predictions[0]), [2, 4, 6], path);
  }
});

test('the gateway logged no uncaught exception and still serves', async () => {
  const res = await fetch(`${gw.url}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: json });
  assert.equal(res.status, 200);
  assert.doesNotMatch(gw.logs(), /uncaught exception|"severity":"(ERROR|CRITICAL)"/);
});
