// A short run of the hostile-input fuzzer in every `npm test`; `npm run fuzz` runs 10,000.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fuzzGateway } from './run.ts';

test('hostile requests: no crash, no 5xx, JSON 4xx, every answer within 1 s', { timeout: 120_000 }, async () => {
  const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
  const result = await fuzzGateway(Number(process.env.FUZZ_RUNS ?? 600), seed);
  assert.deepEqual(result.failures, [], `seed ${seed}: replay with FUZZ_SEED=${seed} npm run fuzz`);
});
