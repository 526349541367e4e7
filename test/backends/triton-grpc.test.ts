// The triton backend with `protocol: grpc`, through the real gateway, against the protocol-faithful
// gRPC fake of Triton (test/support/fake-triton-grpc.ts; real Triton cannot run here): tensors go
// as raw contents, metadata and max_batch_size come from ModelMetadata and ModelConfig, the
// request id, traceparent and deadline travel as gRPC metadata and deadline, Triton's codes come
// back as the gateway's, and a client that cancels (gRPC or REST) cancels the backend call.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { status } from '@grpc/grpc-js';
import { linearModel } from '../support/fake-triton.ts';
import { startFakeTritonGrpc, type FakeTritonGrpc } from '../support/fake-triton-grpc.ts';
import { startGateway, type RunningGateway } from '../support/gateway.ts';
import { f32, fromF32, inferenceClient, type GrpcTestClient } from '../support/grpc-client.ts';
import { waitFor } from '../support/wait-for.ts';

let triton: FakeTritonGrpc;
let gw: RunningGateway;
let client: GrpcTestClient;

before(async () => {
  triton = await startFakeTritonGrpc();
  gw = await startGateway(`
frontends:
  kserve: {}
  vertex: { model: linear, predictRoute: /predict, healthRoute: /health }
  grpc: { port: 0 }
backends: { tri: { type: triton, protocol: grpc, url: "${triton.url}" } }
models:
  linear: { timeoutMs: 4000, targets: [ { backend: tri } ] }
`);
  client = inferenceClient(gw.grpcPort!);
});

after(async () => {
  client?.close();
  await gw?.stop();
  await triton?.close();
});

const post = (path: string, body: unknown, init: RequestInit = {}): Promise<Response> =>
  fetch(`${gw.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...init.headers as Record<string, string> }, body: JSON.stringify(body), ...(init.signal ? { signal: init.signal } : {}) });

test('a REST v2 request reaches Triton as raw_input_contents, with the request id, traceparent and a deadline', async () => {
  triton.calls.length = 0;
  const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
  const before = Date.now();
  const res = await post('/v2/models/linear/infer', { id: 'r1', inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 4], data: [1, 2, 3, 4, 0.5, -1, 2, 8] }] },
    { headers: { 'x-request-id': 'rest-to-grpc-1', traceparent } });
  const doc = await res.json() as { id: string; outputs: Array<{ name: string; shape: number[]; data: number[] }> };
  assert.equal(res.status, 200, JSON.stringify(doc));
  assert.equal(doc.id, 'r1');
  assert.deepEqual(doc.outputs[0]!.shape, [2, 2]);
  linearModel([[1, 2, 3, 4], [0.5, -1, 2, 8]]).flat().forEach((v, i) => assert.ok(Math.abs(v - doc.outputs[0]!.data[i]!) < 1e-5));
  const call = triton.calls[0]!;
  assert.equal(call.request.raw_input_contents.length, 1, 'raw contents');
  assert.deepEqual(call.request.inputs[0].contents ?? null, null, 'no typed contents beside them');
  assert.equal(call.metadata['x-request-id'], 'rest-to-grpc-1');
  assert.equal(call.metadata.traceparent, traceparent);
  assert.ok(Number.isFinite(call.deadline) && call.deadline <= before + 4000 + 1000, `the model's timeoutMs as the gRPC deadline: ${call.deadline - before} ms`);
});

test('Vertex rows go through the gRPC backend too, and the metadata comes from ModelMetadata', async () => {
  const res = await post('/predict', { instances: [[1, 2, 3, 4]] });
  assert.equal(res.status, 200);
  assert.deepEqual((await res.json() as { predictions: number[][] }).predictions, linearModel([[1, 2, 3, 4]]));
  const meta = await (await fetch(`${gw.url}/v2/models/linear`)).json() as { inputs: unknown[] };
  assert.deepEqual(meta.inputs, [{ name: 'x', datatype: 'FP32', shape: [-1, 4] }]);
});

test('gRPC in front and behind: a ModelInfer goes through with raw contents both ways', async () => {
  const { response } = await client.call<{ raw_output_contents: Buffer[] }>('ModelInfer', {
    model_name: 'linear', inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4] }], raw_input_contents: [f32([0, 0, 0, 1])],
  });
  assert.deepEqual(fromF32(response.raw_output_contents[0]!), linearModel([[0, 0, 0, 1]])[0]);
});

test('Triton\'s own refusals keep their meaning: a full queue is 429 (RESOURCE_EXHAUSTED over gRPC), a bad shape 400', async () => {
  triton.queueFull = true;
  try {
    const res = await post('/v2/models/linear/infer', { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }] });
    const doc = await res.json() as { code: string; error: string };
    assert.equal(res.status, 429);
    assert.equal(doc.code, 'backend_queue_full');
    assert.match(doc.error, /Exceeds maximum queue size/);
    assert.equal(res.headers.get('retry-after'), '1');
    const err = await client.failure('ModelInfer', { model_name: 'linear', inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4] }], raw_input_contents: [f32([1, 2, 3, 4])] });
    assert.equal(err.code, status.RESOURCE_EXHAUSTED);
  } finally {
    triton.queueFull = false;
  }
  const res = await post('/v2/models/linear/infer', { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], data: [1, 2, 3] }] });
  const doc = await res.json() as { code: string; error: string };
  assert.equal(res.status, 400);
  assert.match(doc.error, /unexpected shape for input 'x'/);
});

test('a gRPC client that cancels cancels the backend call', async () => {
  triton.hold = true;
  const cancelledBefore = triton.cancelled;
  const abort = new AbortController();
  const call = client.call('ModelInfer', { model_name: 'linear', inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4] }], raw_input_contents: [f32([1, 2, 3, 4])] }, { signal: abort.signal });
  await triton.held(1);
  abort.abort();
  await assert.rejects(call, (e: { code?: number }) => e.code === status.CANCELLED);
  await waitFor(async () => triton.cancelled > cancelledBefore);
  triton.release();
});

test('a REST client that goes away cancels the backend call too', async () => {
  triton.hold = true;
  const cancelledBefore = triton.cancelled;
  const abort = new AbortController();
  const call = post('/v2/models/linear/infer', { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }] }, { signal: abort.signal });
  await triton.held(2);
  abort.abort();
  await assert.rejects(call);
  await waitFor(async () => triton.cancelled > cancelledBefore);
  triton.release();
});

test('the gRPC client\'s deadline becomes the request\'s: DEADLINE_EXCEEDED, and the backend call carried it', async () => {
  triton.hold = true;
  triton.calls.length = 0;
  const sent = Date.now();
  const err = await client.failure('ModelInfer', { model_name: 'linear', inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4] }], raw_input_contents: [f32([1, 2, 3, 4])] }, { deadlineMs: 500 });
  assert.equal(err.code, status.DEADLINE_EXCEEDED);
  triton.release();
  const call = triton.calls[0]!;
  assert.ok(call.deadline <= sent + 500 + 200, `backend deadline ${call.deadline - sent} ms after sending, within the client's 500`);
});

test('a Triton that is not ready makes the gateway not ready', async () => {
  triton.ready = false;
  try {
    await waitFor(async () => (await fetch(`${gw.url}/v2/health/ready`)).status === 503);
    const status = await (await fetch(`${gw.adminUrl}/admin/status`)).json() as Record<string, unknown>;
    assert.match(JSON.stringify(status), /ServerReady answered false|not ready/);
  } finally {
    triton.ready = true;
  }
  await waitFor(async () => (await fetch(`${gw.url}/v2/health/ready`)).status === 200);
});
