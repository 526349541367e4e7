// Triton tooling through the real gateway: GET v2/models/{m}[/versions/{v}]/config in Triton's
// JSON model-config shape (ModelConfig of model_config.proto, field names as Triton writes them)
// and GET v2/models[/{m}[/versions/{v}]]/stats in the statistics extension's shape
// (server/docs/protocol/extension_model_configuration.md, extension_statistics.md). tritonclient's
// HTTP client (get_model_config, get_inference_statistics) GETs these URIs, raises on a status
// other than 200 with the body's "error", and hands the JSON on as it is: the checks below are
// what it and perf_analyzer read. Triton itself stands in as test/support/fake-triton.ts.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startFakeTriton, type FakeTriton } from '../support/fake-triton.ts';
import { startGateway, type RunningGateway } from '../support/gateway.ts';

interface Duration { count: number; ns: number }
interface ModelStat {
  name: string; version?: string; last_inference: number; inference_count: number; execution_count: number;
  inference_stats: Record<'success' | 'fail' | 'queue' | 'compute_input' | 'compute_infer' | 'compute_output' | 'cache_hit', Duration>;
  batch_stats: Array<{ batch_size: number; compute_input: Duration; compute_infer: Duration; compute_output: Duration }>;
}

async function getJson(url: string): Promise<{ status: number; body: any }> {
  const res = await fetch(url);
  return { status: res.status, body: await res.json() };
}

const row = [5.1, 3.5, 1.4, 0.2];
async function infer(gw: RunningGateway, model: string, rows: number[][]): Promise<number> {
  const res = await fetch(`${gw.url}/v2/models/${model}/infer`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [rows.length, 4], data: rows.flat() }] }),
  });
  await res.arrayBuffer();
  return res.status;
}

describe('Triton model configuration and statistics', () => {
  let gw: RunningGateway;
  let triton: FakeTriton;
  before(async () => {
    triton = await startFakeTriton();
    gw = await startGateway(`
frontends: { kserve: {} }
backends:
  local: { type: onnx, modelRepository: backends/onnx, workers: 1 }
  triton: { type: triton, url: "${triton.url}" }
models:
  iris: { targets: [ { backend: local } ], batching: { maxBatchSize: 16, maxQueueDelayMs: 2 } }
  plain: { targets: [ { backend: local, model: iris } ] }
  lin: { targets: [ { backend: triton, model: linear, version: "1" } ] }
`);
  });
  after(async () => { await gw?.stop(); await triton?.close(); });

  it('lists model_configuration and statistics in the server metadata extensions', async () => {
    const { status, body } = await getJson(`${gw.url}/v2`);
    assert.equal(status, 200);
    for (const e of ['binary_tensor_data', 'model_configuration', 'statistics']) assert.ok(body.extensions.includes(e), e);
  });

  it('writes the ONNX model\'s config from its inputs, outputs, workers and the gateway\'s batching', async () => {
    const { status, body } = await getJson(`${gw.url}/v2/models/iris/config`);
    assert.equal(status, 200);
    assert.equal(body.name, 'iris');
    assert.equal(body.platform, 'onnxruntime_onnx');
    assert.equal(body.backend, 'onnxruntime');
    assert.ok(body.max_batch_size > 0, 'dim 0 of the model is dynamic: it batches');
    // With max_batch_size > 0, dims leave out the batch dimension.
    assert.deepEqual(body.input.map((i: any) => [i.name, i.data_type, i.dims, i.format]), [['input', 'TYPE_FP32', [4], 'FORMAT_NONE']]);
    assert.ok(body.output.length >= 1);
    for (const o of body.output) {
      assert.match(o.data_type, /^TYPE_[A-Z0-9]+$/);
      assert.ok(Array.isArray(o.dims) && o.dims.every((d: unknown) => Number.isInteger(d)), JSON.stringify(o));
    }
    assert.deepEqual(body.dynamic_batching, { preferred_batch_size: [16], max_queue_delay_microseconds: 2000, preserve_ordering: true });
    assert.equal(body.instance_group[0].count, 1);
    assert.equal(body.instance_group[0].kind, 'KIND_CPU');
    assert.equal(body.default_model_filename, 'model.onnx');
    // Without dynamic_batching where the gateway does not batch.
    const plain = await getJson(`${gw.url}/v2/models/plain/config`);
    assert.equal(plain.body.name, 'plain');
    assert.equal(plain.body.dynamic_batching, undefined);
  });

  it('proxies a Triton target\'s own config, under the gateway\'s model name', async () => {
    const { status, body } = await getJson(`${gw.url}/v2/models/lin/config`);
    assert.equal(status, 200);
    assert.deepEqual((await getJson(`${gw.url}/v2/models/lin/versions/1/config`)).body, body);
    assert.deepEqual(body, {
      name: 'lin', platform: 'onnxruntime_onnx', backend: 'onnxruntime', max_batch_size: 8,
      input: [{ name: 'x', data_type: 'TYPE_FP32', dims: [4] }],
      output: [{ name: 'y', data_type: 'TYPE_FP32', dims: [2] }],
      dynamic_batching: { max_queue_delay_microseconds: 100, default_queue_policy: { max_queue_size: 30 } },
    });
    assert.ok(triton.calls.some((c) => c.method === 'GET' && c.url === '/v2/models/linear/versions/1/config'));
  });

  it('answers an unknown model or version with a JSON error that tritonclient raises with', async () => {
    for (const path of ['/v2/models/nope/config', '/v2/models/nope/stats', '/v2/models/iris/versions/9/config', '/v2/models/iris/versions/9/stats']) {
      const { status, body } = await getJson(`${gw.url}${path}`);
      assert.equal(status, 404, path);
      assert.equal(body.code, 'model_not_found');
      assert.equal(typeof body.error, 'string');
    }
  });

  it('counts requests, rows and backend executions by batch size, as the statistics extension does', async () => {
    const before = Date.now();
    for (let i = 0; i < 3; i++) assert.equal(await infer(gw, 'plain', [row]), 200);
    assert.equal(await infer(gw, 'plain', [row, row, row]), 200);
    // A failed request: the backend refuses an output the model does not have.
    const bad = await fetch(`${gw.url}/v2/models/plain/infer`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], data: row }], outputs: [{ name: 'nope' }] }),
    });
    assert.equal(bad.status, 400);
    assert.equal((await bad.json() as { code: string }).code, 'bad_tensor');
    const { status, body } = await getJson(`${gw.url}/v2/models/plain/stats`);
    assert.equal(status, 200);
    assert.equal(body.model_stats.length, 1);
    const s = body.model_stats[0] as ModelStat;
    assert.equal(s.name, 'plain');
    assert.equal(s.inference_count, 6);
    assert.equal(s.execution_count, 4);
    assert.ok(s.last_inference >= before && s.last_inference <= Date.now(), `${s.last_inference}`);
    assert.equal(s.inference_stats.success.count, 4);
    assert.equal(s.inference_stats.fail.count, 1);
    assert.ok(s.inference_stats.success.ns > 0 && s.inference_stats.fail.ns > 0);
    assert.equal(s.inference_stats.compute_infer.count, 4);
    assert.ok(s.inference_stats.compute_infer.ns > 0 && s.inference_stats.compute_infer.ns <= s.inference_stats.success.ns);
    for (const k of ['queue', 'compute_input', 'compute_output', 'cache_hit'] as const) assert.ok(Number.isInteger(s.inference_stats[k].count), k);
    assert.deepEqual(s.batch_stats.map((b) => [b.batch_size, b.compute_infer.count]), [[1, 3], [3, 1]]);
    for (const b of s.batch_stats) assert.ok(b.compute_infer.ns > 0 && b.compute_input.count === 0);
  });

  it('counts a batched model\'s merged calls as one execution each and its queue time', async () => {
    const statuses = await Promise.all(Array.from({ length: 8 }, () => infer(gw, 'iris', [row])));
    assert.deepEqual(statuses, Array(8).fill(200));
    const [s] = (await getJson(`${gw.url}/v2/models/iris/stats`)).body.model_stats as ModelStat[];
    assert.equal(s!.inference_count, 8);
    assert.equal(s!.inference_stats.success.count, 8);
    assert.ok(s!.execution_count >= 1 && s!.execution_count <= 8);
    assert.equal(s!.batch_stats.reduce((n, b) => n + b.batch_size * b.compute_infer.count, 0), 8);
    assert.equal(s!.batch_stats.reduce((n, b) => n + b.compute_infer.count, 0), s!.execution_count);
    assert.equal(s!.inference_stats.queue.count, 8, 'each request waited in the batch queue once');
  });

  it('gives a Triton target\'s stats under its version, and every model\'s at /v2/models/stats', async () => {
    const res = await fetch(`${gw.url}/v2/models/lin/infer`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 4], data: [1, 2, 3, 4, 5, 6, 7, 8] }] }),
    });
    assert.equal(res.status, 200);
    await res.arrayBuffer();
    const v = await getJson(`${gw.url}/v2/models/lin/versions/1/stats`);
    assert.equal(v.status, 200);
    assert.equal(v.body.model_stats[0].version, '1');
    assert.equal(v.body.model_stats[0].inference_count, 2);
    const all = await getJson(`${gw.url}/v2/models/stats`);
    assert.equal(all.status, 200);
    assert.deepEqual((all.body.model_stats as ModelStat[]).map((m) => m.name).sort(), ['iris', 'lin', 'plain']);
  });
});
