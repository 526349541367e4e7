// The gRPC frontend through the real gateway process, called by a @grpc/grpc-js client built from
// the same .proto: every RPC of inference.GRPCInferenceService, typed and raw contents for every
// datatype (an ONNX identity model), the errors and their codes with the REST messages, limits,
// the health service, ModelStreamInfer, auth, and REST and gRPC requests sharing one batch
// (against the protocol-faithful Triton fake: real Triton cannot run here).

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client, credentials, status, type ServiceError } from '@grpc/grpc-js';
import { identityModel } from '../../backends/onnx/build-models.ts';
import { linearModel, startFakeTriton, type FakeTriton } from '../support/fake-triton.ts';
import { startGateway, type RunningGateway } from '../support/gateway.ts';
import { f32, fromF32, healthClient, inferenceClient, type GrpcTestClient } from '../support/grpc-client.ts';

const repo = mkdtempSync(join(tmpdir(), 'grpc-front-'));
let triton: FakeTriton;
let gw: RunningGateway;
let client: GrpcTestClient;
const apiKey = 'grpc-test-key-0123456789';
const typed: Array<[string, string, unknown[]]> = [
  ['BOOL', 'bool_contents', [true, false, false, true]],
  ['INT8', 'int_contents', [-128, 127, 0, -1]],
  ['INT16', 'int_contents', [-32768, 32767, 1, 2]],
  ['INT32', 'int_contents', [-2147483648, 2147483647, 3, 4]],
  ['INT64', 'int64_contents', ['-9223372036854775808', '9007199254740993', '0', '-5']],
  ['UINT8', 'uint_contents', [0, 255, 1, 2]],
  ['UINT16', 'uint_contents', [0, 65535, 1, 2]],
  ['UINT32', 'uint_contents', [0, 4294967295, 1, 2]],
  ['UINT64', 'uint64_contents', ['0', '18446744073709551615', '1', '2']],
  ['FP32', 'fp32_contents', [1.5, -2.25, 0, Math.fround(3e10)]],
  ['FP64', 'fp64_contents', [1.000000000001, -2, 0, 1e300]],
  ['BYTES', 'bytes_contents', [Buffer.from('héllo'), Buffer.from('日本'), Buffer.alloc(0), Buffer.from('x')]],
];

before(async () => {
  mkdirSync(join(repo, 'identity', '1'), { recursive: true });
  writeFileSync(join(repo, 'identity', '1', 'model.onnx'), identityModel(typed.map(([d]) => d)));
  for (const [name, types] of [['rawmix', ['FP16', 'INT64', 'BYTES']], ['half', ['FP16']], ['fp32', ['FP32']]] as const) {
    mkdirSync(join(repo, name, '1'), { recursive: true });
    writeFileSync(join(repo, name, '1', 'model.onnx'), identityModel([...types]));
  }
  triton = await startFakeTriton();
  gw = await startGateway(`
server: { maxBodyBytes: 64kb }
frontends:
  kserve: {}
  grpc: { port: 0, maxResponseBytes: 32kb }
backends:
  tri: { type: triton, url: "${triton.url}", binary: false }
  local: { type: onnx, modelRepository: ${repo} }
models:
  linear: { timeoutMs: 5000, batching: { maxBatchSize: 8, maxQueueDelayMs: 200 }, targets: [ { backend: tri } ] }
  mixed: { timeoutMs: 10000, batching: { maxBatchSize: 2, maxQueueDelayMs: 3000 }, targets: [ { backend: tri, model: linear } ] }
  identity: { targets: [ { backend: local } ] }
  rawmix: { targets: [ { backend: local } ] }
  half: { targets: [ { backend: local } ] }
  fp32: { targets: [ { backend: local } ] }
`);
  client = inferenceClient(gw.grpcPort!);
});

after(async () => {
  client?.close();
  await gw?.stop();
  await triton?.close();
  rmSync(repo, { recursive: true, force: true });
});

const linearRequest = (rows: number[][], extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  model_name: 'linear', inputs: [{ name: 'x', datatype: 'FP32', shape: [rows.length, 4] }], raw_input_contents: [f32(rows.flat())], ...extra,
});

test('ServerLive, ServerReady, ServerMetadata, ModelReady and ModelMetadata answer as the protocol says', async () => {
  assert.equal((await client.call('ServerLive', {})).response.live, true);
  assert.equal((await client.call('ServerReady', {})).response.ready, true);
  const meta = (await client.call('ServerMetadata', {})).response;
  assert.equal(meta.name, 'infergate');
  assert.match(String(meta.version), /^\d+\.\d+\.\d+/);
  assert.equal((await client.call('ModelReady', { name: 'linear' })).response.ready, true);
  const model = (await client.call<{ name: string; inputs: Array<{ name: string; datatype: string; shape: string[] }> }>('ModelMetadata', { name: 'linear' })).response;
  assert.equal(model.name, 'linear');
  assert.deepEqual(model.inputs.map((i) => [i.name, i.datatype, i.shape.map(Number)]), [['x', 'FP32', [-1, 4]]]);
});

test('ModelConfig answers what REST\'s GET .../config does, in protobuf: inputs, outputs, batching (perf_analyzer reads it first)', async () => {
  assert.deepEqual((await client.call<{ extensions: string[] }>('ServerMetadata', {})).response.extensions, ['model_configuration']);
  for (const name of ['linear', 'identity']) {
    const rest = await (await fetch(`${gw.url}/v2/models/${name}/config`)).json() as Record<string, any>;
    const { config } = (await client.call<{ config: Record<string, any> }>('ModelConfig', { name })).response;
    assert.equal(config.name, name);
    assert.equal(config.max_batch_size ?? 0, rest.max_batch_size ?? 0, name);
    const tensors = (list: Array<Record<string, any>> = []) => list.map((t) => [t.name, t.data_type, (t.dims ?? []).map(Number)]);
    assert.deepEqual(tensors(config.input), tensors(rest.input), `${name} inputs`);
    assert.deepEqual(tensors(config.output), tensors(rest.output), `${name} outputs`);
    assert.ok(config.input.length > 0 && config.input.every((t: { data_type: string }) => /^TYPE_[A-Z0-9]+$/.test(t.data_type)), JSON.stringify(config.input));
    assert.equal(Number(config.dynamic_batching?.max_queue_delay_microseconds ?? -1), Number(rest.dynamic_batching?.max_queue_delay_microseconds ?? -1), `${name} batching`);
  }
  assert.equal((await client.failure('ModelConfig', { name: 'nope' })).code, status.NOT_FOUND);
});

test('ModelInfer with raw contents answers raw contents, the id echoed, request id and traceparent passed on', async () => {
  const rows = [[1, 2, 3, 4], [0.5, -1, 2, 8]];
  const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
  const { response, headers } = await client.call<{ id: string; model_name: string; outputs: Array<{ name: string; shape: string[] }>; raw_output_contents: Buffer[] }>(
    'ModelInfer', linearRequest(rows, { id: 'req-7' }), { metadata: { 'x-request-id': 'grpc-abc-1', traceparent } });
  assert.equal(response.id, 'req-7');
  assert.equal(response.model_name, 'linear');
  assert.deepEqual(response.outputs.map((o) => [o.name, o.shape.map(Number)]), [['y', [2, 2]]]);
  const got = fromF32(response.raw_output_contents[0]!);
  linearModel(rows).flat().forEach((v, i) => assert.ok(Math.abs(v - got[i]!) < 1e-5, `${got} vs ${linearModel(rows)}`));
  assert.equal(headers['x-request-id'], 'grpc-abc-1');
  assert.equal(headers['x-infergate-target'], 'tri/linear');
  const call = triton.calls.findLast((c) => c.url === '/v2/models/linear/infer')!;
  assert.equal(call.headers['x-request-id'], 'grpc-abc-1');
  assert.equal(call.headers.traceparent, traceparent);
});

test('ModelInfer with typed contents answers typed contents', async () => {
  const { response } = await client.call<{ outputs: Array<{ contents: { fp32_contents: number[] } }>; raw_output_contents: Buffer[] }>('ModelInfer', {
    model_name: 'linear', inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], contents: { fp32_contents: [1, 2, 3, 4] } }],
  });
  assert.equal(response.raw_output_contents.length, 0);
  assert.deepEqual(response.outputs[0]!.contents.fp32_contents, linearModel([[1, 2, 3, 4]])[0]);
});

describe('every datatype through identity models', () => {
  test('typed contents of every typed datatype come back exactly, each in its own field', async () => {
    const { response } = await client.call<{ outputs: Array<{ name: string; datatype: string; contents: Record<string, unknown[]> }>; raw_output_contents: Buffer[] }>('ModelInfer', {
      model_name: 'identity', inputs: typed.map(([datatype, field, values]) => ({ name: `x_${datatype}`, datatype, shape: [2, 2], contents: { [field]: values } })),
    });
    assert.equal(response.raw_output_contents.length, 0);
    for (const [datatype, field, values] of typed) {
      const out = response.outputs.find((o) => o.name === `y_${datatype}`)!;
      assert.equal(out.datatype, datatype);
      assert.deepEqual(out.contents[field], values, datatype);
    }
  });

  test('raw contents: FP16 bits, INT64 past 2^53 and length-prefixed BYTES come back byte for byte', async () => {
    const fp16 = Buffer.from(new Uint16Array([0x3c00, 0xc000, 0x7bff, 0x0001]).buffer);
    const int64 = Buffer.from(new BigInt64Array([-(2n ** 63n), 2n ** 53n + 1n, 0n, 7n]).buffer);
    const bytes = Buffer.concat(['ab', '', 'cde', 'f'].map((s) => { const b = Buffer.alloc(4 + s.length); b.writeUInt32LE(s.length); b.write(s, 4); return b; }));
    const { response } = await client.call<{ outputs: Array<{ name: string; contents: unknown }>; raw_output_contents: Buffer[] }>('ModelInfer', {
      model_name: 'rawmix',
      inputs: [{ name: 'x_FP16', datatype: 'FP16', shape: [2, 2] }, { name: 'x_INT64', datatype: 'INT64', shape: [2, 2] }, { name: 'x_BYTES', datatype: 'BYTES', shape: [2, 2] }],
      outputs: [{ name: 'y_FP16' }, { name: 'y_INT64' }, { name: 'y_BYTES' }],
      raw_input_contents: [fp16, int64, bytes],
    });
    assert.deepEqual(response.outputs.map((o) => o.name), ['y_FP16', 'y_INT64', 'y_BYTES']);
    assert.deepEqual(response.raw_output_contents.map((b) => Buffer.from(b).toString('hex')), [fp16, int64, bytes].map((b) => b.toString('hex')));
  });

  test('FP16 travels raw (it has no typed field)', async () => {
    const { response } = await client.call<{ raw_output_contents: Buffer[] }>('ModelInfer', {
      model_name: 'half', inputs: [{ name: 'x_FP16', datatype: 'FP16', shape: [1, 2] }], raw_input_contents: [Buffer.from([0, 0x3c, 0, 0x40])], outputs: [{ name: 'y_FP16' }],
    });
    assert.equal(Buffer.from(response.raw_output_contents[0]!).toString('hex'), '003c0040');
  });
});

describe('errors: the REST message, Triton\'s code', () => {
  const restError = async (path: string, body: unknown): Promise<{ status: number; error: string; code: string }> => {
    const res = await fetch(`${gw.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: res.status, ...(await res.json() as { error: string; code: string }) };
  };

  test('an unknown model is NOT_FOUND with the message REST gives', async () => {
    const err = await client.failure('ModelInfer', linearRequest([[1, 2, 3, 4]], { model_name: 'nope' }));
    assert.equal(err.code, status.NOT_FOUND);
    const rest = await restError('/v2/models/nope/infer', { inputs: [] });
    assert.equal(rest.status, 404);
    assert.equal(err.details, rest.error);
    assert.equal(err.metadata.get('infergate-code')[0], 'model_not_found');
    assert.equal((await client.failure('ModelMetadata', { name: 'nope' })).code, status.NOT_FOUND);
    assert.equal((await client.failure('ModelReady', { name: 'linear', version: '9' })).code, status.NOT_FOUND);
  });

  test('malformed tensors are INVALID_ARGUMENT naming what is wrong', async () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ model_name: 'linear', inputs: [{ name: 'x', datatype: 'FP99', shape: [1, 4] }] }, /"FP99" is not a v2 datatype/],
      [{ model_name: 'linear', inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], contents: { fp32_contents: [1, 2] } }] }, /holds 4 elements, contents.fp32_contents has 2/],
      [{ model_name: 'linear', inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], contents: { int_contents: [1, 2, 3, 4] } }] }, /goes in contents.fp32_contents, not contents.int_contents/],
      [{ model_name: 'linear', inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4] }], raw_input_contents: [f32([1, 2, 3])] }, /needs 16 bytes, raw_input_contents\[0\] holds 12/],
      [{ model_name: 'linear', inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4] }, { name: 'z', datatype: 'FP32', shape: [1] }], raw_input_contents: [f32([1, 2, 3, 4])] }, /has 1 entries for 2 inputs/],
      [{ model_name: 'half', inputs: [{ name: 'x_FP16', datatype: 'FP16', shape: [1, 2] }] }, /FP16, which has no typed contents/],
      [{ model_name: 'identity', inputs: [{ name: 'x_INT8', datatype: 'INT8', shape: [1, 2], contents: { int_contents: [1, 300] } }] }, /element 1 is number 300/],
      [{ inputs: [] }, /names no model/],
      [{ model_name: 'linear', inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], contents: { fp32_contents: [1, 2, 3, 4] } }], outputs: [{ name: 'nope' }] }, /'nope'/],
    ];
    for (const [request, message] of cases) {
      const err = await client.failure('ModelInfer', request);
      assert.equal(err.code, status.INVALID_ARGUMENT, `${JSON.stringify(request)}: ${err.details}`);
      assert.match(err.details, message);
    }
  });

  test('bytes that are not a protobuf message are INVALID_ARGUMENT, not INTERNAL', async () => {
    const raw = new Client(`127.0.0.1:${gw.grpcPort}`, credentials.createInsecure());
    try {
      const err = await new Promise<ServiceError>((resolve, reject) => {
        raw.makeUnaryRequest('/inference.GRPCInferenceService/ModelInfer', (b: Buffer) => b, (b: Buffer) => b, Buffer.from([0x0a, 0xff, 0xff, 0xff]), (e) => (e ? resolve(e) : reject(new Error('accepted'))));
      });
      assert.equal(err.code, status.INVALID_ARGUMENT);
      assert.match(err.details, /the ModelInfer request is not a valid protobuf message/);
    } finally {
      raw.close();
    }
  });

  test('a backend\'s full queue is RESOURCE_EXHAUSTED with a retry pushback, as REST gives 429 with Retry-After', async () => {
    triton.queueFull = true;
    try {
      const err = await client.failure('ModelInfer', linearRequest([[1, 2, 3, 4]]));
      assert.equal(err.code, status.RESOURCE_EXHAUSTED);
      assert.match(err.details, /Exceeds maximum queue size/);
      assert.equal(err.metadata.get('infergate-code')[0], 'backend_queue_full');
      assert.equal(err.metadata.get('grpc-retry-pushback-ms')[0], '1000');
      const rest = await restError('/v2/models/linear/infer', { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }] });
      assert.equal(rest.status, 429);
      assert.equal(rest.error, err.details);
    } finally {
      triton.queueFull = false;
    }
  });

  test('a request message past server.maxBodyBytes is refused with RESOURCE_EXHAUSTED', async () => {
    const err = await client.failure('ModelInfer', { model_name: 'fp32', inputs: [{ name: 'x_FP32', datatype: 'FP32', shape: [10_000, 2] }], raw_input_contents: [Buffer.alloc(80_000)] });
    assert.equal(err.code, status.RESOURCE_EXHAUSTED);
  });

  test('an answer past frontends.grpc.maxResponseBytes is RESOURCE_EXHAUSTED with the REST message, never cut', async () => {
    const err = await client.failure('ModelInfer', { model_name: 'fp32', inputs: [{ name: 'x_FP32', datatype: 'FP32', shape: [6000, 2] }], raw_input_contents: [Buffer.alloc(48_000)] });
    assert.equal(err.code, status.RESOURCE_EXHAUSTED);
    assert.match(err.details, /the answer would be 48000 bytes, above the grpc limit of 32768 bytes \(frontends.grpc.maxResponseBytes\)/);
  });

  test('a deadline already short gives DEADLINE_EXCEEDED', async () => {
    const err = await client.failure('ModelInfer', linearRequest([[1, 2, 3, 4]]), { deadlineMs: 1 });
    assert.equal(err.code, status.DEADLINE_EXCEEDED);
  });
});

test('a REST request and a gRPC request for the same model share one backend batch', async () => {
  triton.calls.length = 0;
  // A batch of 2 waits up to 3 s for its second row (a loaded machine may start the two calls far
  // apart) and goes as soon as it is full; markers tell whose row is whose.
  const [rest, grpc] = await Promise.all([
    fetch(`${gw.url}/v2/models/mixed/infer`, { method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: [1001, 0, 0, 0] }] }) }),
    client.call<{ raw_output_contents: Buffer[] }>('ModelInfer', linearRequest([[2002, 0, 0, 0]], { model_name: 'mixed' })),
  ]);
  assert.equal(rest.status, 200);
  const restY = (await rest.json() as { outputs: Array<{ data: number[] }> }).outputs[0]!.data;
  assert.deepEqual(restY, linearModel([[1001, 0, 0, 0]])[0]);
  assert.deepEqual(fromF32(grpc.response.raw_output_contents[0]!), linearModel([[2002, 0, 0, 0]])[0]);
  const infers = triton.calls.filter((c) => c.url === '/v2/models/linear/infer');
  assert.equal(infers.length, 1, `one backend call for both: ${infers.length}`);
  const sent = JSON.parse(infers[0]!.body.toString()) as { inputs: Array<{ shape: number[]; data: number[] }> };
  assert.deepEqual(sent.inputs[0]!.shape, [2, 4]);
  assert.deepEqual([...sent.inputs[0]!.data].sort((a, b) => a - b).slice(-2), [1001, 2002]);
});

test('ModelStreamInfer answers each request with its id; a failed one carries error_message and the stream goes on', async () => {
  const stream = client.stream('ModelStreamInfer');
  const answers: Array<Record<string, any>> = [];
  const done = new Promise<void>((resolve, reject) => {
    stream.on('data', (m) => answers.push(m));
    stream.on('end', resolve);
    stream.on('error', reject);
  });
  stream.write(linearRequest([[1, 2, 3, 4]], { id: 'a' }));
  stream.write({ ...linearRequest([[1, 2, 3, 4]], { id: 'b' }), model_name: 'nope' });
  stream.write(linearRequest([[0, 0, 0, 1]], { id: 'c' }));
  stream.end();
  await done;
  const byId = new Map(answers.map((a) => [a.infer_response.id, a]));
  assert.deepEqual([...byId.keys()].sort(), ['a', 'b', 'c']);
  assert.equal(byId.get('a')!.error_message, '');
  assert.deepEqual(fromF32(byId.get('c')!.infer_response.raw_output_contents[0]), linearModel([[0, 0, 0, 1]])[0]);
  assert.match(byId.get('b')!.error_message, /model "nope" is not served here/);
});

test('grpc.health.v1.Health: Check follows readiness, an unknown service is NOT_FOUND, Watch streams the status', async () => {
  const health = healthClient(gw.grpcPort!);
  try {
    assert.equal((await health.call('Check', { service: '' })).response.status, 'SERVING');
    assert.equal((await health.call('Check', { service: 'inference.GRPCInferenceService' })).response.status, 'SERVING');
    assert.equal((await health.failure('Check', { service: 'nope.Service' })).code, status.NOT_FOUND);
    const watch = health.serverStream('Watch', { service: '' });
    const first = await new Promise<Record<string, unknown>>((resolve) => watch.once('data', resolve));
    assert.equal(first.status, 'SERVING');
    watch.on('error', () => {});
    watch.cancel();
  } finally {
    health.close();
  }
});

describe('auth on the grpc block', () => {
  let secured: RunningGateway;
  before(async () => {
    secured = await startGateway(`
frontends:
  grpc: { port: 0, auth: { apiKeys: { keys: ["${apiKey}"] } } }
backends: { tri: { type: triton, url: "${triton.url}" } }
models: { linear: { targets: [ { backend: tri } ] } }
`);
  });
  after(async () => { await secured?.stop(); });

  test('ModelInfer needs the key (UNAUTHENTICATED without); health and metadata stay open for probes', async () => {
    const c = inferenceClient(secured.grpcPort!);
    const h = healthClient(secured.grpcPort!);
    try {
      assert.equal((await c.failure('ModelInfer', linearRequest([[1, 2, 3, 4]]))).code, status.UNAUTHENTICATED);
      const ok = await c.call<{ raw_output_contents: Buffer[] }>('ModelInfer', linearRequest([[1, 2, 3, 4]]), { metadata: { 'x-api-key': apiKey } });
      assert.deepEqual(fromF32(ok.response.raw_output_contents[0]!), linearModel([[1, 2, 3, 4]])[0]);
      assert.equal((await c.call('ServerReady', {})).response.ready, true);
      assert.equal((await h.call('Check', {})).response.status, 'SERVING');
    } finally {
      c.close();
      h.close();
    }
  });
});

describe('draining on SIGTERM', () => {
  test('health turns NOT_SERVING at once, calls are still served through the drain delay, then the gateway exits 0', async () => {
    const draining = await startGateway(`
server: { drainDelaySeconds: 2, drainSeconds: 10 }
frontends: { grpc: { port: 0 } }
backends: { tri: { type: triton, url: "${triton.url}" } }
models: { linear: { targets: [ { backend: tri } ] } }
`);
    const h = healthClient(draining.grpcPort!);
    const c = inferenceClient(draining.grpcPort!);
    const exited = new Promise<number | null>((resolve) => draining.process.once('exit', (code) => resolve(code)));
    try {
      assert.equal((await h.call('Check', {})).response.status, 'SERVING');
      draining.process.kill('SIGTERM');
      await draining.waitForLog(/draining: readiness now answers 503/);
      assert.equal((await h.call('Check', {})).response.status, 'NOT_SERVING');
      assert.equal((await c.call('ServerReady', {})).response.ready, false);
      // Still accepting during the drain delay, so load balancers see NOT_SERVING first.
      const { response } = await c.call<{ raw_output_contents: Buffer[] }>('ModelInfer', linearRequest([[1, 2, 3, 4]]));
      assert.deepEqual(fromF32(response.raw_output_contents[0]!), linearModel([[1, 2, 3, 4]])[0]);
      assert.equal(await exited, 0, 'one SIGTERM: a clean exit');
    } finally {
      h.close();
      c.close();
      await draining.stop();
    }
  });
});

describe('reload under an open gRPC connection', () => {
  test('a model added by a reload is served on the same connection', async () => {
    const yaml = (models: string): string => `
frontends: { grpc: { port: 0 } }
backends: { tri: { type: triton, url: "${triton.url}" } }
models: { ${models} }
`;
    const reloading = await startGateway(yaml('double: { targets: [ { backend: tri } ] }'));
    const c = inferenceClient(reloading.grpcPort!);
    try {
      assert.equal((await c.failure('ModelReady', { name: 'linear' })).code, status.NOT_FOUND);
      reloading.writeConfig(yaml('double: { targets: [ { backend: tri } ] }, linear: { targets: [ { backend: tri } ] }'));
      const res = await fetch(`${reloading.adminUrl}/admin/reload`, { method: 'POST' });
      assert.equal(res.status, 200, await res.text());
      const { response } = await c.call<{ raw_output_contents: Buffer[] }>('ModelInfer', linearRequest([[1, 2, 3, 4]]));
      assert.deepEqual(fromF32(response.raw_output_contents[0]!), linearModel([[1, 2, 3, 4]])[0]);
    } finally {
      c.close();
      await reloading.stop();
    }
  });
});
