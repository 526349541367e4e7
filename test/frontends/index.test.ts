// index.test.ts — the frontend registry: each platform's block, and the one `kserve` block
// serving both KServe protocol versions.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { frontends, frontendSchemas } from '../../src/frontends/index.ts';
import { fakeDeps, fakeModel } from '../support/fake-request.ts';

const deps = fakeDeps([fakeModel('m')]);

test('the registry has vertex, oci, sagemaker, openai, kserve and grpc; each block is optional', () => {
  assert.deepEqual(Object.keys(frontends).sort(), ['grpc', 'kserve', 'oci', 'openai', 'sagemaker', 'vertex']);
  for (const schema of Object.values(frontendSchemas)) assert.equal(schema.safeParse(undefined).success, true);
});

test('the `kserve` block serves v2 and v1 by default; v1: false / v2: false turn each off; unknown keys refused', async () => {
  const kserve = await frontends.kserve!.load();
  const paths = (block: Record<string, unknown>) => kserve.routes(frontends.kserve!.schema.parse(block), deps).map((r) => r.path);
  assert.ok(paths({}).includes('/v2/models/{model}/infer'));
  assert.ok(paths({}).includes('/v1/models/{model}:predict'));
  assert.ok(!paths({ v1: false }).some((p) => p.startsWith('/v1')));
  assert.ok(!paths({ v2: false }).some((p) => p.startsWith('/v2')));
  assert.deepEqual(paths({ v1: false, v2: false }), []);
  assert.equal(frontends.kserve!.schema.safeParse({ v3: true }).success, false);
});
