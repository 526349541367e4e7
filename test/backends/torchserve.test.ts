// torchserve.test.ts — the TorchServe backend against the protocol-faithful fake
// (test/support/fake-torchserve.ts, written from inference_api.md; real TorchServe cannot run here).

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { closeClients } from '../../src/backends/shared/client.ts';
import { torchserve } from '../../src/backends/torchserve.ts';
import { silentLogger } from '../../src/observe/log.ts';
import type { Backend } from '../../src/types.ts';
import { context, near, rejectsWith, rows } from '../support/backend-calls.ts';
import { startFakeTorchServe, type FakeTorchServe } from '../support/fake-torchserve.ts';
import { linearModel } from '../support/fake-triton.ts';

let fake: FakeTorchServe;
const backends: Backend[] = [];

before(async () => { fake = await startFakeTorchServe(); });
after(async () => {
  await Promise.allSettled(backends.map((b) => b.close()));
  await closeClients();
  await fake.close();
});

function backend(extra: Record<string, unknown> = {}): Backend {
  const b = torchserve.create('ts', torchserve.schema.parse({ type: 'torchserve', url: fake.url, ...extra }), { log: silentLogger });
  backends.push(b);
  return b;
}

describe('torchserve backend', () => {
  it('posts rows to /predictions/{m}/{v} and reads one prediction per instance', async () => {
    fake.calls.length = 0;
    const res = await backend().model('linear', '1.0').infer({ instances: rows }, context());
    near(res.predictions as number[][], linearModel(rows));
    const call = fake.calls.at(-1)!;
    assert.equal(call.url, '/predictions/linear/1.0');
    assert.deepEqual(JSON.parse(call.body.toString()), { instances: rows });
    assert.equal(call.headers['x-request-id'], 'r1');
    assert.equal(call.headers['content-type'], 'application/json');
  });

  it('sends a bare list when body is "list"', async () => {
    await backend({ body: 'list' }).model('linear').infer({ instances: rows }, context());
    assert.deepEqual(JSON.parse(fake.calls.at(-1)!.body.toString()), rows);
  });

  it('answers tensor requests with the configured output specs', async () => {
    const b = backend({ metadata: { linear: { inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 4] }], outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 2] }] } } });
    const res = await b.model('linear').infer({ inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 4], data: new Float32Array(rows.flat()) }] }, context());
    const y = res.outputs![0]!;
    assert.deepEqual(y.shape, [2, 2]);
    near([Array.from(y.data as Float32Array)], [linearModel(rows).flat()]);
    await rejectsWith(backend().model('linear').infer({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: new Float32Array(4) }] }, context()),
      'bad_request', 400, /metadata\.<model>\.outputs/);
  });

  it('rejects a wrong prediction count, naming both counts', async () => {
    fake.dropOne = true;
    try {
      await rejectsWith(backend().model('linear').infer({ instances: rows }, context()), 'backend_bad_reply', 502, /1 predictions for 2 instances/);
    } finally {
      fake.dropOne = false;
    }
  });

  it('passes TorchServe errors on with their message', async () => {
    await rejectsWith(backend().model('resnet').infer({ instances: rows }, context()), 'not_found', 404, /Model not found: resnet/);
    fake.busy = true;
    try {
      await rejectsWith(backend().model('linear').infer({ instances: rows }, context()), 'backend_unavailable', 503, /no worker/);
    } finally {
      fake.busy = false;
    }
  });

  it('is ready while /ping says Healthy', async () => {
    const b = backend();
    assert.deepEqual(await b.model('linear').health(), { ready: true });
    fake.healthy = false;
    try {
      const h = await b.health();
      assert.equal(h.ready, false);
      assert.match(h.reason!, /ping answered 500.*Unhealthy/);
    } finally {
      fake.healthy = true;
    }
  });
});
