import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CostModel } from '../../src/batching/cost-model.ts';
import { Dispatcher } from '../../src/batching/dispatch.ts';
import { RowQueue } from '../../src/batching/queue.ts';
import { GatewayError } from '../../src/errors.ts';
import { silentLogger } from '../../src/observe/log.ts';
import type { InferRequest, InferResponse } from '../../src/tensors/tensor.ts';
import type { CallContext, Infer } from '../../src/types.ts';

function ctx(over: Partial<CallContext> = {}): CallContext {
  return { requestId: 'r', signal: new AbortController().signal, deadline: Infinity, forward: {}, headers: {}, log: silentLogger, model: 'm', ...over };
}

interface Call { req: InferRequest; ctx: CallContext; resolve(res: InferResponse): void; reject(err: unknown): void }

const double = (req: InferRequest): InferResponse => ({ predictions: req.instances!.map((x) => (x as number) * 2) });

/** setup gives a queue, a dispatcher over it, a held backend, and a log of the hooks. */
function setup(): { queue: RowQueue; d: Dispatcher; next: Infer; calls: Call[]; events: string[]; send(max: number): void } {
  const queue = new RowQueue('t');
  const events: string[] = [];
  const calls: Call[] = [];
  const next: Infer = (req, c) => new Promise((resolve, reject) => { calls.push({ req, ctx: c, resolve, reject }); });
  const d = new Dispatcher({
    target: 't', log: silentLogger, queue, cost: new CostModel(),
    freed: () => events.push('freed'), ended: () => events.push('ended'),
  });
  // Sends batches of up to max rows until nothing waits.
  const send = (max: number): void => {
    for (let [k] = queue.live(0); k !== undefined; [k] = queue.live(0)) d.send(d.take(k, 0, max)!, next);
  };
  return { queue, d, next, calls, events, send };
}

async function rejection(p: Promise<unknown>): Promise<GatewayError> {
  const err = await p.then(() => assert.fail('expected a rejection'), (e: unknown) => e);
  assert.ok(err instanceof GatewayError);
  return err;
}

describe('Dispatcher', () => {
  it('sends a request alone as it came, and merges several into one call', async () => {
    const { queue, calls, send } = setup();
    const req: InferRequest = { instances: [1, 2] };
    const alone = queue.add(req, ctx(), 2, 'k', 0);
    send(8);
    assert.equal(calls[0]!.req, req, 'the very request object');
    calls[0]!.resolve(double(req));
    assert.deepEqual((await alone).predictions, [2, 4]);

    const a = queue.add({ id: 'a', instances: [1] }, ctx(), 1, 'k', 0);
    const b = queue.add({ instances: [2, 3] }, ctx(), 2, 'k', 0);
    send(8);
    assert.deepEqual(calls[1]!.req.instances, [1, 2, 3]);
    calls[1]!.resolve({ id: 'merged', ...double(calls[1]!.req) });
    const [ra, rb] = await Promise.all([a, b]);
    assert.deepEqual([ra.id, ra.predictions], ['a', [2]], 'each caller gets its own id back');
    assert.deepEqual([rb.id, rb.predictions], [undefined, [4, 6]]);
  });

  it('splits a request across batches and reassembles its answer in row order', async () => {
    const { queue, calls, send, d } = setup();
    const big = queue.add({ instances: [1, 2, 3, 4, 5] }, ctx(), 5, 'k', 0);
    send(2);
    assert.deepEqual(calls.map((c) => c.req.instances), [[1, 2], [3, 4], [5]]);
    assert.equal(d.inFlight, 3);
    for (const i of [2, 0, 1]) calls[i]!.resolve(double(calls[i]!.req));
    assert.deepEqual((await big).predictions, [2, 4, 6, 8, 10]);
    assert.deepEqual([d.inFlight, d.batches, d.rows], [0, 3, 5]);
  });

  it('gives the call the latest deadline and the first member\'s headers, and writes no target on members', async () => {
    const { queue, calls, send } = setup();
    const first = ctx({ deadline: 1000, forward: { 'x-request-id': 'a' }, target: 'blue' });
    const second = ctx({ deadline: 5000, forward: { 'x-request-id': 'b' } });
    const ps = [queue.add({ instances: [1] }, first, 1, 'k', 0), queue.add({ instances: [2] }, second, 1, 'k', 0)];
    send(8);
    const c = calls[0]!.ctx;
    assert.deepEqual([c.deadline, c.forward, c.target], [5000, { 'x-request-id': 'a' }, 'blue']);
    assert.notEqual(c.signal, first.signal);
    calls[0]!.resolve(double(calls[0]!.req));
    await Promise.all(ps);
    assert.equal(second.target, undefined, 'the batcher leaves ctx.target to the split');
  });

  it('frees the slot before answering the callers, and reports each batch\'s end', async () => {
    const { queue, calls, send, events } = setup();
    const p = queue.add({ instances: [1] }, ctx(), 1, 'k', 0);
    send(8);
    calls[0]!.resolve(double(calls[0]!.req));
    await p.then(() => events.push('answered'));
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(events, ['freed', 'answered', 'ended']);
  });

  it('fails every member with the backend\'s failure, keeping its code, status and Retry-After', async () => {
    const { queue, calls, send } = setup();
    const ps = [queue.add({ instances: [1] }, ctx(), 1, 'k', 0), queue.add({ instances: [2, 3] }, ctx(), 2, 'k', 0)];
    send(8);
    calls[0]!.reject(new GatewayError('backend_overloaded', 'too busy', { retryAfter: 7, headers: { 'x-why': 'busy' } }));
    for (const p of ps) {
      const e = await rejection(p);
      assert.deepEqual([e.code, e.status, e.retryAfter, e.headers], ['backend_overloaded', 429, 7, { 'x-why': 'busy' }]);
      assert.equal(e.message, 'in a batch of 3 rows from 2 requests: too busy');
    }
  });

  it('fails every member with backend_bad_reply when the answer has the wrong row count', async () => {
    const { queue, calls, send } = setup();
    const ps = [queue.add({ instances: [1] }, ctx(), 1, 'k', 0), queue.add({ instances: [2, 3] }, ctx(), 2, 'k', 0)];
    send(8);
    calls[0]!.resolve({ predictions: [1, 2] });
    for (const p of ps) {
      const e = await rejection(p);
      assert.equal(e.code, 'backend_bad_reply');
      assert.match(e.message, /2 predictions for a batch of 3 rows.*\(2 requests merged\)/);
    }
  });

  it('a backend that throws at once still fails its members', async () => {
    const { queue, d } = setup();
    const p = queue.add({ instances: [1] }, ctx(), 1, 'k', 0);
    d.send(d.take(queue.live(0)[0]!, 0, 8)!, () => { throw new Error('boom'); });
    assert.equal((await rejection(p)).code, 'internal');
  });

  it('aborts the call only when every caller has gone', async () => {
    const { queue, calls, send } = setup();
    const c1 = new AbortController();
    const c2 = new AbortController();
    const p1 = queue.add({ instances: [1] }, ctx({ signal: c1.signal }), 1, 'k', 0);
    const p2 = queue.add({ instances: [2] }, ctx({ signal: c2.signal }), 1, 'k', 0);
    send(8);
    const signal = calls[0]!.ctx.signal;
    c1.abort();
    assert.equal((await rejection(p1)).code, 'client_closed');
    assert.equal(signal.aborted, false);
    c2.abort();
    assert.equal((await rejection(p2)).code, 'client_closed');
    assert.equal(signal.aborted, true);
  });

  it('take skips members that ended or expired and gives nothing when none wait', async () => {
    const { queue, d } = setup();
    const late = queue.add({ instances: [1] }, ctx({ deadline: 5 }), 1, 'k', 0);
    const [k] = queue.live(0);
    assert.equal(d.take(k!, 10, 8), undefined);
    assert.equal((await rejection(late)).code, 'deadline_exceeded');
  });
});
