import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createBatcher } from '../../src/batching/batcher.ts';
import type { BatchingConfig } from '../../src/batching/schema.ts';
import { GatewayError } from '../../src/errors.ts';
import { silentLogger } from '../../src/observe/log.ts';
import type { InferRequest, InferResponse } from '../../src/tensors/tensor.ts';
import type { CallContext, Infer } from '../../src/types.ts';

const defaults: BatchingConfig = { maxBatchSize: 8, maxQueueDelayMs: 0, maxConcurrentBatches: 1, maxQueueRows: 64, adaptive: false };

function ctx(over: Partial<CallContext> = {}): CallContext {
  return {
    requestId: 'r', signal: new AbortController().signal, deadline: performance.now() + 60_000, forward: {}, headers: {},
    log: silentLogger, model: 'm', ...over,
  };
}

interface Call { req: InferRequest; ctx: CallContext; resolve(res: InferResponse): void; reject(err: unknown): void }

/** held records each backend call and answers only when the test says so. */
function held(): { next: Infer; calls: Call[] } {
  const calls: Call[] = [];
  const next: Infer = (req, c) => new Promise((resolve, reject) => { calls.push({ req, ctx: c, resolve, reject }); });
  return { next, calls };
}

/** double answers each row x with 2x. */
const double = (req: InferRequest): InferResponse => ({ predictions: req.instances!.map((x) => (x as number) * 2) });

// Two event-loop turns: the batcher decides at the end of the turn in which rows arrive or a
// call returns (setImmediate), and the test looks after that.
const turn = (): Promise<void> => new Promise((r) => setImmediate(() => setImmediate(r)));

function setup(config: Partial<BatchingConfig> = {}, maxBatchSize?: number): { infer: Infer; calls: Call[]; close(): void; status: ReturnType<typeof createBatcher>['status'] } {
  const { next, calls } = held();
  const b = createBatcher({ ...defaults, ...config }, { target: 't', log: silentLogger, maxBatchSize });
  return { infer: b.stage(next), calls, close: b.close, status: b.status };
}

async function rejection(p: Promise<unknown>): Promise<GatewayError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof GatewayError, `expected a GatewayError, got ${String(err)}`);
    return err;
  }
  return assert.fail('expected a rejection');
}

describe('batcher', () => {
  it('sends at once when idle, then merges what arrives while the backend is busy', async () => {
    const { infer, calls, status } = setup();
    const first = infer({ instances: [1] }, ctx());
    await turn();
    assert.equal(calls.length, 1, 'an idle backend gets the request without any added wait');
    const rest = [infer({ instances: [2, 3] }, ctx()), infer({ instances: [4] }, ctx())];
    await turn();
    assert.equal(calls.length, 1, 'one slot: nothing else goes while the first call runs');
    assert.equal(status().queueRows, 3);
    calls[0]!.resolve(double(calls[0]!.req));
    assert.deepEqual((await first).predictions, [2]);
    await turn();
    assert.equal(calls.length, 2);
    assert.deepEqual(calls[1]!.req.instances, [2, 3, 4]);
    calls[1]!.resolve(double(calls[1]!.req));
    const answers = await Promise.all(rest);
    assert.deepEqual(answers.map((a) => a.predictions), [[4, 6], [8]]);
    assert.deepEqual({ ...status(), costA: undefined, costB: undefined }, { queueRows: 0, inFlightBatches: 0, batches: 2, rows: 4, costA: undefined, costB: undefined });
  });

  it('caps batches at the smaller of config and backend limit and reassembles a split request in order', async () => {
    const { infer, calls } = setup({ maxBatchSize: 8, maxConcurrentBatches: 4 }, 3);
    const big = infer({ instances: [1, 2, 3, 4, 5, 6, 7] }, ctx());
    const small = infer({ instances: [8] }, ctx());
    await turn();
    assert.deepEqual(calls.map((c) => c.req.instances), [[1, 2, 3], [4, 5, 6], [7, 8]]);
    // Answer out of order: the caller still gets its rows in order.
    for (const i of [2, 0, 1]) calls[i]!.resolve(double(calls[i]!.req));
    assert.deepEqual((await big).predictions, [2, 4, 6, 8, 10, 12, 14]);
    assert.deepEqual((await small).predictions, [16]);
  });

  it('keeps incompatible requests in separate batches', async () => {
    const { infer, calls } = setup({ maxConcurrentBatches: 1 });
    const block = infer({ instances: [0] }, ctx());
    await turn();
    const a = infer({ instances: [1], parameters: { p: 1 } }, ctx());
    const b = infer({ instances: [2] }, ctx());
    const c = infer({ instances: [3], parameters: { p: 1 } }, ctx());
    calls[0]!.resolve(double(calls[0]!.req));
    await block;
    await turn();
    assert.deepEqual(calls[1]!.req, { instances: [1, 3], parameters: { p: 1 } }, 'the oldest key goes first, with its later arrivals');
    calls[1]!.resolve(double(calls[1]!.req));
    await turn();
    assert.deepEqual(calls[2]!.req.instances, [2]);
    calls[2]!.resolve(double(calls[2]!.req));
    assert.deepEqual((await Promise.all([a, b, c])).map((r) => r.predictions), [[2], [4], [6]]);
  });

  it('flushes at once when the rows fill a batch, and holds a partial one for maxQueueDelayMs', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const { infer, calls } = setup({ maxBatchSize: 4, maxQueueDelayMs: 50 });
    const full = infer({ instances: [1, 2, 3, 4] }, ctx());
    await turn();
    assert.equal(calls.length, 1, 'a full batch never waits');
    calls[0]!.resolve(double(calls[0]!.req));
    await full;

    const a = infer({ instances: [5] }, ctx());
    await turn();
    t.mock.timers.tick(30);
    await turn();
    assert.equal(calls.length, 1, 'held: the oldest request has waited 30 of 50 ms');
    const b = infer({ instances: [6] }, ctx());
    await turn();
    // The batcher reads the real clock when it arms its (mocked) timer, so a loaded machine can
    // move the send a millisecond or two earlier: held at 48 of 50 ms, sent by 50.
    t.mock.timers.tick(18);
    await turn();
    assert.equal(calls.length, 1);
    t.mock.timers.tick(2);
    await turn();
    assert.equal(calls.length, 2, 'sent when the oldest request has waited maxQueueDelayMs');
    assert.deepEqual(calls[1]!.req.instances, [5, 6]);
    calls[1]!.resolve(double(calls[1]!.req));
    assert.deepEqual((await Promise.all([a, b])).map((r) => r.predictions), [[10], [12]]);
  });

  it('a key that waits for more rows does not hold up another key\'s full batch', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const { infer, calls } = setup({ maxBatchSize: 2, maxQueueDelayMs: 50 });
    const waiting = infer({ instances: [1], parameters: { k: 'a' } }, ctx());
    await turn();
    assert.equal(calls.length, 0, 'a partial batch waits');
    const full = infer({ instances: [2, 3], parameters: { k: 'b' } }, ctx());
    await turn();
    assert.equal(calls.length, 1, 'the other key\'s full batch went while the older one waits');
    assert.deepEqual(calls[0]!.req.instances, [2, 3]);
    calls[0]!.resolve(double(calls[0]!.req));
    assert.deepEqual((await full).predictions, [4, 6]);
    t.mock.timers.tick(50);
    await turn();
    assert.equal(calls.length, 2);
    calls[1]!.resolve(double(calls[1]!.req));
    assert.deepEqual((await waiting).predictions, [2]);
  });

  it('never holds past what the oldest request\'s deadline leaves', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const { infer, calls } = setup({ maxQueueDelayMs: 10_000 });
    const p = infer({ instances: [1] }, ctx({ deadline: performance.now() + 100 }));
    await turn();
    t.mock.timers.tick(100);
    await turn();
    assert.equal(calls.length, 1);
    calls[0]!.resolve(double(calls[0]!.req));
    await p;
  });

  it('rejects every member of a batch when the backend fails, and the queue goes on', async () => {
    const { infer, calls } = setup();
    const block = infer({ instances: [0] }, ctx());
    await turn();
    const members = [infer({ instances: [1] }, ctx()), infer({ instances: [2, 3] }, ctx())];
    calls[0]!.resolve(double(calls[0]!.req));
    await block;
    await turn();
    calls[1]!.reject(new GatewayError('backend_error', 'model crashed'));
    for (const m of members) {
      const e = await rejection(m);
      assert.equal(e.code, 'backend_error');
      assert.equal(e.status, 502);
      assert.match(e.message, /^in a batch of 3 rows from 2 requests: model crashed$/);
    }
    const after = infer({ instances: [4] }, ctx());
    await turn();
    calls[2]!.resolve(double(calls[2]!.req));
    assert.deepEqual((await after).predictions, [8]);
  });

  it('fails every member with backend_bad_reply when the answer has the wrong row count', async () => {
    const { infer, calls } = setup();
    const block = infer({ instances: [0] }, ctx());
    await turn();
    const members = [infer({ instances: [1] }, ctx()), infer({ instances: [2, 3] }, ctx())];
    calls[0]!.resolve(double(calls[0]!.req));
    await block;
    await turn();
    calls[1]!.resolve({ predictions: [1, 2] });
    for (const m of members) {
      const err = await rejection(m);
      assert.equal(err.code, 'backend_bad_reply');
      assert.match(err.message, /2 predictions for a batch of 3 rows/);
    }
    const alone = infer({ instances: [1] }, ctx());
    await turn();
    calls[2]!.resolve({ predictions: [1, 2] });
    assert.equal((await rejection(alone)).code, 'backend_bad_reply');
  });

  it('drops a request whose deadline passes in the queue with deadline_exceeded, before sending it', async () => {
    const { infer, calls } = setup();
    const block = infer({ instances: [0] }, ctx());
    await turn();
    const late = infer({ instances: [1] }, ctx({ deadline: performance.now() + 2 }));
    const fine = infer({ instances: [2] }, ctx());
    await new Promise((r) => setTimeout(r, 5));
    calls[0]!.resolve(double(calls[0]!.req));
    await block;
    const err = await rejection(late);
    assert.equal(err.code, 'deadline_exceeded');
    assert.equal(err.status, 504);
    await turn();
    assert.deepEqual(calls[1]!.req.instances, [2]);
    calls[1]!.resolve(double(calls[1]!.req));
    await fine;
    assert.equal((await rejection(infer({ instances: [1] }, ctx({ deadline: performance.now() - 1 })))).code, 'deadline_exceeded');
  });

  it('takes an aborted request out of the queue, and discards its answer when in flight', async () => {
    const { infer, calls, status } = setup();
    const block = infer({ instances: [0] }, ctx());
    await turn();
    const gone = new AbortController();
    const left = infer({ instances: [1, 1] }, ctx({ signal: gone.signal }));
    const stays = infer({ instances: [2] }, ctx());
    assert.equal(status().queueRows, 3);
    gone.abort(new GatewayError('client_closed', 'went away'));
    assert.equal((await rejection(left)).code, 'client_closed');
    assert.equal(status().queueRows, 1);
    calls[0]!.resolve(double(calls[0]!.req));
    await block;
    await turn();
    assert.deepEqual(calls[1]!.req.instances, [2], 'the aborted rows were never sent');
    calls[1]!.resolve(double(calls[1]!.req));
    await stays;

    // In flight: the caller is answered at once; the backend call is aborted only when all left.
    const c1 = new AbortController();
    const c2 = new AbortController();
    const block2 = infer({ instances: [0] }, ctx());
    await turn();
    const p1 = infer({ instances: [1] }, ctx({ signal: c1.signal }));
    const p2 = infer({ instances: [2] }, ctx({ signal: c2.signal }));
    calls[2]!.resolve(double(calls[2]!.req));
    await block2;
    await turn();
    const batchSignal = calls[3]!.ctx.signal;
    c1.abort();
    assert.equal((await rejection(p1)).code, 'client_closed');
    assert.equal(batchSignal.aborted, false, 'another member still waits for this call');
    c2.abort();
    assert.equal((await rejection(p2)).code, 'client_closed');
    assert.equal(batchSignal.aborted, true);
  });

  it('gives the merged call the latest deadline and the first member\'s forward headers', async () => {
    const { infer, calls } = setup();
    const block = infer({ instances: [0] }, ctx());
    await turn();
    const now = performance.now();
    const a = infer({ instances: [1] }, ctx({ deadline: now + 1000, forward: { 'x-request-id': 'a' } }));
    const b = infer({ instances: [2] }, ctx({ deadline: now + 5000, forward: { 'x-request-id': 'b' } }));
    calls[0]!.resolve(double(calls[0]!.req));
    await block;
    await turn();
    assert.equal(calls[1]!.ctx.deadline, now + 5000);
    assert.deepEqual(calls[1]!.ctx.forward, { 'x-request-id': 'a' });
    calls[1]!.resolve(double(calls[1]!.req));
    await Promise.all([a, b]);
  });

  it('answers queue_full at once with Retry-After beyond maxQueueRows', async () => {
    const { infer, calls } = setup({ maxQueueRows: 3 });
    const block = infer({ instances: [0] }, ctx());
    await turn();
    const queued = infer({ instances: [1, 2, 3] }, ctx());
    const err = await rejection(infer({ instances: [4] }, ctx()));
    assert.equal(err.code, 'queue_full');
    assert.equal(err.status, 429);
    assert.ok(err.retryAfter !== undefined && err.retryAfter >= 1);
    calls[0]!.resolve(double(calls[0]!.req));
    await block;
    await turn();
    calls[1]!.resolve(double(calls[1]!.req));
    await queued;
  });

  it('rejects malformed requests without queueing them', async () => {
    const { infer, calls } = setup();
    assert.equal((await rejection(infer({}, ctx()))).code, 'bad_request');
    const ragged: InferRequest = { inputs: [
      { name: 'a', datatype: 'FP32', shape: [2], data: new Float32Array(2) },
      { name: 'b', datatype: 'FP32', shape: [3], data: new Float32Array(3) },
    ] };
    assert.equal((await rejection(infer(ragged, ctx()))).code, 'bad_tensor');
    await turn();
    assert.equal(calls.length, 0);
  });

  it('on close refuses new requests and sends what waits without holding it', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const { infer, calls, close } = setup({ maxQueueDelayMs: 1000 });
    const waiting = infer({ instances: [1] }, ctx());
    await turn();
    assert.equal(calls.length, 0);
    close();
    assert.equal(calls.length, 1);
    assert.equal((await rejection(infer({ instances: [2] }, ctx()))).code, 'draining');
    calls[0]!.resolve(double(calls[0]!.req));
    await waiting;
  });

  it('a crashing backend call (sync throw) still rejects its members', async () => {
    const b = createBatcher(defaults, { target: 't', log: silentLogger });
    const infer = b.stage(() => { throw new Error('boom'); });
    const err = await rejection(infer({ instances: [1] }, ctx()));
    assert.equal(err.code, 'internal');
  });
});
