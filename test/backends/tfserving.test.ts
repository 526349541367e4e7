// tfserving.test.ts — the TF Serving backend against the protocol-faithful fake
// (test/support/fake-tfserving.ts, written from api_rest.md; real TF Serving cannot run here).

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { closeClients } from '../../src/backends/shared/client.ts';
import { tfserving } from '../../src/backends/tfserving.ts';
import { silentLogger } from '../../src/observe/log.ts';
import type { Backend } from '../../src/types.ts';
import { context, near, rejectsWith, rows } from '../support/backend-calls.ts';
import { startFakeTfServing, type FakeTfServing } from '../support/fake-tfserving.ts';
import { linearModel } from '../support/fake-triton.ts';
import { assertForgets } from '../support/forget.ts';

let fake: FakeTfServing;
const backends: Backend[] = [];

before(async () => { fake = await startFakeTfServing(); });
after(async () => {
  await Promise.allSettled(backends.map((b) => b.close()));
  await closeClients();
  await fake.close();
});

function backend(extra: Record<string, unknown> = {}): Backend {
  const b = tfserving.create('tfs', tfserving.schema.parse({ type: 'tfserving', url: fake.url, ...extra }), { log: silentLogger });
  backends.push(b);
  return b;
}

describe('tfserving backend', () => {
  it('forget drops a model version: the next model() for it makes a new endpoint and fetches its metadata again', async () => {
    await assertForgets(backend(), fake.calls, '/v1/models/linear/versions/1/metadata');
  });

  it('reads the signature and reports AVAILABLE as ready', async () => {
    const m = backend().model('linear');
    const meta = await m.metadata();
    assert.deepEqual(meta.inputs, [{ name: 'x', datatype: 'FP32', shape: [-1, 4] }]);
    assert.deepEqual(await m.health(), { ready: true });
  });

  it('sends rows in row format and reads one prediction per instance', async () => {
    fake.calls.length = 0;
    const res = await backend({ signatureName: 'serving_default' }).model('linear', '1').infer({ instances: rows, parameters: { a: 1 } }, context());
    near(res.predictions as number[][], linearModel(rows));
    const call = fake.calls.at(-1)!;
    assert.equal(call.url, '/v1/models/linear/versions/1:predict');
    assert.deepEqual(JSON.parse(call.body.toString()), { signature_name: 'serving_default', instances: rows });
    assert.equal(call.headers['x-request-id'], 'r1');
  });

  it('sends tensors in columnar format and types the answer by the signature', async () => {
    fake.calls.length = 0;
    const x = new Float32Array([...rows.flat(), NaN, 0, 0, 0]);
    const res = await backend().model('linear', 'stable').infer({ id: 'q', inputs: [{ name: 'x', datatype: 'FP32', shape: [3, 4], data: x }] }, context());
    assert.equal(fake.calls.at(-1)!.url, '/v1/models/linear/labels/stable:predict');
    assert.match(fake.calls.at(-1)!.body.toString(), /\[NaN,0,0,0\]/);
    assert.equal(res.id, 'q');
    const y = res.outputs![0]!;
    assert.equal(y.name, 'y');
    assert.deepEqual(y.shape, [3, 2]);
    assert.ok(y.data instanceof Float32Array);
    near([Array.from(y.data).slice(0, 4)], [linearModel(rows).flat()]);
    assert.ok(Number.isNaN(y.data[4]), 'NaN came back as a bare token and was read');
  });

  it('passes {"error"} bodies on with their status', async () => {
    await rejectsWith(backend().model('half').infer({ instances: rows }, context()), 'not_found', 404, /Servable not found for request: Latest\(half\)/);
    await rejectsWith(backend().model('linear').infer({ instances: [[1, 2]] }, context()), 'bad_request', 400, /instance 0/);
    fake.failNext(500, '{"error": "Internal: OOM"}');
    await rejectsWith(backend().model('linear').infer({ instances: rows }, context()), 'backend_error', 502, /OOM/);
  });

  it('rejects a wrong prediction count or a body that is not JSON', async () => {
    fake.failNext(200, '{"predictions": [[1, 2]]}');
    await rejectsWith(backend().model('linear').infer({ instances: rows }, context()), 'backend_bad_reply', 502, /1 predictions for 2 instances/);
    fake.failNext(200, '<html>');
    await rejectsWith(backend().model('linear').infer({ instances: rows }, context()), 'backend_bad_reply', 502, /not valid JSON/);
  });

  it('is not ready while the version is LOADING or the model is unknown', async () => {
    fake.state = 'LOADING';
    try {
      const h = await backend().model('linear').health();
      assert.equal(h.ready, false);
      assert.match(h.reason!, /version 1 is LOADING/);
    } finally {
      fake.state = 'AVAILABLE';
    }
    const missing = await backend().model('half').health();
    assert.equal(missing.ready, false);
    assert.match(missing.reason!, /Servable not found/);
    assert.equal((await backend().health()).ready, true);
    assert.equal((await backend({ url: 'http://127.0.0.1:1' }).health()).ready, false);
  });
});
