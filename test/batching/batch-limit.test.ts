// The backend's batch limit, learned through the stage plugin (batcher.ts + batch-limit.ts).

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { batcher, type BatchingConfig } from '../../src/batching/batcher.ts';
import { silentLogger } from '../../src/observe/log.ts';
import type { InferRequest, InferResponse, ModelMetadata } from '../../src/tensors/tensor.ts';
import type { CallContext, Infer, TargetStageDeps } from '../../src/types.ts';

const config: BatchingConfig = { maxBatchSize: 8, maxQueueDelayMs: 0, maxConcurrentBatches: 8, maxQueueRows: 64, adaptive: false };

function ctx(): CallContext {
  return { requestId: 'r', signal: new AbortController().signal, deadline: Infinity, forward: {}, headers: {}, log: silentLogger, model: 'm' };
}

/** setup builds the plugin over a fake endpoint whose metadata answers `answers`, in turn. */
function setup(answers: Array<Partial<ModelMetadata> | Error>, maxBatchSize?: number) {
  const asked: AbortSignal[] = [];
  const meta: ModelMetadata = { name: 'm', platform: 'fake', inputs: [], outputs: [] };
  const deps: TargetStageDeps = {
    model: 'm', target: 't', backend: 'b', log: silentLogger, health: () => ({ ready: true }),
    endpoint: {
      infer: () => Promise.reject(new Error('not used')),
      health: () => Promise.resolve({ ready: true }),
      metadata: (signal) => {
        asked.push(signal!);
        const a = answers[Math.min(asked.length, answers.length) - 1]!;
        return a instanceof Error ? Promise.reject(a) : Promise.resolve({ ...meta, ...a });
      },
    },
    ...(maxBatchSize === undefined ? {} : { maxBatchSize }),
  };
  const stage = batcher.create({ batching: config }, deps)!;
  const seen: Array<{ req: InferRequest; ctx: CallContext }> = [];
  const next: Infer = async (req, c) => {
    seen.push({ req, ctx: c });
    return { predictions: req.instances!.map((x) => (x as number) * 2) } satisfies InferResponse;
  };
  return { infer: stage.stage(next), stage, seen, asked };
}

/** sizes makes the calls in one turn and gives the sizes of the calls next saw. */
async function sizes(infer: Infer, seen: Array<{ req: InferRequest }>, reqs: InferRequest[]): Promise<number[]> {
  const from = seen.length;
  const answers = await Promise.all(reqs.map((r) => infer(r, ctx())));
  answers.forEach((a, i) => assert.deepEqual(a.predictions, reqs[i]!.instances!.map((x) => (x as number) * 2)));
  return seen.slice(from).map((s) => s.req.instances!.length);
}

const rows = (n: number, from = 0): InferRequest => ({ instances: Array.from({ length: n }, (_, i) => from + i) });

describe('batcher plugin: the backend\'s batch limit', () => {
  it('makes no stage when the config has no batching block, and owns the batching schema', () => {
    assert.equal(batcher.name, 'batcher');
    assert.equal(batcher.create({}, {} as TargetStageDeps), undefined);
    const model = z.strictObject(batcher.schema.model!);
    assert.deepEqual(model.parse({ batching: {} }).batching, { maxBatchSize: 32, maxQueueDelayMs: 0, maxConcurrentBatches: 2, maxQueueRows: 4096, adaptive: false });
    assert.deepEqual(z.strictObject(batcher.schema.target!).parse({}), {}, 'optional');
  });

  it('caps batches at the limit the metadata reports, asking once with the caller\'s signal', async () => {
    const { infer, seen, asked, stage } = setup([{ maxBatchSize: 4 }]);
    const c = ctx();
    await infer(rows(1), c);
    assert.equal(asked[0], c.signal);
    assert.deepEqual(await sizes(infer, seen, [rows(6), rows(4, 10)]), [4, 4, 2]);
    assert.equal(asked.length, 1);
    assert.equal((stage.status!() as { batches: number }).batches, 4);
  });

  it('metadata without a limit leaves the config\'s', async () => {
    const { infer, seen, asked } = setup([{}]);
    await infer(rows(1), ctx());
    assert.deepEqual(await sizes(infer, seen, [rows(10)]), [8, 2]);
    assert.equal(asked.length, 1);
  });

  it('a limit of 0 sends each request straight to next, unmerged and unchanged', async () => {
    const { infer, seen, stage } = setup([{ maxBatchSize: 0 }]);
    await infer(rows(1), ctx());
    const reqs = [rows(12), rows(1, 20), rows(2, 30)];
    const ctxs = reqs.map(() => ctx());
    await Promise.all(reqs.map((r, i) => infer(r, ctxs[i]!)));
    assert.equal(seen.length, 4);
    seen.slice(1).forEach((s, i) => {
      assert.equal(s.req, reqs[i], 'the caller\'s own request');
      assert.equal(s.ctx, ctxs[i], 'the caller\'s own context');
    });
    assert.equal((stage.status!() as { batches: number }).batches, 0, 'nothing went through the batcher');
  });

  it('the model\'s configured maxBatchSize wins over the metadata, which is never asked', async () => {
    const { infer, seen, asked } = setup([{ maxBatchSize: 4 }], 3);
    assert.deepEqual(await sizes(infer, seen, [rows(7)]), [3, 3, 1]);
    assert.equal(asked.length, 0);
    const off = setup([{ maxBatchSize: 4 }], 0);
    const reqs = [rows(2), rows(2, 5)];
    await Promise.all(reqs.map((r) => off.infer(r, ctx())));
    assert.deepEqual(off.seen.map((s) => s.req), reqs, 'an override of 0 turns batching off');
  });

  it('a failed metadata fetch is asked again on the next call', async () => {
    const { infer, seen, asked } = setup([new Error('backend down'), { maxBatchSize: 3 }]);
    assert.deepEqual(await sizes(infer, seen, [rows(8)]), [8], 'unknown limit: the config\'s applies meanwhile');
    assert.equal(asked.length, 1);
    assert.deepEqual(await sizes(infer, seen, [rows(7)]), [3, 3, 1]);
    assert.equal(asked.length, 2);
    await infer(rows(1), ctx());
    assert.equal(asked.length, 2, 'known now: not asked again');
  });

  it('close refuses new requests', async () => {
    const { infer, stage } = setup([{ maxBatchSize: 4 }]);
    await infer(rows(1), ctx());
    await stage.close!();
    await assert.rejects(infer(rows(1), ctx()), { code: 'draining' });
  });
});
