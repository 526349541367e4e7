// The error model of issue 2 point 7 through the real gateway process in front of the real
// Flask iris server: 413 before the body is read, 400s that say what and where, 404, 405 with
// Allow, backend refused / reset / down → 502 or 503 with Retry-After, backend timeout → 504,
// JSON nesting depth. Every error body is exactly {"error": string, "code": string}.

import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { expectError, expectErrorBody } from '../support/expect-error.ts';
import { startFlask, type RunningFlask } from '../support/flask.ts';
import { startGateway, type RunningGateway } from '../support/gateway.ts';
import { everyFrontend } from '../support/gateway-configs.ts';
import { freePort } from '../support/ports.ts';
import { rawExchange, type RawResponse } from '../support/raw-client.ts';
import { waitFor } from '../support/wait-for.ts';

const setosa = [5.1, 3.5, 1.4, 0.2];
const json = { 'content-type': 'application/json' };
const limit = 64 * 1024;

let flask: RunningFlask;
before(async () => { flask = await startFlask(); });
after(() => flask.stop());

// The rows frontends' predict routes; KServe v2 takes tensors and is checked on its own.
const rowRoutes: Array<[string, string]> = [
  ['vertex', '/vertex/predict'], ['oci', '/predict'], ['sagemaker', '/invocations'], ['kserve-v1', '/v1/models/iris:predict'],
];
const allPosts = [...rowRoutes, ['kserve-v2', '/v2/models/iris/infer']] as Array<[string, string]>;

/** startFaulty answers /health 200; POST /hang never answers; POST /reset destroys the socket. */
async function startFaulty(): Promise<{ url: string; server: Server; hung: IncomingMessage[] }> {
  const hung: IncomingMessage[] = [];
  const server = createServer((req, res) => {
    if (req.url === '/health') res.writeHead(200, json).end('{}');
    else if (req.url === '/reset') req.socket.destroy();
    else hung.push(req);
  });
  return { url: await listen(server), server, hung };
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
}

async function close(server: Server | undefined): Promise<void> {
  if (server === undefined || !server.listening) return;
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
}

describe('error cases', () => {
  let gw: RunningGateway;
  let faulty: Awaited<ReturnType<typeof startFaulty>>;
  let doomed: Server;
  before(async () => {
    faulty = await startFaulty();
    // Healthy at start, closed by the "refused" test: connections to it are then refused.
    doomed = createServer((req, res) => res.writeHead(200, json).end('{}'));
    const doomedUrl = await listen(doomed);
    const nobody = `http://127.0.0.1:${await freePort()}`;
    // A long health interval keeps "refused" marked ready, so the call itself meets ECONNREFUSED.
    gw = await startGateway(`
server: { maxBodyBytes: 64kb, maxJsonDepth: 8, healthIntervalMs: 10m, drainDelaySeconds: 0, drainSeconds: 2 }
${everyFrontend('iris')}
backends:
  flask: { type: http, url: "${flask.url}" }
  hang: { type: http, url: "${faulty.url}", predictPath: /hang }
  reset: { type: http, url: "${faulty.url}", predictPath: /reset }
  refused: { type: http, url: "${doomedUrl}" }
  down: { type: http, url: "${nobody}" }
models:
  iris: { targets: [ { backend: flask } ] }
  hang: { timeoutMs: 1s, targets: [ { backend: hang } ] }
  reset: { targets: [ { backend: reset } ] }
  refused: { targets: [ { backend: refused } ] }
  down: { targets: [ { backend: down } ] }
`);
  });
  after(async () => {
    await gw?.stop();
    await close(faulty?.server);
    await close(doomed);
  });

  test('413 payload_too_large as soon as Content-Length says too much, though no body byte is ever sent', async () => {
    for (const [name, path] of allPosts) {
      const res = await rawRequest(gw.port, `POST ${path} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${limit + 1}\r\n\r\n`);
      expectErrorBody(res, 413, 'payload_too_large', name);
      assert.match(JSON.parse(res.body).error, /65536/, `${name}: the message names the limit`);
    }
  });

  test('413 for a chunked body as soon as it passes the limit, while the client is still sending', async () => {
    const chunk = ' '.repeat(16 * 1024);
    const frame = `${chunk.length.toString(16)}\r\n${chunk}\r\n`;
    // Five 16 KiB chunks (80 KiB) and never the final 0-chunk: only an early answer ends this.
    const head = 'POST /vertex/predict HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n';
    const res = await rawRequest(gw.port, head + frame.repeat(5));
    expectErrorBody(res, 413, 'payload_too_large', 'chunked');
  });

  test('a body of exactly maxBodyBytes is accepted', async () => {
    const doc = JSON.stringify({ instances: [setosa] });
    const res = await fetch(`${gw.url}/vertex/predict`, { method: 'POST', body: doc + ' '.repeat(limit - doc.length), headers: json });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { predictions: [0] });
  });

  const badBodies: Array<[string, string, string, RegExp]> = [
    ['invalid JSON', '{"instances": [[5.1, 3.5, 1.4, 0.2]', 'invalid_json', /not valid JSON.*(position|line|column)/i],
    ['wrong top-level shape (array)', '[[5.1, 3.5, 1.4, 0.2]]', 'bad_request', /request body is an? array.*expected a JSON object/],
    ['wrong top-level shape (number)', '42', 'bad_request', /request body is (a )?number 42.*expected a JSON object/],
    ['missing "instances"', '{"rows": [[5.1, 3.5, 1.4, 0.2]]}', 'bad_request', /no "instances"/],
    ['non-array "instances"', '{"instances": {"a": 1}}', 'bad_request', /"instances" must be an array.*got an? object/],
    ['empty "instances"', '{"instances": []}', 'bad_request', /"instances" is an empty array/],
    ['non-object "parameters"', '{"instances": [[1, 2, 3, 4]], "parameters": [1]}', 'bad_request', /"parameters" must be a JSON object/],
  ];
  for (const [what, body, code, message] of badBodies) {
    test(`400 ${code} for ${what}, on every rows frontend, with a message that says what and where`, async () => {
      for (const [name, path] of rowRoutes) {
        const res = await fetch(`${gw.url}${path}`, { method: 'POST', body, headers: json });
        const err = await expectError(res, 400, code, `${name} ${what}`);
        assert.match(err.error, message, `${name} ${what}`);
      }
    });
  }

  test('KServe v2 infer: invalid JSON, non-object and a body without "inputs" → 400 naming "inputs"', async () => {
    const url = `${gw.url}/v2/models/iris/infer`;
    await expectError(await fetch(url, { method: 'POST', body: '{"inputs": [', headers: json }), 400, 'invalid_json');
    const arr = await expectError(await fetch(url, { method: 'POST', body: '[]', headers: json }), 400, 'bad_request');
    assert.match(arr.error, /"inputs"/);
    const rows = await expectError(await fetch(url, { method: 'POST', body: JSON.stringify({ instances: [setosa] }), headers: json }), 400, 'bad_request');
    assert.match(rows.error, /no "inputs"/);
  });

  test('Flask\'s own 400 (a row of 3 numbers) is passed on with Flask\'s message', async () => {
    const res = await fetch(`${gw.url}/vertex/predict`, { method: 'POST', body: '{"instances": [[1, 2, 3]]}', headers: json });
    const err = await expectError(res, 400, 'bad_request');
    assert.match(err.error, /instances\[0\] must be an array of 4 numbers/);
  });

  test('JSON nested far deeper than any limit (100 levels) → 400 invalid_json naming the depth', async () => {
    const deep = `{"instances": [${'['.repeat(98)}1${']'.repeat(98)}]}`;
    for (const [name, path] of allPosts) {
      const err = await expectError(await fetch(`${gw.url}${path}`, { method: 'POST', body: deep, headers: json }), 400, 'invalid_json', name);
      assert.match(err.error, /nests 100 levels deep/, name);
    }
  });

  test('server.maxJsonDepth from the config (8 here) is enforced: 10 levels → 400 invalid_json', async () => {
    // 10 levels: the object, "instances", and 8 nested arrays; the default limit (64) would take it.
    const deep = `{"instances": [${'['.repeat(8)}1${']'.repeat(8)}]}`;
    for (const [name, path] of allPosts) {
      const err = await expectError(await fetch(`${gw.url}${path}`, { method: 'POST', body: deep, headers: json }), 400, 'invalid_json', name);
      assert.match(err.error, /limit is 8/, name);
    }
  });

  test('unknown route → 404 not_found JSON; unknown model → 404 model_not_found', async () => {
    for (const [method, path] of [['GET', '/nope'], ['POST', '/v1/predict'], ['GET', '/v2/models'], ['POST', '/vertex/predict/extra']]) {
      await expectError(await fetch(`${gw.url}${path}`, { method, body: method === 'POST' ? '{}' : undefined, headers: json }), 404, 'not_found', `${method} ${path}`);
    }
    await expectError(await fetch(`${gw.url}/v2/models/nope/infer`, { method: 'POST', body: '{"inputs": []}', headers: json }), 404, 'model_not_found');
    await expectError(await fetch(`${gw.url}/v1/models/nope`), 404, 'model_not_found');
  });

  test('wrong method → 405 method_not_allowed with Allow', async () => {
    const cases: Array<[string, string, string]> = [
      ['GET', '/vertex/predict', 'POST'], ['PUT', '/predict', 'POST'], ['GET', '/invocations', 'POST'],
      ['POST', '/ping', 'GET'], ['DELETE', '/vertex/health', 'GET'], ['GET', '/v1/models/iris:predict', 'POST'],
      ['POST', '/v2/health/ready', 'GET'], ['GET', '/v2/models/iris/infer', 'POST'],
    ];
    for (const [method, path, allowed] of cases) {
      const res = await fetch(`${gw.url}${path}`, { method, body: method === 'GET' ? undefined : '{}', headers: json });
      const allow = res.headers.get('allow') ?? '';
      await expectError(res, 405, 'method_not_allowed', `${method} ${path}`);
      assert.ok(allow.split(/,\s*/).includes(allowed), `${method} ${path}: Allow "${allow}" lists ${allowed}`);
    }
  });

  test('415 for a content type the route does not take', async () => {
    const res = await fetch(`${gw.url}/vertex/predict`, { method: 'POST', body: '<x/>', headers: { 'content-type': 'application/xml' } });
    const err = await expectError(res, 415, 'unsupported_media_type');
    assert.match(err.error, /application\/json/);
  });

  test('backend timeout: x-request-timeout-ms → 504 deadline_exceeded, and the backend call is aborted', async () => {
    const before = faulty.hung.length;
    const res = await fetch(`${gw.url}/v1/models/hang:predict`, {
      method: 'POST', body: JSON.stringify({ instances: [setosa] }), headers: { ...json, 'x-request-timeout-ms': '300' },
    });
    await expectError(res, 504, 'deadline_exceeded');
    assert.equal(faulty.hung.length, before + 1, 'the request reached the backend before the deadline passed');
    const hungReq = faulty.hung.at(-1)!;
    await waitFor(async () => hungReq.socket.destroyed, 5000);
    // The model's own timeoutMs (1s) applies without the header; OCI's model_name reaches it too.
    const byModel = await fetch(`${gw.url}/predict`, { method: 'POST', body: JSON.stringify({ instances: [setosa] }), headers: { ...json, model_name: 'hang' } });
    await expectError(byModel, 504, 'deadline_exceeded');
  });

  test('backend reset → 502 backend_unreachable with Retry-After', async () => {
    const res = await fetch(`${gw.url}/v1/models/reset:predict`, { method: 'POST', body: JSON.stringify({ instances: [setosa] }), headers: json });
    const retryAfter = res.headers.get('retry-after');
    const err = await expectError(res, 502, 'backend_unreachable');
    assert.match(retryAfter ?? '', /^\d+$/);
    assert.doesNotMatch(err.error, /\n\s+at /, 'no stack trace');
  });

  test('backend connection refused → 502/503 with Retry-After', async () => {
    await close(doomed);
    const res = await fetch(`${gw.url}/v1/models/refused:predict`, { method: 'POST', body: JSON.stringify({ instances: [setosa] }), headers: json });
    const retryAfter = res.headers.get('retry-after');
    const text = await res.text();
    assert.ok(res.status === 502 || res.status === 503, `${res.status} ${text}`);
    assert.match(retryAfter ?? '', /^\d+$/, 'Retry-After');
    assert.deepEqual(Object.keys(JSON.parse(text)).sort(), ['code', 'error']);
  });

  test('a backend down since start → 503 with Retry-After (the target is not ready)', async () => {
    const res = await fetch(`${gw.url}/v1/models/down:predict`, { method: 'POST', body: JSON.stringify({ instances: [setosa] }), headers: json });
    const retryAfter = res.headers.get('retry-after');
    const text = await res.text();
    assert.equal(res.status, 503, text);
    const body = JSON.parse(text) as Record<string, unknown>;
    assert.deepEqual(Object.keys(body).sort(), ['code', 'error']);
    assert.match(String(body.code), /^(not_ready|backend_unavailable)$/);
    assert.match(retryAfter ?? '', /^\d+$/);
  });
});

describe('default maxBodyBytes', () => {
  let gw: RunningGateway;
  before(async () => {
    gw = await startGateway(`
server: { drainDelaySeconds: 0 }
frontends: { sagemaker: { model: iris } }
backends: { flask: { type: http, url: "${flask.url}" } }
models: { iris: { targets: [ { backend: flask } ] } }
`);
  });
  after(() => gw?.stop());

  test('Content-Length of 10mb + 1 → 413 before any body byte is sent', async () => {
    const res = await rawRequest(gw.port, `POST /invocations HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${10 * 1024 * 1024 + 1}\r\n\r\n`);
    expectErrorBody(res, 413, 'payload_too_large', 'default limit');
  });
});

/**
 * rawRequest writes bytes on a socket and reads one response, without ending its side: an
 * answer must come while the declared body is still owed. Fails after 10 s instead of hanging.
 */
async function rawRequest(port: number, bytes: string): Promise<RawResponse> {
  const got = await rawExchange(port, bytes, { expect: 1, timeoutMs: 10_000 });
  assert.ok(got.responses[0] !== undefined, `no full answer within 10 s (closed by the server: ${got.closedByServer}); got: ${got.rest}`);
  return got.responses[0];
}
