// SageMaker batch transform through the real gateway, on config/sagemaker.yaml with the variables
// SageMaker sets in a transform job's container: GET /execution-parameters offers them, the body
// limit is SAGEMAKER_MAX_PAYLOAD_IN_MB, and with MULTI_RECORD a mini-batch of records one per line
// (JSON Lines, CSV, or a JSON Lines file sent as application/json) answers one line per record, in
// order, as AssembleWith Line needs. With SINGLE_RECORD a JSON body is one record. And
// config/sagemaker-async.yaml takes bodies beyond the real-time limit.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startGatewayFromFile, type RunningGateway } from '../support/gateway.ts';

const setosa = [5.1, 3.5, 1.4, 0.2];
const virginica = [6.7, 3.0, 5.2, 2.3];

async function invoke(gw: RunningGateway, body: string | Buffer, headers: Record<string, string>): Promise<{ status: number; type: string | null; text: string }> {
  const res = await fetch(`${gw.url}/invocations`, { method: 'POST', body, headers });
  return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
}

const labels = (text: string): number[] => text.trim().split('\n').map((l) => (JSON.parse(l) as { label: number }).label);

describe('SageMaker batch transform, MULTI_RECORD', () => {
  let gw: RunningGateway;
  before(async () => {
    gw = await startGatewayFromFile('config/sagemaker.yaml', {
      env: { INFERGATE_MODEL_REPOSITORY: 'backends/onnx', SAGEMAKER_MAX_PAYLOAD_IN_MB: '1', SAGEMAKER_BATCH_STRATEGY: 'MULTI_RECORD', SAGEMAKER_MAX_CONCURRENT_TRANSFORMS: '2' },
    });
  });
  after(async () => { await gw?.stop(); });

  it('offers the job\'s execution parameters at GET /execution-parameters', async () => {
    const res = await fetch(`${gw.url}/execution-parameters`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { MaxConcurrentTransforms: 2, BatchStrategy: 'MULTI_RECORD', MaxPayloadInMB: 1 });
  });

  it('takes SAGEMAKER_MAX_PAYLOAD_IN_MB as the body limit', async () => {
    const line = `${JSON.stringify(setosa)}\n`;
    const small = await invoke(gw, line.repeat(1000), { 'content-type': 'application/jsonlines', accept: 'application/jsonlines' });
    assert.equal(small.status, 200);
    const big = await invoke(gw, Buffer.alloc(1024 * 1024 + 1, line), { 'content-type': 'application/jsonlines' });
    assert.equal(big.status, 413);
    assert.equal((JSON.parse(big.text) as { code: string }).code, 'payload_too_large');
  });

  it('answers a JSON Lines file sent as application/json with one line per record, in order', async () => {
    const r = await invoke(gw, `${JSON.stringify(setosa)}\n${JSON.stringify(virginica)}\n${JSON.stringify(setosa)}\n`, { 'content-type': 'application/json' });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.type, 'application/jsonlines');
    assert.deepEqual(labels(r.text), [0, 2, 0]);
    // Accept still decides when the job sets one.
    const asJson = await invoke(gw, `${JSON.stringify(setosa)}\n${JSON.stringify(virginica)}`, { 'content-type': 'application/json', accept: 'application/json' });
    assert.equal(asJson.type, 'application/json');
    assert.equal((JSON.parse(asJson.text) as { predictions: unknown[] }).predictions.length, 2);
    // One JSON document (pretty-printed over several lines) is one request, as before.
    const doc = await invoke(gw, JSON.stringify({ instances: [setosa, virginica] }, null, 2), { 'content-type': 'application/json' });
    assert.equal(doc.status, 200);
    assert.equal(doc.type, 'application/json');
    // Lines that are not all JSON are a 400, as a bad JSON body is.
    const bad = await invoke(gw, `${JSON.stringify(setosa)}\nnot json\n`, { 'content-type': 'application/json' });
    assert.equal(bad.status, 400);
    assert.equal((JSON.parse(bad.text) as { code: string }).code, 'invalid_json');
  });

  it('answers JSON Lines and CSV mini-batches one line per record', async () => {
    const jl = await invoke(gw, `${JSON.stringify(virginica)}\n${JSON.stringify(setosa)}\n`, { 'content-type': 'application/jsonlines', accept: 'application/jsonlines' });
    assert.deepEqual(labels(jl.text), [2, 0]);
    const csv = await invoke(gw, `${setosa.join(',')}\n${virginica.join(',')}\n`, { 'content-type': 'text/csv', accept: 'text/csv' });
    assert.equal(csv.status, 200);
    assert.equal(csv.type, 'text/csv');
    assert.equal(csv.text.trim().split('\n').length, 2);
  });
});

describe('SageMaker batch transform, SINGLE_RECORD', () => {
  let gw: RunningGateway;
  before(async () => {
    gw = await startGatewayFromFile('config/sagemaker.yaml', { env: { INFERGATE_MODEL_REPOSITORY: 'backends/onnx', SAGEMAKER_BATCH_STRATEGY: 'SINGLE_RECORD' } });
  });
  after(async () => { await gw?.stop(); });

  it('offers SINGLE_RECORD with the defaults, and reads a JSON body as one record', async () => {
    assert.deepEqual(await (await fetch(`${gw.url}/execution-parameters`)).json(), { MaxConcurrentTransforms: 1, BatchStrategy: 'SINGLE_RECORD', MaxPayloadInMB: 6 });
    const lines = await invoke(gw, `${JSON.stringify(setosa)}\n${JSON.stringify(virginica)}\n`, { 'content-type': 'application/json' });
    assert.equal(lines.status, 400);
    assert.equal((JSON.parse(lines.text) as { code: string }).code, 'invalid_json');
  });
});

describe('SageMaker asynchronous inference, config/sagemaker-async.yaml', () => {
  let gw: RunningGateway;
  before(async () => {
    gw = await startGatewayFromFile('config/sagemaker-async.yaml', { env: { INFERGATE_MODEL_REPOSITORY: 'backends/onnx' } });
  });
  after(async () => { await gw?.stop(); });

  it('takes a body beyond the real-time 6 MB', async () => {
    // 8 MB: one instance, and JSON whitespace after it (what a large upload costs, not what it computes).
    const body = `{"instances": [${JSON.stringify(virginica)}]}${' '.repeat(8 * 1024 * 1024)}`;
    const r = await invoke(gw, body, { 'content-type': 'application/json' });
    assert.equal(r.status, 200, r.text.slice(0, 200));
    assert.equal((JSON.parse(r.text) as { predictions: Array<{ label: number }> }).predictions[0]!.label, 2);
  });
});
