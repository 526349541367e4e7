// http.test.ts — the generic HTTP backend against the real Flask/gunicorn iris server, and against
// a scriptable node server for every way a backend can fail: refused, hung past the deadline,
// reset, garbage, wrong shape, wrong prediction count, 4xx/5xx, oversized answers.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { closeClients } from '../../src/backends/shared/client.ts';
import { http } from '../../src/backends/http.ts';
import { GatewayError } from '../../src/errors.ts';
import { silentLogger } from '../../src/observe/log.ts';
import { writeError } from '../../src/server/reply.ts';
import type { Backend, CallContext } from '../../src/types.ts';
import { flaskSpawnCommand, startFlask, type RunningFlask } from '../support/flask.ts';
import { freePort } from '../support/ports.ts';

const servers: Server[] = [];
const backends: Backend[] = [];
let flask: RunningFlask;

before(async () => { flask = await startFlask(); });
after(async () => {
  await Promise.allSettled(backends.map((b) => b.close()));
  await closeClients();
  for (const s of servers) s.closeAllConnections();
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  await flask?.stop();
});

function backend(config: Record<string, unknown>, name = 'flask'): Backend {
  const b = http.create(name, http.schema.parse({ type: 'http', ...config }), { log: silentLogger });
  backends.push(b);
  return b;
}

function context(timeoutMs = 10_000): CallContext & { abort(reason: unknown): void } {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new GatewayError('deadline_exceeded', `no answer within ${timeoutMs} ms`)), timeoutMs);
  timer.unref();
  return {
    requestId: 'req-1', signal: controller.signal, deadline: performance.now() + timeoutMs, headers: {}, log: silentLogger, model: 'iris',
    forward: { 'x-request-id': 'req-1', traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
    abort: (reason: unknown) => controller.abort(reason),
  };
}

async function rejectsWith(p: Promise<unknown>, code: string, status: number, message?: RegExp): Promise<GatewayError> {
  let caught: unknown;
  await assert.rejects(p, (err: unknown) => { caught = err; return true; });
  assert.ok(caught instanceof GatewayError, `expected a GatewayError, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  assert.equal(caught.status, status);
  if (message !== undefined) assert.match(caught.message, message);
  return caught;
}

const setosa = [5.1, 3.5, 1.4, 0.2];
const virginica = [6.7, 3.0, 5.2, 2.3];

describe('http backend with the Flask iris server', () => {
  test('sends rows as they came and returns one prediction per row, in order', async () => {
    const b = backend({ url: flask.url });
    const res = await b.model('iris').infer({ instances: [setosa, virginica, setosa] }, context());
    assert.deepEqual(res.predictions, [0, 2, 0]);
    assert.equal(res.modelName, 'iris');
    assert.equal(res.outputs, undefined);
  });

  test('passes parameters on', async () => {
    const res = await backend({ url: flask.url }).model('iris').infer({ instances: [setosa], parameters: { probabilities: true } }, context());
    const [p] = res.predictions as Array<{ label: number; name: string; probabilities: number[] }>;
    assert.equal(p!.label, 0);
    assert.equal(p!.name, 'setosa');
    assert.equal(p!.probabilities.length, 3);
  });

  test('the server\'s 400 is passed on with its message and status', async () => {
    const b = backend({ url: flask.url });
    await rejectsWith(b.model('iris').infer({ instances: [[5.1, 'x', 1.4, 0.2]] }, context()), 'bad_request', 400, /instances\[0\]\[1\] must be a finite number/);
    await rejectsWith(b.model('iris').infer({ instances: [[1, 2]] }, context()), 'bad_request', 400, /instances\[0\] must be an array of 4 numbers/);
  });

  test('tensors in → rows to the server → tensors out', async () => {
    const b = backend({ url: flask.url });
    const res = await b.model('iris').infer({
      inputs: [{ name: 'features', datatype: 'FP32', shape: [2, 4], data: new Float32Array([...setosa, ...virginica]) }],
    }, context());
    assert.equal(res.predictions, undefined);
    assert.equal(res.outputs!.length, 1);
    const out = res.outputs![0]!;
    assert.equal(out.name, 'predictions');
    assert.equal(out.datatype, 'INT64');
    assert.deepEqual(out.shape, [2]);
    assert.deepEqual([...out.data as BigInt64Array].map(Number), [0, 2]);
  });

  test('tensors out follow metadata.outputs when configured; a mismatch is the backend\'s fault', async () => {
    const typed = backend({ url: flask.url, metadata: { outputs: [{ name: 'label', datatype: 'INT32', shape: [-1] }] } });
    const inputs = [{ name: 'x', datatype: 'FP32' as const, shape: [1, 4], data: new Float32Array(setosa) }];
    const out = (await typed.model('iris').infer({ inputs }, context())).outputs![0]!;
    assert.equal(out.name, 'label');
    assert.equal(out.datatype, 'INT32');
    assert.deepEqual([...out.data as Int32Array], [0]);
    // Probability objects cannot become a tensor without a matching spec.
    await rejectsWith(backend({ url: flask.url }).model('iris').infer({ inputs, parameters: { probabilities: true } }, context()),
      'backend_bad_reply', 502, /not arrays of numbers/);
    const wrong = backend({ url: flask.url, metadata: { outputs: [{ name: 'p', datatype: 'FP32', shape: [-1, 3] }] } });
    await rejectsWith(wrong.model('iris').infer({ inputs }, context()), 'backend_bad_reply', 502, /set metadata.outputs of backend "flask"/);
  });

  test('health, metadata and the raw proxy', async () => {
    const b = backend({ url: flask.url, metadata: { inputs: [{ name: 'features', datatype: 'FP32', shape: [-1, 4] }] } });
    assert.deepEqual(await b.health(), { ready: true });
    const meta = await b.model('iris', '2').metadata();
    assert.deepEqual(meta, { name: 'iris', platform: 'http', versions: ['2'], inputs: [{ name: 'features', datatype: 'FP32', shape: [-1, 4] }], outputs: [] });
    assert.deepEqual(await backend({ url: flask.url }).model('m').metadata(), { name: 'm', platform: 'http', inputs: [], outputs: [] });
    const front = createServer((req, res) => b.proxy!(req, res, '/health', (err) => { writeError(res, err); }));
    servers.push(front);
    await new Promise<void>((r) => front.listen(0, '127.0.0.1', r));
    const res = await fetch(`http://127.0.0.1:${(front.address() as AddressInfo).port}/whatever`);
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { model: string }).model, 'iris');
  });

  test('with spawn, start() runs gunicorn, waits for health, and close() stops it', async () => {
    const port = await freePort();
    const b = backend({ url: `http://127.0.0.1:${port}`, spawn: flaskSpawnCommand(port) }, 'flask-spawned');
    const before = await b.health();
    assert.equal(before.ready, false);
    await b.start();
    assert.deepEqual(await b.health(), { ready: true });
    assert.deepEqual((await b.model('iris').infer({ instances: [virginica] }, context())).predictions, [2]);
    await b.close();
    assert.deepEqual(await b.health(), { ready: false, reason: 'stopped' });
    await rejectsWith(b.model('iris').infer({ instances: [virginica] }, context()), 'backend_unreachable', 502);
  });
});

// The scriptable server: the path picks the behaviour; every request is recorded.
interface Seen { path: string; headers: IncomingHttpHeaders; body: string; closed: boolean }
const seen: Seen[] = [];
let script = '';

function answer(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(body);
}

before(async () => {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const record: Seen = { path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString(), closed: false };
      seen.push(record);
      res.on('close', () => { record.closed = true; });
      const rows = req.method === 'POST' ? (JSON.parse(record.body) as { instances: unknown[] }).instances.length : 0;
      const path = (req.url ?? '').split('?')[0]!;
      switch (path.split('/').pop()) {
        case 'ok': return answer(res, 200, JSON.stringify({ predictions: Array.from({ length: rows }, (_, i) => i) }));
        case 'health': return answer(res, script === 'sick' ? 503 : 200, '{}');
        case 'hang': return;
        case 'reset': return req.socket.destroy();
        case 'garbage': return answer(res, 200, '<html>oops</html>', { 'content-type': 'text/html' });
        case 'array': return answer(res, 200, '[1, 2]');
        case 'noPredictions': return answer(res, 200, '{"result": [1, 2]}');
        case 'errorWith200': return answer(res, 200, '{"error": "model not loaded"}');
        case 'short': return answer(res, 200, JSON.stringify({ predictions: [0] }));
        case 'e422': return answer(res, 422, '{"error": "feature 3 is out of range"}');
        case 'e404html': return answer(res, 404, '<h1>Not Found</h1>', { 'content-type': 'text/html' });
        case 'e429': return answer(res, 429, '{"error": "too many requests"}', { 'retry-after': '7' });
        case 'e500': return answer(res, 500, '{"error": "Traceback: boom"}');
        case 'e500html': return answer(res, 500, '<html>Internal Server Error</html>', { 'content-type': 'text/html' });
        case 'e503': return answer(res, 503, '{"error": "warming up"}', { 'retry-after': '3' });
        case 'big': return answer(res, 200, JSON.stringify({ predictions: [Array(2000).fill(1)] }));
        case 'bigChunked': {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.write('{"predictions": [[');
          res.write(Array(2000).fill(1).join(','));
          return res.end(']]}');
        }
        default: return answer(res, 500, '{"error": "unknown script"}');
      }
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  scripted = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
let scripted = '';

const call = (predictPath: string, instances: unknown[] = [[1, 2]], extra: Record<string, unknown> = {}, ctx = context()) =>
  backend({ url: scripted, predictPath, ...extra }, 'scripted').model('m').infer({ instances, parameters: { k: 'v' } }, ctx);

describe('http backend failure modes (scriptable server)', () => {
  test('sends {instances, parameters} as they came with the forward headers', async () => {
    const rows = [{ text: 'hello', id: 12345678901234567890n }, [1, 2], 'raw'];
    const res = await call('/ok', rows);
    assert.deepEqual(res.predictions, [0, 1, 2]);
    const last = seen.at(-1)!;
    assert.equal(last.body, '{"instances":[{"text":"hello","id":12345678901234567890},[1,2],"raw"],"parameters":{"k":"v"}}');
    assert.equal(last.headers['x-request-id'], 'req-1');
    assert.equal(last.headers.traceparent, '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
    assert.equal(last.headers['content-type'], 'application/json');
  });

  test('{model} and {version} in predictPath and a base path in the URL', async () => {
    const b = backend({ url: `${scripted}/base/`, predictPath: '/models/{model}/v/{version}/ok' }, 'placeholders');
    await b.model('my model', '3').infer({ instances: [1] }, context());
    assert.equal(seen.at(-1)!.path, '/base/models/my%20model/v/3/ok');
  });

  test('connection refused → 502 backend_unreachable with Retry-After', async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    const b = backend({ url: dead }, 'dead');
    const e = await rejectsWith(b.model('m').infer({ instances: [1] }, context()), 'backend_unreachable', 502, /backend "dead".*ECONNREFUSED/);
    assert.equal(e.retryAfter, 1);
    const h = await b.health();
    assert.equal(h.ready, false);
    assert.match(h.reason ?? '', /ECONNREFUSED/);
  });

  test('connection reset → 502 backend_unreachable', async () => {
    await rejectsWith(call('/reset'), 'backend_unreachable', 502);
  });

  test('a hung backend → 504 at the deadline, and the backend sees the call aborted', async () => {
    await rejectsWith(call('/hang', [[1]], {}, context(150)), 'deadline_exceeded', 504, /no answer within 150 ms/);
    const record = seen.at(-1)!;
    assert.equal(record.path, '/hang');
    for (let i = 0; i < 100 && !record.closed; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(record.closed, true);
  });

  test('a client that goes away aborts the call', async () => {
    const ctx = context();
    const p = call('/hang', [[1]], {}, ctx);
    setTimeout(() => ctx.abort(new GatewayError('client_closed', 'the client closed the connection')), 50);
    await rejectsWith(p, 'client_closed', 499);
  });

  test('answers that are not JSON, not an object, or without predictions → 502 backend_bad_reply naming the backend', async () => {
    await rejectsWith(call('/garbage'), 'backend_bad_reply', 502, /backend "scripted" answered 200 with a body that is not JSON/);
    await rejectsWith(call('/array'), 'backend_bad_reply', 502, /backend "scripted" answered an array of 2, not an object with "predictions"/);
    await rejectsWith(call('/noPredictions'), 'backend_bad_reply', 502, /without a "predictions" array \("predictions" is missing\)/);
    await rejectsWith(call('/errorWith200'), 'backend_bad_reply', 502, /with an error: model not loaded/);
  });

  test('a wrong prediction count → 502 backend_bad_reply', async () => {
    await rejectsWith(call('/short', [[1], [2], [3]]), 'backend_bad_reply', 502, /answered 1 predictions for 3 instances/);
  });

  test('4xx with a JSON error is passed on; without one it is the backend\'s fault', async () => {
    await rejectsWith(call('/e422'), 'bad_request', 422, /^feature 3 is out of range$/);
    await rejectsWith(call('/e404html'), 'backend_bad_reply', 502, /answered 404 without a JSON \{"error"\} \(check predictPath\)/);
    const e = await rejectsWith(call('/e429'), 'backend_overloaded', 429, /too many requests/);
    assert.equal(e.retryAfter, 7);
  });

  test('5xx → 502 backend_error; 503 → 503 backend_unavailable with Retry-After', async () => {
    await rejectsWith(call('/e500'), 'backend_error', 502, /backend "scripted" failed with 500: Traceback: boom/);
    await rejectsWith(call('/e500html'), 'backend_error', 502, /failed with 500$/);
    const e = await rejectsWith(call('/e503'), 'backend_unavailable', 503, /warming up/);
    assert.equal(e.retryAfter, 3);
  });

  test('an answer over maxResponseBytes → 502, with or without content-length', async () => {
    await rejectsWith(call('/big', [[1]], { maxResponseBytes: '1kb' }), 'backend_bad_reply', 502, /exceeds maxResponseBytes \(1024\)/);
    await rejectsWith(call('/bigChunked', [[1]], { maxResponseBytes: '1kb' }), 'backend_bad_reply', 502, /exceeds maxResponseBytes/);
    assert.equal((await call('/big', [[1]])).predictions!.length, 1);
  });

  test('health: 2xx ready, else not ready with the reason', async () => {
    const b = backend({ url: scripted, healthPath: '/health' }, 'scripted-health');
    script = 'sick';
    const h = await b.health();
    assert.equal(h.ready, false);
    assert.match(h.reason ?? '', /answered 503/);
    script = '';
    assert.deepEqual(await b.health(), { ready: true });
  });

  test('several URLs: a dead one is avoided after it refuses, and health is ready while one answers', async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    const b = backend({ urls: [dead, scripted], predictPath: '/ok' }, 'replicas');
    const outcomes: string[] = [];
    for (let i = 0; i < 5; i++) {
      outcomes.push(await b.model('m').infer({ instances: [1] }, context()).then(() => 'ok', (e: GatewayError) => e.code));
    }
    // The first call goes to the first URL and is refused; the cooldown steers the rest away.
    assert.deepEqual(outcomes, ['backend_unreachable', 'ok', 'ok', 'ok', 'ok']);
    assert.deepEqual(await b.health(), { ready: true });
  });

  test('schema: exactly one of url and urls, http(s) only, defaults', () => {
    const c = http.schema.parse({ type: 'http', url: 'http://127.0.0.1:5000' });
    assert.equal(c.predictPath, '/predict');
    assert.equal(c.healthPath, '/health');
    assert.equal(c.maxResponseBytes, 64 * 1024 * 1024);
    assert.equal(http.schema.safeParse({ type: 'http' }).success, false);
    assert.equal(http.schema.safeParse({ type: 'http', url: 'http://a:1', urls: ['http://b:1'] }).success, false);
    assert.equal(http.schema.safeParse({ type: 'http', url: 'file:///etc/passwd' }).success, false);
    assert.equal(http.schema.safeParse({ type: 'http', url: 'http://a:1', predictPath: 'predict' }).success, false);
  });
});
