// SageMaker content negotiation through the real gateway: the bundled iris model (ONNX backend)
// answered in CSV cells, JSON Lines in and out, 406 for an Accept that allows nothing offered
// (the model is not run), and custom attributes reaching an HTTP model server as they came.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { startEchoBackend, type EchoBackend } from '../support/echo-backend.ts';
import { startGateway, type RunningGateway } from '../support/gateway.ts';

const repo = fileURLToPath(new URL('../../backends/onnx', import.meta.url));

describe('SageMaker /invocations content types through the gateway', () => {
  let gw: RunningGateway;
  let echo: EchoBackend;
  let attributing: Server;
  before(async () => {
    echo = await startEchoBackend();
    // A model server that sets custom attributes of its own on its answer.
    attributing = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.setHeader('x-amzn-sagemaker-custom-attributes', 'model-said=yes');
        res.setHeader('content-type', 'application/json');
        res.end('{"predictions": [42]}');
      });
    });
    await new Promise<void>((r) => attributing.listen(0, '127.0.0.1', r));
    const attributingUrl = `http://127.0.0.1:${(attributing.address() as AddressInfo).port}`;
    gw = await startGateway(`
frontends: { sagemaker: { model: iris }, kserve: {} }
backends:
  local: { type: onnx, modelRepository: ${repo} }
  flask: { type: http, url: ${echo.url}, predictPath: /predict }
  attributing: { type: http, url: ${attributingUrl} }
models:
  said: { targets: [ { backend: attributing } ] }
  iris: { targets: [ { backend: local } ] }
  sums: { targets: [ { backend: flask } ] }
`);
  });
  after(async () => {
    await gw?.stop();
    await echo?.close();
    await new Promise((r) => attributing?.close(r));
  });

  const invoke = (body: string, headers: Record<string, string>): Promise<Response> =>
    fetch(`${gw.url}/invocations`, { method: 'POST', body, headers });

  it('answers CSV as cells: the class, then each probability', async () => {
    const res = await invoke('5.1,3.5,1.4,0.2\n6.7,3.0,5.2,2.3\n', { 'content-type': 'text/csv', accept: 'text/csv' });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/csv');
    const lines = (await res.text()).trim().split('\n').map((l) => l.split(',').map(Number));
    assert.deepEqual(lines.map((l) => l.length), [4, 4]);
    assert.deepEqual(lines.map((l) => l[0]), [0, 2]);
    for (const l of lines) assert.ok(Math.abs(l[1]! + l[2]! + l[3]! - 1) < 1e-4);
  });

  it('reads and writes JSON Lines', async () => {
    const res = await invoke('[5.1,3.5,1.4,0.2]\n[6.7,3.0,5.2,2.3]\n', { 'content-type': 'application/jsonlines', accept: 'application/jsonlines' });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/jsonlines');
    const lines = (await res.text()).trim().split('\n').map((l) => JSON.parse(l) as { label: number });
    assert.deepEqual(lines.map((l) => l.label), [0, 2]);
  });

  it('answers 406 naming what it offers when Accept allows none of it', async () => {
    const res = await invoke('{"instances": [[5.1,3.5,1.4,0.2]]}', { 'content-type': 'application/json', accept: 'application/xml' });
    assert.equal(res.status, 406);
    const doc = await res.json() as { code: string; error: string };
    assert.equal(doc.code, 'not_acceptable');
    assert.match(doc.error, /application\/json, text\/csv, application\/jsonlines/);
  });

  it('passes X-Amzn-SageMaker-Custom-Attributes on to the model server', async () => {
    const res = await invoke('{"instances": [[1, 2]]}', {
      'content-type': 'application/json', 'x-amzn-sagemaker-target-model': 'sums', 'x-amzn-sagemaker-custom-attributes': 'c000b4f9-df62-4c85-a0bf-7c525f9104a4',
    });
    assert.equal(res.status, 200);
    assert.equal(echo.requests.at(-1)?.headers['x-amzn-sagemaker-custom-attributes'], 'c000b4f9-df62-4c85-a0bf-7c525f9104a4');
    // The client's attributes are not echoed: only a model server's own come back.
    assert.equal(res.headers.get('x-amzn-sagemaker-custom-attributes'), null);
  });

  it('returns the model server\'s own custom attributes to the caller', async () => {
    const res = await invoke('{"instances": [[1]]}', { 'content-type': 'application/json', 'x-amzn-sagemaker-target-model': 'said' });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { predictions: [42] });
    assert.equal(res.headers.get('x-amzn-sagemaker-custom-attributes'), 'model-said=yes');
  });
});
