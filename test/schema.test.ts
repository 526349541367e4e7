import { test } from 'node:test';
import assert from 'node:assert/strict';
import { modelSchema, parseConfig } from '../src/schema.ts';

const targets = [{ backend: 'a', weight: 90 }, { backend: 'b', weight: 10 }];

test('rollback, shadow and sticky blocks take their defaults', () => {
  const m = modelSchema.parse({ targets, rollback: {}, shadow: { backend: 's', percent: 10 }, sticky: { field: 'parameters.user_id' } });
  assert.deepEqual(m.rollback, { minRequests: 100, maxErrorRateRatio: 2, maxP99Ratio: 2, windowMs: 60_000, errorRateFloor: 0.01, latencyFloorMs: 5 });
  assert.deepEqual(m.shadow, { backend: 's', percent: 10, maxInFlight: 16, tolerance: 1e-4, agreement: 'auto' });
  const full = modelSchema.parse({ targets, rollback: { canary: 'b', windowMs: '30s', minRequests: 20, promote: { afterRequests: 1000 } } });
  assert.equal(full.rollback?.windowMs, 30_000);
  assert.deepEqual(full.rollback?.promote, { afterRequests: 1000 });
});

test('bad rollback, shadow and sticky blocks are refused', () => {
  for (const bad of [
    { rollback: { maxErrorRateRatio: 0.5 } },
    { rollback: { minRequests: 0 } },
    { rollback: { windowMs: 'soon' } },
    { rollback: { promote: {} } },
    { rollback: { typo: 1 } },
    { shadow: { backend: 's', agreement: 'close-enough' } },
    { shadow: { backend: 's', percent: 101 } },
    { sticky: {} },
    { sticky: { header: 'x-user', field: 'parameters.user' } },
  ]) {
    assert.equal(modelSchema.safeParse({ targets, ...bad }).success, false, JSON.stringify(bad));
  }
});

test('frontends.grpc: defaults, a port of its own, and triton protocol grpc with one url', () => {
  const models = 'models: { m: { targets: [ { backend: t } ] } }';
  const ok = parseConfig(`frontends: { grpc: {} }\nbackends: { t: { type: triton, protocol: grpc, url: "http://127.0.0.1:8001" } }\n${models}`, 'g.yaml', {});
  assert.deepEqual(ok.frontends.grpc, { port: 8081, repository: false, maxResponseBytes: 64 * 1024 * 1024, maxConcurrentStreams: 100, keepaliveTimeMs: 60_000,
    keepaliveTimeoutMs: 20_000, maxConnectionAgeMs: 0, maxConnectionAgeGraceMs: 30_000 });
  assert.throws(() => parseConfig(`frontends: { grpc: { port: 8080 } }\nbackends: { t: { type: triton, url: "http://127.0.0.1:1" } }\n${models}`, 'g.yaml', {}),
    /frontends.grpc.port: port 8080 is already the server port/);
  assert.throws(() => parseConfig(`backends: { t: { type: triton, protocol: grpc, urls: ["http://a:1", "http://b:1"] } }\n${models}`, 'g.yaml', {}),
    /backends.t.urls: protocol grpc takes one url/);
});
