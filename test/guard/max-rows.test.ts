// The maxRows stage: a request with more rows than models.NAME.maxRowsPerRequest is refused with
// 400 before anything below runs; at or under the bound, and without a bound, it passes untouched.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GatewayError } from '../../src/errors.ts';
import { maxRows } from '../../src/guard/max-rows.ts';
import { silentLogger } from '../../src/observe/log.ts';
import type { InferRequest } from '../../src/tensors/tensor.ts';
import type { Infer, ModelStageDeps } from '../../src/types.ts';
import { okResponse, testContext } from './context.ts';

const deps = { model: 'iris', log: silentLogger } as unknown as ModelStageDeps;

function counting(): { next: Infer; calls(): number } {
  let calls = 0;
  return { next: async () => { calls++; return okResponse; }, calls: () => calls };
}

test('without maxRowsPerRequest the stage is left out of the path', () => {
  assert.equal(maxRows.create({}, deps), undefined);
});

test('rows (instances) over the bound get 400 naming the count, the bound and the key; nothing below runs', async () => {
  const { next, calls } = counting();
  const stage = maxRows.create({ maxRowsPerRequest: 2 }, deps)!.stage(next);
  await assert.rejects(stage({ instances: [[1], [2], [3]] }, testContext().ctx), (e: GatewayError) =>
    e.code === 'bad_request' && e.status === 400 && /3 rows/.test(e.message) && /at most 2/.test(e.message) && /maxRowsPerRequest/.test(e.message));
  assert.equal(calls(), 0);
});

test('tensor rows count by dim 0 of the inputs', async () => {
  const { next, calls } = counting();
  const stage = maxRows.create({ maxRowsPerRequest: 4 }, deps)!.stage(next);
  const tensors = (rows: number): InferRequest => ({ inputs: [{ name: 'x', datatype: 'FP32', shape: [rows, 2], data: new Float32Array(rows * 2) }] });
  await assert.rejects(stage(tensors(5), testContext().ctx), { code: 'bad_request' });
  assert.deepEqual(await stage(tensors(4), testContext().ctx), okResponse);
  assert.equal(calls(), 1);
});

test('at the bound the request passes to the next stage as it came', async () => {
  let seen: InferRequest | undefined;
  const stage = maxRows.create({ maxRowsPerRequest: 2 }, deps)!.stage(async (req) => { seen = req; return okResponse; });
  const req = { instances: [[1], [2]] };
  assert.deepEqual(await stage(req, testContext().ctx), okResponse);
  assert.equal(seen, req);
});
