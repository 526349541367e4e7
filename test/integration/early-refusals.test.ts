// Early refusals on keep-alive connections (issue 14, item 1): an answer sent before the body
// was read (404, 405, 415, 400 bad_name, 401, 413, 429) must not close the connection behind
// the client's back. A small rest of the body is read and dropped and the connection stays
// open; a large one is answered with Connection: close. No 100 Continue goes out before such a
// refusal. The clients are Node keep-alive agents with one socket, so every request after a
// refusal reuses the refused request's connection.

import assert from 'node:assert/strict';
import { Agent, request } from 'node:http';
import { connect } from 'node:net';
import { after, before, test } from 'node:test';
import { startEchoBackend, type EchoBackend } from '../support/echo-backend.ts';
import { startGateway, type RunningGateway } from '../support/gateway.ts';
import { rawExchange, rawRequest } from '../support/raw-client.ts';

let echo: EchoBackend;
let gw: RunningGateway;
const agents: Agent[] = [];
const apiKey = 'key-0123456789abcdef';

before(async () => {
  echo = await startEchoBackend();
  gw = await startGateway(`
server: { maxBodyBytes: 4kb }
frontends:
  vertex: { model: m, predictRoute: /predict, healthRoute: /health }
  oci: { model: m, predictRoute: /oci/predict, healthRoute: /oci/health }
  sagemaker: { model: m, rateLimit: { requestsPerSecond: 0.001, burst: 1 } }
  kserve: { auth: { apiKeys: { keys: ["${apiKey}"] } } }
backends: { echo: { type: http, url: "${echo.url}" } }
models: { m: { targets: [ { backend: echo } ] } }
`);
});

after(async () => {
  for (const a of agents) a.destroy();
  await gw?.stop();
  await echo?.close();
});

interface Answer { status: number; connection: string | undefined; socket: number }

// call sends one request through the agent and reads the whole answer; socket numbers the
// TCP connection it went over (the same number: the connection was reused).
const socketIds = new WeakMap<object, number>();
let nextSocket = 0;
function call(agent: Agent, method: string, path: string, body: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const r = request(`${gw.url}${path}`, {
      method, agent, headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), ...headers },
    }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode!, connection: res.headers.connection, socket: id }));
    });
    let id = -1;
    r.once('socket', (socket) => {
      const known = socketIds.get(socket);
      if (known === undefined) socketIds.set(socket, id = nextSocket++);
      else id = known;
    });
    r.on('error', reject);
    r.end(body);
  });
}

function oneSocketAgent(): Agent {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  agents.push(agent);
  return agent;
}

const valid = '{"instances":[[1,2]]}';

const refusals: Array<{ name: string; status: number; method: string; path: string; body: string; headers?: Record<string, string> }> = [
  { name: '404 unknown route', status: 404, method: 'POST', path: '/nowhere', body: valid },
  { name: '404 unknown model', status: 404, method: 'POST', path: '/v2/models/nope/infer', body: '{"inputs":[]}', headers: { 'x-api-key': apiKey } },
  { name: '405', status: 405, method: 'GET', path: '/predict', body: valid },
  { name: '415', status: 415, method: 'POST', path: '/predict', body: 'a,b\n1,2\n', headers: { 'content-type': 'text/csv' } },
  { name: '400 bad_name', status: 400, method: 'POST', path: '/oci/predict', body: valid, headers: { model_name: '../etc' } },
  { name: '401', status: 401, method: 'POST', path: '/v2/models/m/infer', body: '{"inputs":[]}' },
  { name: '413 (declared 8000 bytes, limit 4 KB)', status: 413, method: 'POST', path: '/predict', body: ' '.repeat(8000) },
];

test('after 200 404s on one keep-alive socket, each next valid request gets 200 on the same socket', async () => {
  const agent = oneSocketAgent();
  const first = await call(agent, 'POST', '/predict', valid);
  for (let i = 0; i < 200; i++) {
    const refused = await call(agent, 'POST', '/nowhere', valid);
    assert.equal(refused.status, 404);
    assert.notEqual(refused.connection, 'close', `round ${i}`);
    const ok = await call(agent, 'POST', '/predict', valid);
    assert.equal(ok.status, 200, `round ${i}`);
    assert.equal(ok.socket, first.socket, `round ${i}: the connection was not kept`);
  }
});

test('every kind of early refusal keeps the keep-alive connection: the next valid request gets 200 on it', async () => {
  for (const r of refusals) {
    const agent = oneSocketAgent();
    const before = await call(agent, 'POST', '/predict', valid);
    for (let i = 0; i < 10; i++) {
      const refused = await call(agent, r.method, r.path, r.body, r.headers);
      assert.equal(refused.status, r.status, r.name);
      assert.notEqual(refused.connection, 'close', r.name);
      const ok = await call(agent, 'POST', '/predict', valid);
      assert.equal(ok.status, 200, `${r.name}, round ${i}`);
      assert.equal(ok.socket, before.socket, `${r.name}, round ${i}: the connection was not kept`);
    }
  }
});

test('429 rate_limited keeps the connection too', async () => {
  const agent = oneSocketAgent();
  const first = await call(agent, 'POST', '/invocations', valid);
  assert.equal(first.status, 200);
  for (let i = 0; i < 10; i++) {
    const limited = await call(agent, 'POST', '/invocations', valid);
    assert.equal(limited.status, 429);
    assert.notEqual(limited.connection, 'close');
    const ok = await call(agent, 'POST', '/predict', valid);
    assert.equal(ok.status, 200, `round ${i}`);
    assert.equal(ok.socket, first.socket, `round ${i}: the connection was not kept`);
  }
});

test('a refusal with a large rest of the body still to come says Connection: close', async () => {
  const ex = await rawExchange(gw.port, rawRequest('POST /nowhere HTTP/1.1', ['host: a', 'content-length: 1000000'], 'x'.repeat(100)), { timeoutMs: 4000 });
  assert.equal(ex.responses.length, 1);
  assert.equal(ex.responses[0]!.status, 404);
  assert.equal(ex.responses[0]!.headers.connection, 'close');
  assert.equal(ex.closedByServer, true);
  const chunked = await rawExchange(gw.port, rawRequest('POST /nowhere HTTP/1.1', ['host: a', 'transfer-encoding: chunked'], '10\r\n0123456789abcdef\r\n'), { timeoutMs: 4000 });
  assert.equal(chunked.responses[0]!.status, 404);
  assert.equal(chunked.responses[0]!.headers.connection, 'close', 'a chunked body of unknown length');
});

test('a refused request whose body arrived whole keeps a pipelined request after it', async () => {
  const refused = rawRequest('POST /nowhere HTTP/1.1', ['host: a', `content-length: ${valid.length}`], valid);
  const ok = rawRequest('POST /predict HTTP/1.1', ['host: a', 'content-type: application/json', `content-length: ${valid.length}`], valid);
  const ex = await rawExchange(gw.port, refused + ok, { timeoutMs: 4000, expect: 2 });
  assert.deepEqual(ex.responses.map((r) => r.status), [404, 200]);
  assert.deepEqual(JSON.parse(ex.responses[1]!.body), { predictions: [3] });
});

test('no 100 Continue before a refusal; 100 Continue when the route reads the body', async () => {
  for (const [path, headers, status] of [
    ['/nowhere', [], 404], ['/predict', ['content-length: 9000'], 413], ['/v2/models/m/infer', [], 401],
  ] as Array<[string, string[], number]>) {
    const lines = ['host: a', 'content-type: application/json', 'expect: 100-continue', ...headers];
    if (headers.length === 0) lines.push(`content-length: ${valid.length}`);
    const ex = await rawExchange(gw.port, rawRequest(`POST ${path} HTTP/1.1`, lines), { timeoutMs: 3000, expect: 1 });
    assert.deepEqual(ex.responses.map((r) => r.status), [status], `${path}: ${ex.rest.slice(0, 60)}`);
  }
  // The route reads the body: 100 first, the body, then the answer.
  const ex = await new Promise<string>((resolve, reject) => {
    const socket = connect(gw.port, '127.0.0.1', () => {
      socket.write(rawRequest('POST /predict HTTP/1.1', ['host: a', 'content-type: application/json', 'expect: 100-continue', 'connection: close', `content-length: ${valid.length}`]));
    });
    let text = '';
    socket.on('data', (c: Buffer) => {
      text += c.toString('latin1');
      if (text === 'HTTP/1.1 100 Continue\r\n\r\n') socket.write(valid);
    });
    socket.on('close', () => resolve(text));
    socket.on('error', reject);
    socket.setTimeout(5000, () => socket.destroy());
  });
  assert.match(ex, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 /);
});

test('one connection carrying many refusals whose bodies come after the answer gathers no listeners', async () => {
  // Each request's head goes first; its body only once the 404 is back, so the server drains a
  // rest it has not received yet, 40 times on one socket, then serves a valid request there.
  const socket = connect(gw.port, '127.0.0.1');
  await new Promise((r) => socket.once('connect', r));
  let data = '';
  socket.setEncoding('latin1').on('data', (c: string) => { data += c; });
  const answers = (n: number): Promise<void> => new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`only ${data.split('HTTP/1.1 ').length - 1} answers: ${data.slice(-200)}`)), 5000);
    const check = (): void => {
      if (data.split('HTTP/1.1 ').length - 1 >= n) { clearTimeout(timer); socket.off('data', check); resolve(); }
    };
    socket.on('data', check);
    check();
  });
  for (let i = 1; i <= 40; i++) {
    socket.write(`POST /nowhere HTTP/1.1\r\nhost: a\r\ncontent-length: ${valid.length}\r\n\r\n`);
    await answers(i);
    socket.write(valid);
  }
  socket.write(rawRequest('POST /predict HTTP/1.1', ['host: a', 'content-type: application/json', `content-length: ${valid.length}`], valid));
  await answers(41);
  socket.destroy();
  const statuses = [...data.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => Number(m[1]));
  assert.deepEqual(statuses, [...Array.from({ length: 40 }, () => 404), 200]);
  assert.doesNotMatch(gw.logs(), /MaxListenersExceededWarning/);
});
