// Dynamic batching through the real gateway against the protocol-faithful Triton server
// (test/support/fake-triton.ts; real Triton cannot run here): concurrent one-row requests are
// merged into calls no larger than the model's own max_batch_size (8, below the configured 32),
// each client gets exactly its own row back; a model with max_batch_size 0 is never sent a
// merged batch; a malformed row does not fail the well-formed requests it would share a batch
// with; /admin/status and /metrics show the batcher.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { linearModel, startFakeTriton, type FakeTriton, type RecordedCall } from '../support/fake-triton.ts';
import { startGateway, type RunningGateway } from '../support/gateway.ts';

let triton: FakeTriton;
let gw: RunningGateway;

before(async () => {
  triton = await startFakeTriton();
  gw = await startGateway(`
frontends:
  vertex: { model: linear, predictRoute: /predict, healthRoute: /health }
  kserve: {}
backends: { tri: { type: triton, url: "${triton.url}" } }
models:
  linear: { timeoutMs: 5000, batching: { maxBatchSize: 32, maxQueueDelayMs: 20 }, targets: [ { backend: tri } ] }
  double: { timeoutMs: 5000, batching: { maxBatchSize: 32, maxQueueDelayMs: 20 }, targets: [ { backend: tri } ] }
`);
});

after(async () => {
  await gw?.stop();
  await triton?.close();
});

// rowsOf reads dim 0 of the first input of a recorded infer call (binary or JSON body).
function rowsOf(call: RecordedCall): number {
  const n = call.headers['inference-header-content-length'];
  const json = n === undefined ? call.body : call.body.subarray(0, Number(n));
  const doc = JSON.parse(json.toString()) as { inputs: Array<{ shape: number[] }> };
  return doc.inputs[0]!.shape[0]!;
}

const post = async (path: string, body: unknown): Promise<{ status: number; doc: { predictions?: unknown[]; code?: string } }> => {
  const res = await fetch(`${gw.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, doc: await res.json() as { predictions?: unknown[]; code?: string } };
};

test('concurrent rows are merged, never beyond the model\'s own max_batch_size, and split back exactly', async () => {
  triton.calls.length = 0;
  const rows = Array.from({ length: 40 }, (_, i) => [i, i / 2, 1, -i]);
  const answers = await Promise.all(rows.map((row) => post('/predict', { instances: [row] })));
  answers.forEach((a, i) => {
    assert.equal(a.status, 200, JSON.stringify(a.doc));
    const [want] = linearModel([rows[i]!]);
    const got = a.doc.predictions![0] as number[];
    got.forEach((v, j) => assert.ok(Math.abs(v - want![j]!) < 1e-4, `row ${i}: ${got} vs ${want}`));
  });
  const infers = triton.calls.filter((c) => c.url === '/v2/models/linear/infer');
  const sizes = infers.map(rowsOf);
  assert.equal(sizes.reduce((a, b) => a + b, 0), 40, `every row sent once: ${sizes}`);
  assert.ok(Math.max(...sizes) <= 8, `a batch beyond max_batch_size 8: ${sizes}`);
  assert.ok(Math.max(...sizes) > 1, `nothing was merged: ${sizes}`);
});

test('a model with max_batch_size 0 gets each instance on its own, never a merged batch', async () => {
  triton.calls.length = 0;
  const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => post('/v1/models/double:predict', { instances: [[i, 1, 2]] })));
  answers.forEach((a, i) => {
    assert.equal(a.status, 200, JSON.stringify(a.doc));
    assert.deepEqual(a.doc.predictions, [[2 * i, 2, 4]]);
  });
  const infers = triton.calls.filter((c) => c.url === '/v2/models/double/infer');
  assert.equal(infers.length, 10, 'one call per instance');
});

test('a malformed row gets its own 400 and does not fail the requests batched beside it', async () => {
  const good = Array.from({ length: 6 }, (_, i) => post('/predict', { instances: [[i, 1, 2, 3]] }));
  const bad = post('/predict', { instances: [[1, 2, 3]] });
  const results = await Promise.all([...good, bad]);
  for (const r of results.slice(0, 6)) assert.equal(r.status, 200, JSON.stringify(r.doc));
  assert.equal(results[6]!.status, 400, JSON.stringify(results[6]!.doc));
});

test('/admin/status and /metrics show the batcher', async () => {
  const status = await (await fetch(`${gw.adminUrl}/admin/status`)).json() as { models: { linear: unknown } };
  assert.match(JSON.stringify(status.models.linear), /"batcher":\{[^}]*"queueRows"/);
  const metrics = await (await fetch(`${gw.adminUrl}/metrics`)).text();
  assert.match(metrics, /infergate_batch_rows_count\{target="tri\/linear"\} [1-9]/);
  assert.match(metrics, /infergate_queue_delay_seconds_count\{target="tri\/linear"\} [1-9]/);
  assert.match(metrics, /infergate_batch_cost_seconds\{target="tri\/linear",coefficient="a"\}/);
});
