// Property: batching never changes any request's answer compared with sending it alone, over
// random request sizes, forms (rows, row blocks as the Vertex frontend scans them, tensors),
// parameters, arrival interleavings, backend latencies and limits.

import { it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createBatcher } from '../../src/batching/batcher.ts';
import { silentLogger } from '../../src/observe/log.ts';
import { blockRequest, instanceCount, rowBlockOf } from '../../src/tensors/row-block.ts';
import type { InferRequest, InferResponse } from '../../src/tensors/tensor.ts';
import type { CallContext, Infer } from '../../src/types.ts';

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

function ctx(): CallContext {
  return { requestId: 'r', signal: new AbortController().signal, deadline: performance.now() + 60_000, forward: {}, headers: {}, log: silentLogger, model: 'm' };
}

/**
 * model is the deterministic backend: each row's answer depends on that row and the parameters
 * only. A row block is read as a tensor backend reads it, without building its rows.
 */
function model(req: InferRequest): InferResponse {
  const offset = Number(req.parameters?.offset ?? 0);
  const block = rowBlockOf(req);
  if (block !== undefined) {
    const [n, width] = block.shape as [number, number];
    return { predictions: Array.from({ length: n }, (_, i) => Array.from(block.values.subarray(i * width, (i + 1) * width), (v) => v * 3 + offset)) };
  }
  if (req.instances !== undefined) return { predictions: req.instances.map((row) => (row as number[]).map((v) => v * 3 + offset)) };
  const x = req.inputs!.find((t) => t.name === 'x')!;
  const y = Float64Array.from(x.data as Float64Array, (v) => v * 2 + offset);
  const tag = req.inputs!.find((t) => t.name === 'tag');
  const outputs = [{ name: 'y', datatype: 'FP64' as const, shape: [...x.shape], data: y }];
  if (tag !== undefined) outputs.push({ ...tag, name: 'tag_out' } as never);
  return { outputs };
}

const requestArb: fc.Arbitrary<InferRequest> = fc.oneof(
  fc.record({
    rows: fc.array(fc.array(fc.integer({ min: -100, max: 100 }), { minLength: 2, maxLength: 2 }), { minLength: 1, maxLength: 12 }),
    offset: fc.option(fc.constantFrom(1, 7), { nil: undefined }),
  }).map(({ rows, offset }) => ({ instances: rows, ...(offset === undefined ? {} : { parameters: { offset } }) })),
  // The same rows as a block: it may share a batch with plain rows of its form.
  fc.record({
    rows: fc.array(fc.array(fc.integer({ min: -100, max: 100 }), { minLength: 2, maxLength: 2 }), { minLength: 1, maxLength: 12 }),
    offset: fc.option(fc.constantFrom(1, 7), { nil: undefined }),
  }).map(({ rows, offset }) => blockRequest({ values: new Float64Array(rows.flat()), shape: [rows.length, 2] }, offset === undefined ? undefined : { offset })),
  fc.record({
    n: fc.integer({ min: 1, max: 12 }),
    width: fc.constantFrom(1, 3),
    seed: fc.integer({ min: 0, max: 1000 }),
    withTag: fc.boolean(),
  }).map(({ n, width, seed, withTag }): InferRequest => {
    const inputs: NonNullable<InferRequest['inputs']> = [
      { name: 'x', datatype: 'FP64', shape: [n, width], data: Float64Array.from({ length: n * width }, (_, i) => seed + i) },
    ];
    if (withTag) inputs.push({ name: 'tag', datatype: 'BYTES', shape: [n], data: Array.from({ length: n }, (_, i) => new TextEncoder().encode(`${seed}-${i}`)) });
    return { inputs };
  }),
);

const planArb = fc.record({
  maxBatchSize: fc.integer({ min: 1, max: 10 }),
  backendLimit: fc.option(fc.integer({ min: 1, max: 10 }), { nil: undefined }),
  maxConcurrentBatches: fc.integer({ min: 1, max: 3 }),
  // Work-conserving, a Triton-style fixed wait, and the adaptive wait (capped at 2 ms).
  mode: fc.constantFrom('workConserving', 'fixed', 'adaptive'),
  arrivals: fc.array(fc.record({ req: requestArb, gap: fc.integer({ min: 0, max: 2 }) }), { minLength: 1, maxLength: 25 }),
  latencies: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 8 }),
});

it('batching never changes any request\'s answer, in every mode', async () => {
  let blockCalls = 0;
  await fc.assert(fc.asyncProperty(planArb, async (plan) => {
    let call = 0;
    let maxRowsSeen = 0;
    const next: Infer = async (req) => {
      const wait = plan.latencies[call++ % plan.latencies.length]!;
      maxRowsSeen = Math.max(maxRowsSeen, instanceCount(req) ?? req.inputs![0]!.shape[0]!);
      if (rowBlockOf(req) !== undefined) blockCalls++;
      for (let i = 0; i < wait; i++) await turn();
      return model(req);
    };
    const b = createBatcher(
      { maxBatchSize: plan.maxBatchSize, maxQueueDelayMs: plan.mode === 'workConserving' ? 0 : 2, maxConcurrentBatches: plan.maxConcurrentBatches, maxQueueRows: 10_000, adaptive: plan.mode === 'adaptive' },
      { target: 't', log: silentLogger, maxBatchSize: plan.backendLimit },
    );
    const infer = b.stage(next);
    const pending: Array<Promise<InferResponse>> = [];
    for (const { req, gap } of plan.arrivals) {
      pending.push(infer(req, ctx()));
      for (let i = 0; i < gap; i++) await turn();
    }
    const got = await Promise.all(pending);
    plan.arrivals.forEach(({ req }, i) => assert.deepStrictEqual(got[i], model(req), `request ${i}`));
    assert.ok(maxRowsSeen <= Math.min(plan.maxBatchSize, plan.backendLimit ?? Infinity), 'no batch above the limit');
    assert.equal(b.status().queueRows, 0);
  }), { numRuns: 150 });
  // Not vacuous: blocks (whole, sliced or merged) reached the backend as blocks, their rows never built.
  assert.ok(blockCalls > 20, `only ${blockCalls} backend calls carried a block`);
});
