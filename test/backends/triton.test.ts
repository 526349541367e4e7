// triton.test.ts — the Triton backend against the protocol-faithful fake (test/support/fake-triton.ts,
// written from the KServe v2 and Triton binary-extension documents; real Triton cannot run here).

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { closeClients } from '../../src/backends/shared/client.ts';
import { triton } from '../../src/backends/triton.ts';
import { decodeInferRequest } from '../../src/codecs/v2-json.ts';
import { encodeBinaryRequest } from '../../src/codecs/v2-binary.ts';
import { GatewayError } from '../../src/errors.ts';
import { silentLogger } from '../../src/observe/log.ts';
import type { Backend, CallContext } from '../../src/types.ts';
import { channelSums, linearModel, startFakeTriton, type FakeTriton } from '../support/fake-triton.ts';
import { assertForgets } from '../support/forget.ts';

let fake: FakeTriton;
const backends: Backend[] = [];

before(async () => { fake = await startFakeTriton(); });
after(async () => {
  await Promise.allSettled(backends.map((b) => b.close()));
  await closeClients();
  await fake.close();
});

function backend(extra: Record<string, unknown> = {}): Backend {
  const b = triton.create('tri', triton.schema.parse({ type: 'triton', url: fake.url, ...extra }), { log: silentLogger });
  backends.push(b);
  return b;
}

function context(deadline = Infinity): CallContext {
  return {
    requestId: 'r1', signal: AbortSignal.timeout(10_000), deadline, headers: {}, log: silentLogger, model: 'linear',
    forward: { 'x-request-id': 'r1' },
  };
}

async function rejectsWith(p: Promise<unknown>, code: string, status: number, message: RegExp): Promise<GatewayError> {
  let caught: unknown;
  await assert.rejects(p, (err: unknown) => { caught = err; return true; });
  assert.ok(caught instanceof GatewayError, String(caught));
  assert.equal(caught.code, code, caught.message);
  assert.equal(caught.status, status);
  assert.match(caught.message, message);
  return caught;
}

const rows = [[1, 2, 3, 4], [0.5, -1, 2, 8]];
const close = (a: number[][], b: number[][]): void => {
  assert.equal(a.length, b.length);
  a.forEach((r, i) => r.forEach((v, j) => assert.ok(Math.abs(v - b[i]![j]!) < 1e-5, `[${i}][${j}] ${v} vs ${b[i]![j]}`)));
};
const tensorRequest = () => decodeInferRequest({ id: 'q', inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 4], data: rows.flat() }] });

describe('triton backend', () => {
  it('forget drops a model version: the next model() for it makes a new endpoint and fetches its metadata again', async () => {
    await assertForgets(backend(), fake.calls, '/v2/models/linear/versions/1');
  });

  it('reads metadata and max_batch_size, and is ready', async () => {
    const b = backend();
    await b.start();
    const m = b.model('linear');
    const meta = await m.metadata();
    assert.deepEqual(meta.inputs, [{ name: 'x', datatype: 'FP32', shape: [-1, 4] }]);
    assert.equal(meta.maxBatchSize, 8);
    assert.deepEqual(await m.health(), { ready: true });
    assert.deepEqual(await b.health(), { ready: true });
  });

  it('turns rows into tensors and answers one prediction per row (binary on the wire)', async () => {
    fake.calls.length = 0;
    const res = await backend().model('linear', '1').infer({ instances: rows }, context());
    close(res.predictions as number[][], linearModel(rows));
    const call = fake.calls.find((c) => c.url === '/v2/models/linear/versions/1/infer')!;
    assert.equal(call.headers['content-type'], 'application/octet-stream');
    assert.ok(Number(call.headers['inference-header-content-length']) > 0);
    assert.equal(call.headers['x-request-id'], 'r1');
  });

  it('sends a large binary request as its parts under one content-length, byte for byte, and again on a second call', async () => {
    // 2 rows of 3 × 96 × 96 FP32: 221 KB of tensor, sent behind its JSON header uncopied.
    let seed = 9;
    const image = (): number[][][] => Array.from({ length: 3 }, () => Array.from({ length: 96 }, () =>
      Array.from({ length: 96 }, () => { seed = (seed * 16807) % 2147483647; return Math.round((seed / 2147483647) * 1000) / 1000; })));
    const batch = [image(), image()];
    const flat = new Float32Array(batch.flat(3));
    const m = backend().model('channels');
    for (let call = 0; call < 2; call++) {
      fake.calls.length = 0;
      const res = await m.infer({ instances: batch }, context());
      assert.deepEqual(res.predictions, [channelSums(flat, 2).slice(0, 3), channelSums(flat, 2).slice(3)]);
      const sent = fake.calls.find((c) => c.url === '/v2/models/channels/infer')!;
      const headerLength = Number(sent.headers['inference-header-content-length']);
      assert.equal(sent.headers['content-length'], String(sent.body.length));
      assert.equal(sent.headers['transfer-encoding'], undefined);
      assert.equal(sent.body.length, headerLength + flat.byteLength);
      assert.deepEqual(new Uint8Array(sent.body.subarray(headerLength)), new Uint8Array(flat.buffer));
    }
  });

  it('asks for binary outputs only when the output is large enough to be worth it (binaryOutputBytes)', async () => {
    // The linear model's output is FP32 [-1, 2]: 8 bytes a row.
    const asked = async (extra: Record<string, unknown>, n: number): Promise<{ binary: boolean }> => {
      fake.calls.length = 0;
      const b = backend(extra);
      await b.model('linear').metadata();
      const batch = Array.from({ length: n }, (_, i) => [i, 1, 2, 3]);
      const res = await b.model('linear').infer({ instances: batch }, context());
      close(res.predictions as number[][], linearModel(batch));
      const call = fake.calls.find((c) => c.url === '/v2/models/linear/infer')!;
      const header = JSON.parse(call.body.subarray(0, Number(call.headers['inference-header-content-length'])).toString()) as {
        outputs?: Array<{ name: string; parameters: { binary_data: boolean } }>; parameters?: { binary_data_output?: boolean };
      };
      if (header.outputs === undefined) return { binary: header.parameters?.binary_data_output === true };
      assert.deepEqual(header.outputs.map((o) => o.name), ['y']);
      return { binary: header.outputs[0]!.parameters.binary_data };
    };
    assert.equal((await asked({}, 2)).binary, false, '16 bytes come back as JSON');
    assert.equal((await asked({ binaryOutputBytes: '64b' }, 8)).binary, true, '64 bytes reach a 64-byte threshold');
    assert.equal((await asked({ binaryOutputBytes: '64b' }, 7)).binary, false);
    assert.equal((await asked({ binaryOutputBytes: 0 }, 1)).binary, true, '0 asks for every output in binary');
  });

  it('speaks plain JSON when binary is false and echoes the id', async () => {
    fake.calls.length = 0;
    const res = await backend({ binary: false }).model('linear').infer(tensorRequest(), context());
    assert.equal(res.id, 'q');
    assert.equal(res.modelName, 'linear');
    const y = res.outputs![0]!;
    assert.deepEqual(y.shape, [2, 2]);
    close([Array.from(y.data as Float32Array)], [linearModel(rows).flat()]);
    const sent = JSON.parse(fake.calls.at(-1)!.body.toString());
    assert.deepEqual(sent.inputs[0].data, rows.flat());
    assert.equal(fake.calls.at(-1)!.headers['inference-header-content-length'], undefined);
  });

  it('sends the remaining deadline as the timeout parameter in microseconds', async () => {
    fake.calls.length = 0;
    await backend({ binary: false }).model('linear').infer(tensorRequest(), context(performance.now() + 2000));
    const sent = JSON.parse(fake.calls.at(-1)!.body.toString());
    assert.ok(sent.parameters.timeout > 1_000_000 && sent.parameters.timeout <= 2_000_000, String(sent.parameters.timeout));
  });

  it('forwards the client\'s own v2 body without re-encoding it', async () => {
    fake.calls.length = 0;
    const text = Buffer.from(`{ "id": "raw", "inputs": [{"name": "x", "datatype": "FP32", "shape": [1, 4], "data": [1, 2, 3, 4]}] }`);
    const req = { ...decodeInferRequest(JSON.parse(text.toString())), raw: { contentType: 'application/json', body: text } };
    const res = await backend().model('linear').infer(req, context());
    close([Array.from(res.outputs![0]!.data as Float32Array)], linearModel([[1, 2, 3, 4]]));
    assert.deepEqual(fake.calls.at(-1)!.body, text);
    // With a deadline, only the timeout is spliced in; the tensors are the client's bytes.
    await backend().model('linear').infer(req, context(performance.now() + 5000));
    const spliced = fake.calls.at(-1)!.body.toString();
    assert.match(spliced, /^\{"parameters":\{"timeout":\d+\}, "id": "raw", "inputs"/);
    // A binary body keeps its tensor bytes; only the JSON header is rewritten.
    const bin = encodeBinaryRequest(req, { binaryOutputs: true });
    const binReq = { ...req, raw: { contentType: 'application/octet-stream', body: bin.body, headerLength: bin.headerLength } };
    const binRes = await backend().model('linear').infer(binReq, context(performance.now() + 5000));
    close([Array.from(binRes.outputs![0]!.data as Float32Array)], linearModel([[1, 2, 3, 4]]));
    assert.deepEqual(fake.calls.at(-1)!.body.subarray(-16), bin.body.subarray(-16));
  });

  it('passes Triton\'s 400 message on with its status', async () => {
    const bad = decodeInferRequest({ inputs: [{ name: 'x', datatype: 'FP64', shape: [1, 4], data: [1, 2, 3, 4] }] });
    await rejectsWith(backend().model('linear').infer(bad, context()), 'bad_request', 400, /data-type is 'FP64'/);
  });

  it('turns a full queue (503) into 429 backend_queue_full with Retry-After', async () => {
    fake.queueFull = true;
    try {
      const err = await rejectsWith(backend().model('linear').infer(tensorRequest(), context()), 'backend_queue_full', 429, /Exceeds maximum queue size/);
      assert.equal(err.retryAfter, 1);
    } finally {
      fake.queueFull = false;
    }
  });

  it('turns other 5xx into 502 backend_error with the message', async () => {
    fake.failNext(500, { error: 'CUDA out of memory' });
    await rejectsWith(backend().model('linear').infer(tensorRequest(), context()), 'backend_error', 502, /CUDA out of memory/);
  });

  it('rejects a malformed answer as backend_bad_reply', async () => {
    fake.failNext(200, { outputs: [{ name: 'y', datatype: 'FP32', shape: [2, 2], data: [1] }] });
    await rejectsWith(backend().model('linear').infer(tensorRequest(), context()), 'backend_bad_reply', 502, /backend "tri".*"y"/);
  });

  it('reports an unknown model and broken metadata as not ready, with the reason', async () => {
    const b = backend();
    const missing = await b.model('nope').health();
    assert.equal(missing.ready, false);
    assert.match(missing.reason!, /ready answered 400/);
    fake.metadataBroken = true;
    try {
      const h = await backend().model('linear').health();
      assert.equal(h.ready, false);
      assert.match(h.reason!, /metadata unavailable/);
      await rejectsWith(backend().model('linear').infer({ instances: rows }, context()), 'backend_unavailable', 503, /metadata/);
    } finally {
      fake.metadataBroken = false;
    }
  });

  it('is not ready when the server is not', async () => {
    fake.ready = false;
    try {
      assert.equal((await backend().health()).ready, false);
      assert.equal((await backend().model('linear').health()).ready, false);
    } finally {
      fake.ready = true;
    }
    const gone = backend({ url: 'http://127.0.0.1:1' });
    assert.match((await gone.health()).reason!, /unreachable/);
  });
});

describe('triton backend with a model that does not batch', () => {
  it('sends its one instance as the whole tensor and answers one prediction', async () => {
    fake.calls.length = 0;
    const m = backend().model('double');
    assert.equal((await m.metadata()).maxBatchSize, 0);
    const res = await m.infer({ instances: [[1, 2.5, -3]] }, context());
    assert.deepEqual(res.predictions, [[2, 5, -6]]);
    const header = fake.calls.at(-1)!.body;
    const length = Number(fake.calls.at(-1)!.headers['inference-header-content-length']);
    assert.deepEqual(JSON.parse(header.subarray(0, length).toString()).inputs[0].shape, [3]);
    await rejectsWith(m.infer({ instances: [[1, 2, 3], [4, 5, 6]] }, context()), 'bad_request', 400, /does not batch.*exactly one instance, got 2/);
  });
});
