// A version the Triton server does not have, named by a client through a target open to any
// version: Triton answers 400 "Request for unknown model: ... is not found", and the gateway
// must answer 404 model_not_found (no Retry-After: asking again will not help), for the
// version's metadata and for infer, not 503 backend_unavailable; the server is not at fault.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, type RunningGateway } from '../support/gateway.ts';
import { startFakeTriton, type FakeTriton } from '../support/fake-triton.ts';

let triton: FakeTriton;
let gw: RunningGateway;

before(async () => {
  triton = await startFakeTriton();
  gw = await startGateway(`
frontends: { kserve: { v1: true, v2: true } }
backends: { tri: { type: triton, url: "${triton.url}" } }
models:
  linear:
    breaker: { volumeThreshold: 2, errorThresholdPercentage: 50, resetTimeoutMs: 60000 }
    retry: { attempts: 1 }
    targets: [ { backend: tri, name: any, versions: any, maxVersions: 4 } ]
`);
});

after(async () => {
  await gw?.stop();
  await triton?.close();
});

const infer = JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }] });

async function answer(path: string, body?: string): Promise<{ status: number; code: string | undefined; retryAfter: string | null }> {
  const res = await fetch(`${gw.url}${path}`, body === undefined ? {} : { method: 'POST', body, headers: { 'content-type': 'application/json' } });
  const doc = await res.json() as { code?: string };
  return { status: res.status, code: doc.code, retryAfter: res.headers.get('retry-after') };
}

test('GET /v2/models/m/versions/<unknown> is 404 model_not_found', async () => {
  assert.deepEqual(await answer('/v2/models/linear/versions/7'), { status: 404, code: 'model_not_found', retryAfter: null });
});

test('infer on an unknown version is 404 model_not_found, and the breaker does not count it', async () => {
  for (let i = 0; i < 4; i++) {
    assert.deepEqual(await answer('/v2/models/linear/versions/8/infer', infer), { status: 404, code: 'model_not_found', retryAfter: null }, `try ${i}`);
  }
  // The version the server has still answers (the target's breaker stayed closed).
  assert.equal((await answer('/v2/models/linear/versions/1/infer', infer)).status, 200);
});
