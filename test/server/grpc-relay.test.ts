// gRPC on the platform port over h2c (Cloud Run's --use-http2 gives a container one port):
// through the real gateway, a grpc-js client built from the same .proto calls the HTTP port, and
// the calls are relayed to the gateway's gRPC port as they are: answers, errors with their codes
// and messages, metadata both ways. Without a gRPC frontend the port answers UNIMPLEMENTED.
import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import { after, before, describe, it } from 'node:test';
import { startFakeTriton, linearModel, type FakeTriton } from '../support/fake-triton.ts';
import { startGateway, type RunningGateway } from '../support/gateway.ts';
import { inferenceClient } from '../support/grpc-client.ts';

const f32 = (xs: number[]): Buffer => Buffer.from(new Float32Array(xs).buffer);
const fromF32 = (b: Buffer): number[] => Array.from(new Float32Array(Uint8Array.from(b).buffer));

describe('gRPC on the h2c platform port', () => {
  let triton: FakeTriton;
  let gw: RunningGateway;
  let bare: RunningGateway;
  before(async () => {
    triton = await startFakeTriton();
    const models = `backends: { tri: { type: triton, url: "${triton.url}" } }\nmodels: { linear: { targets: [ { backend: tri } ] } }\n`;
    gw = await startGateway(`server: { h2c: true }\nfrontends: { kserve: {}, grpc: { port: 0 } }\n${models}`);
    bare = await startGateway(`server: { h2c: true }\nfrontends: { kserve: {} }\n${models}`);
  });
  after(async () => {
    await gw?.stop();
    await bare?.stop();
    await triton?.close();
  });

  it('relays ModelInfer, health and metadata calls made to the HTTP port, with the request id both ways', async () => {
    const client = inferenceClient(Number(new URL(gw.url).port));
    try {
      assert.equal((await client.call<{ live: boolean }>('ServerLive', {})).response.live, true);
      assert.equal((await client.call<{ ready: boolean }>('ModelReady', { name: 'linear' })).response.ready, true);
      const rows = [[1, 2, 3, 4]];
      const { response, headers } = await client.call<{ model_name: string; raw_output_contents: Buffer[] }>('ModelInfer', {
        model_name: 'linear', inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4] }], raw_input_contents: [f32(rows.flat())],
      }, { metadata: { 'x-request-id': 'relayed-1' } });
      assert.equal(response.model_name, 'linear');
      fromF32(response.raw_output_contents[0]!).forEach((v, i) => assert.ok(Math.abs(v - linearModel(rows)[0]![i]!) < 1e-5));
      assert.equal(headers['x-request-id'], 'relayed-1');
      assert.equal(triton.calls.findLast((c) => c.url === '/v2/models/linear/infer')!.headers['x-request-id'], 'relayed-1');
    } finally {
      client.close();
    }
  });

  it('passes the gRPC port\'s errors on with their code and message, and HTTP requests on the same port are still HTTP', async () => {
    const client = inferenceClient(Number(new URL(gw.url).port));
    try {
      const err = await client.failure('ModelMetadata', { name: 'nope' });
      assert.equal(err.code, status.NOT_FOUND);
      assert.match(err.details, /nope/);
    } finally {
      client.close();
    }
    assert.equal((await fetch(`${gw.url}/v2/health/ready`)).status, 200);
  });

  it('answers UNIMPLEMENTED, naming frontends.grpc, when the gateway serves no gRPC', async () => {
    const client = inferenceClient(Number(new URL(bare.url).port));
    try {
      const err = await client.failure('ServerLive', {});
      assert.equal(err.code, status.UNIMPLEMENTED);
      assert.match(err.details, /frontends\.grpc/);
    } finally {
      client.close();
    }
  });
});
