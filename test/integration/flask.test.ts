// Every platform contract through the real gateway process in front of the real Flask/gunicorn
// iris server (backends/flask): Vertex, OCI, SageMaker, KServe v1 and v2 good paths with Flask's
// own answers, request id and traceparent carried to the backend, OCI's model_name /
// model_version headers, and every health route following Flask up and down.
// Error cases: errors.test.ts; the supervised (spawned) Flask: flask-supervised.test.ts.

import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { expectError } from '../support/expect-error.ts';
import { startFlask, type RunningFlask } from '../support/flask.ts';
import { startGateway, type RunningGateway } from '../support/gateway.ts';
import { everyFrontend } from '../support/gateway-configs.ts';
import { waitFor } from '../support/wait-for.ts';

const setosa = [5.1, 3.5, 1.4, 0.2];
const virginica = [6.7, 3.0, 5.2, 2.3];
const versicolor = [5.9, 3.0, 4.2, 1.5];
const json = { 'content-type': 'application/json' };

let flask: RunningFlask;
before(async () => { flask = await startFlask(); });
after(() => flask.stop());

interface Seen { path: string; headers: IncomingHttpHeaders }

/**
 * startRecorder is a recording proxy in front of Flask: every POST is recorded (path, headers)
 * and sent on to Flask's /predict, so header checks still get Flask's real answer.
 */
async function startRecorder(flaskUrl: string): Promise<{ url: string; seen: Seen[]; server: Server }> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    if (req.method === 'GET') {
      res.writeHead(200, json).end('{"status":"ok"}');
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({ path: req.url ?? '', headers: req.headers });
      fetch(`${flaskUrl}/predict`, { method: 'POST', body: Buffer.concat(chunks), headers: json })
        .then(async (r) => res.writeHead(r.status, json).end(await r.text()))
        .catch(() => res.writeHead(500, json).end('{"error":"flask unreachable"}'));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return { url: `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`, seen, server };
}

const gatewayConfig = (flaskUrl: string, recorderUrl: string): string => `
server: { healthIntervalMs: 100, drainDelaySeconds: 0 }
frontends:
  vertex: { model: iris, predictRoute: /vertex/predict, healthRoute: /vertex/health, rawPredictRoute: /vertex/raw, rawBackend: direct, rawBackendPath: /predict }
  oci: { model: iris }
  sagemaker: { model: iris }
  kserve: {}
backends:
  recorded: { type: http, url: "${recorderUrl}", predictPath: "/models/{model}/versions/{version}/predict", healthPath: /health }
  direct: { type: http, url: "${flaskUrl}", predictPath: /predict, healthPath: /health }
models:
  # versions: any: a model_version header reaches the backend's versioned path (a version no target pins is 404 otherwise).
  iris: { targets: [ { backend: recorded, versions: any } ] }
  iris-direct: { targets: [ { backend: direct, model: iris } ] }
`;

async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body), headers: { ...json, ...headers } });
}

async function flaskPredict(instances: number[][]): Promise<unknown> {
  const r = await post(`${flask.url}/predict`, { instances });
  assert.equal(r.status, 200);
  return ((await r.json()) as { predictions: unknown }).predictions;
}

describe('each frontend in front of Flask', () => {
  let gw: RunningGateway;
  let recorder: Awaited<ReturnType<typeof startRecorder>>;
  before(async () => {
    recorder = await startRecorder(flask.url);
    gw = await startGateway(gatewayConfig(flask.url, recorder.url));
  });
  after(async () => {
    await gw?.stop();
    recorder?.server.closeAllConnections();
    await new Promise((r) => recorder?.server.close(r));
  });

  test('Vertex: {"predictions"} from Flask, one per instance in order, no deployedModelId added', async () => {
    const res = await post(`${gw.url}/vertex/predict`, { instances: [setosa, virginica] });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    assert.deepEqual(await res.json(), { predictions: [0, 2] }, 'exactly the predictions, nothing added');
    const rows = [virginica, setosa, versicolor, virginica, setosa, versicolor, setosa];
    const many = await post(`${gw.url}/vertex/predict`, { instances: rows });
    const body = (await many.json()) as { predictions: unknown[] };
    assert.deepEqual(body.predictions, await flaskPredict(rows), 'same order as Flask answers directly');
    assert.deepEqual(body.predictions.slice(0, 2), [2, 0]);
  });

  test('Vertex: "parameters" reach Flask (probabilities per row)', async () => {
    const res = await post(`${gw.url}/vertex/predict`, { instances: [setosa, virginica], parameters: { probabilities: true } });
    assert.equal(res.status, 200);
    const { predictions } = (await res.json()) as { predictions: Array<{ label: number; name: string; probabilities: number[] }> };
    assert.deepEqual(predictions.map((p) => [p.label, p.name]), [[0, 'setosa'], [2, 'virginica']]);
    for (const p of predictions) assert.equal(p.probabilities.length, 3);
  });

  test('Vertex: the rawPredict route streams the body to Flask unparsed and answers with Flask\'s bytes', async () => {
    const body = '{"instances":[[6.7,3.0,5.2,2.3],[5.1,3.5,1.4,0.2]],  "parameters":{}}';
    const res = await post(`${gw.url}/vertex/raw`, body, { 'x-request-id': 'raw-1' });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { predictions: [2, 0] });
    assert.equal(res.headers.get('x-request-id'), 'raw-1');
    // Flask's own error passes through as Flask wrote it: the route does not parse or rewrite.
    const bad = await post(`${gw.url}/vertex/raw`, '{"instances": []}');
    assert.equal(bad.status, 400);
    assert.deepEqual(await bad.json(), { error: '"instances" is empty' });
  });

  test('OCI: /predict uses the default model; model_name and model_version headers pick another', async () => {
    const before = recorder.seen.length;
    const plain = await post(`${gw.url}/predict`, { instances: [setosa, virginica] });
    assert.equal(plain.status, 200);
    assert.deepEqual(await plain.json(), { predictions: [0, 2] });
    assert.equal(recorder.seen.length, before + 1, 'the default model (iris) went through the recorded backend');

    const other = await post(`${gw.url}/predict`, { instances: [virginica, setosa] }, { model_name: 'iris-direct' });
    assert.equal(other.status, 200);
    assert.deepEqual(await other.json(), { predictions: [2, 0] });
    assert.match(other.headers.get('x-infergate-target') ?? '', /^direct\//, 'served by the iris-direct model\'s target');
    assert.equal(recorder.seen.length, before + 1, 'model_name: iris-direct did not touch the default model\'s backend');

    const versioned = await post(`${gw.url}/predict`, { instances: [setosa] }, { model_name: 'iris', model_version: '3' });
    assert.equal(versioned.status, 200);
    assert.deepEqual(await versioned.json(), { predictions: [0] });
    assert.equal(recorder.seen.at(-1)!.path, '/models/iris/versions/3/predict', 'model_version reached the backend path');
  });

  test('OCI: an unknown model_name is 404 model_not_found JSON naming the models served', async () => {
    const res = await post(`${gw.url}/predict`, { instances: [setosa] }, { model_name: 'no-such-model' });
    const body = await expectError(res, 404, 'model_not_found');
    assert.match(body.error, /no-such-model/);
    assert.match(body.error, /iris/);
    const bad = await post(`${gw.url}/predict`, { instances: [setosa] }, { model_name: '../etc' });
    await expectError(bad, 400, 'bad_name');
  });

  test('SageMaker: GET /ping is 200 with an empty body; /invocations takes JSON and text/csv', async () => {
    const ping = await fetch(`${gw.url}/ping`);
    assert.equal(ping.status, 200);
    assert.equal(await ping.text(), '');
    const res = await post(`${gw.url}/invocations`, { instances: [setosa, virginica] });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { predictions: [0, 2] });
    const csv = await post(`${gw.url}/invocations`, `${setosa.join(',')}\n${virginica.join(',')}\n`, { 'content-type': 'text/csv', accept: 'text/csv' });
    assert.equal(csv.status, 200);
    assert.match(csv.headers.get('content-type') ?? '', /^text\/csv/);
    assert.equal(await csv.text(), '0\n2\n');
    const csvToJson = await post(`${gw.url}/invocations`, `${virginica.join(',')}\r\n${setosa.join(',')}`, { 'content-type': 'text/csv' });
    assert.equal(csvToJson.status, 200);
    assert.deepEqual(await csvToJson.json(), { predictions: [2, 0] });
    const badCsv = await post(`${gw.url}/invocations`, '5.1,abc,1.4,0.2\n', { 'content-type': 'text/csv' });
    const body = await expectError(badCsv, 400, 'bad_request');
    assert.match(body.error, /line 1, column 2/);
  });

  test('KServe v1: model readiness and :predict', async () => {
    const meta = await fetch(`${gw.url}/v1/models/iris`);
    assert.equal(meta.status, 200);
    assert.deepEqual(await meta.json(), { name: 'iris', ready: true });
    const res = await post(`${gw.url}/v1/models/iris:predict`, { instances: [setosa, virginica] });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { predictions: [0, 2] });
    await expectError(await post(`${gw.url}/v1/models/nope:predict`, { instances: [setosa] }), 404, 'model_not_found');
  });

  test('KServe v2: health, server and model metadata, readiness, infer with tensors', async () => {
    for (const path of ['/v2/health/live', '/v2/health/ready', '/v2/models/iris/ready', '/v2/models/iris-direct/ready']) {
      assert.equal((await fetch(`${gw.url}${path}`)).status, 200, path);
    }
    const server = (await (await fetch(`${gw.url}/v2`)).json()) as { name: string; version: string; extensions: string[] };
    assert.equal(server.name, 'infergate');
    assert.equal(typeof server.version, 'string');
    const model = (await (await fetch(`${gw.url}/v2/models/iris`)).json()) as { name: string };
    assert.equal(model.name, 'iris');
    const infer = await post(`${gw.url}/v2/models/iris-direct/infer`, {
      id: 'req-1', inputs: [{ name: 'input', datatype: 'FP32', shape: [2, 4], data: [...setosa, ...virginica] }],
    });
    assert.equal(infer.status, 200);
    const out = (await infer.json()) as { model_name: string; id: string; outputs: Array<{ shape: number[]; data: number[] }> };
    assert.equal(out.model_name, 'iris-direct');
    assert.equal(out.id, 'req-1');
    assert.equal(out.outputs.length, 1);
    assert.deepEqual(out.outputs[0]!.data.map(Number), [0, 2]);
    assert.equal(out.outputs[0]!.shape[0], 2);
    await expectError(await fetch(`${gw.url}/v2/models/nope`), 404, 'model_not_found');
  });

  test('x-request-id is echoed and sent to the backend, traceparent passed through, by every frontend', async () => {
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const calls: Array<[string, string, unknown, Record<string, string>]> = [
      ['vertex', '/vertex/predict', { instances: [setosa] }, {}],
      ['oci', '/predict', { instances: [setosa] }, {}],
      ['sagemaker', '/invocations', { instances: [setosa] }, {}],
      ['kserve-v1', '/v1/models/iris:predict', { instances: [setosa] }, {}],
      ['kserve-v2', '/v2/models/iris/infer', { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: setosa }] }, {}],
    ];
    for (const [name, path, body, extra] of calls) {
      const id = `it-${name}-42`;
      const res = await post(`${gw.url}${path}`, body, { 'x-request-id': id, traceparent, ...extra });
      assert.equal(res.status, 200, `${name}: ${await res.clone().text()}`);
      await res.arrayBuffer();
      assert.equal(res.headers.get('x-request-id'), id, `${name} echoes x-request-id`);
      const seen = recorder.seen.at(-1)!;
      assert.equal(seen.headers['x-request-id'], id, `${name} sends x-request-id to the backend`);
      assert.equal(seen.headers.traceparent, traceparent, `${name} passes traceparent through`);
    }
    const generated = await post(`${gw.url}/vertex/predict`, { instances: [setosa] });
    await generated.arrayBuffer();
    const id = generated.headers.get('x-request-id');
    assert.ok(id !== null && id.length >= 8, 'a request id is generated when the client sends none');
    assert.equal(recorder.seen.at(-1)!.headers['x-request-id'], id, 'the generated id goes to the backend');
    assert.equal(recorder.seen.at(-1)!.headers.traceparent, undefined, 'no traceparent is invented');
    const unsafe = await post(`${gw.url}/predict`, { instances: [setosa] }, { 'x-request-id': 'x'.repeat(300) });
    await unsafe.arrayBuffer();
    assert.notEqual(unsafe.headers.get('x-request-id'), 'x'.repeat(300), 'an overlong id is replaced, not echoed');
    assert.equal(recorder.seen.at(-1)!.headers['x-request-id'], unsafe.headers.get('x-request-id'));
  });
});

describe('health routes follow Flask', () => {
  let own: RunningFlask | undefined;
  let gw: RunningGateway;
  before(async () => {
    own = await startFlask();
    gw = await startGateway(`
server: { healthIntervalMs: 100, drainDelaySeconds: 0 }
${everyFrontend('iris')}
backends:
  flask: { type: http, url: "${own.url}" }
models:
  iris: { targets: [ { backend: flask } ] }
`);
  });
  after(async () => {
    await gw?.stop();
    await own?.stop();
  });

  const readiness = ['/vertex/health', '/health', '/ping', '/v2/health/ready', '/v2/models/iris/ready', '/v1/models/iris'];

  test('every health route is 200 while Flask is up, 503 JSON once it is stopped; liveness stays 200', async () => {
    for (const path of readiness) assert.equal((await fetch(`${gw.url}${path}`)).status, 200, path);
    await own!.stop();
    own = undefined;
    await waitFor(async () => (await fetch(`${gw.url}/ping`)).status === 503);
    for (const path of readiness) {
      const body = await expectError(await fetch(`${gw.url}${path}`), 503, 'not_ready', path);
      assert.ok(body.error.length > 0);
    }
    assert.equal((await fetch(`${gw.url}/v2/health/live`)).status, 200, 'liveness is the process, not the backend');
    const refused = await post(`${gw.url}/vertex/predict`, { instances: [setosa] });
    assert.ok(refused.status === 502 || refused.status === 503, `predict while Flask is down: ${refused.status}`);
    assert.ok(refused.headers.get('retry-after'), 'Retry-After tells the client when to come back');
    await refused.arrayBuffer();
  });
});
