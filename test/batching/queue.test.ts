import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { GatewayError } from '../../src/errors.ts';
import { silentLogger } from '../../src/observe/log.ts';
import { RowQueue, type BatchLink } from '../../src/batching/queue.ts';
import type { CallContext } from '../../src/types.ts';

function ctx(over: Partial<CallContext> = {}): CallContext {
  return { requestId: 'r', signal: new AbortController().signal, deadline: Infinity, forward: {}, headers: {}, log: silentLogger, model: 'm', ...over };
}

/** outcome says how a member's promise ended, without waiting for one that has not. */
async function outcome(p: Promise<unknown>): Promise<string> {
  const pending = Symbol('pending');
  try {
    const got = await Promise.race([p, new Promise((r) => setImmediate(() => r(pending)))]);
    return got === pending ? 'pending' : 'resolved';
  } catch (err) {
    return err instanceof GatewayError ? err.code : String(err);
  }
}

describe('RowQueue', () => {
  it('counts waiting rows across keys and gives the queues oldest head first', () => {
    const q = new RowQueue('t');
    void q.add({ instances: [1, 2] }, ctx(), 2, 'b', 10);
    void q.add({ instances: [3] }, ctx(), 1, 'a', 5);
    void q.add({ instances: [4, 5, 6] }, ctx(), 3, 'b', 20);
    assert.equal(q.rows, 6);
    const live = q.live(30);
    assert.deepEqual(live.map((k) => [k.key, k.rows, k.members.length]), [['a', 1, 1], ['b', 5, 2]]);
  });

  it('hands rows over from the head: a partly taken member stays first, a fully taken one leaves', () => {
    const q = new RowQueue('t');
    void q.add({ instances: [1, 2, 3] }, ctx(), 3, 'k', 0);
    void q.add({ instances: [4] }, ctx(), 1, 'k', 1);
    const [k] = q.live(2);
    const head = q.head(k!, 2)!;
    q.takeRows(head, 2);
    assert.equal(q.rows, 2);
    assert.equal(q.head(k!, 2), head, 'one row of the first request still waits');
    q.takeRows(head, 1);
    const second = q.head(k!, 2)!;
    assert.deepEqual(second.req.instances, [4]);
    q.takeRows(second, 1);
    assert.equal(q.rows, 0);
    assert.deepEqual(q.live(2), [], 'an emptied queue is forgotten');
  });

  it('fails a head past its deadline with deadline_exceeded and drops heads that ended', async () => {
    const q = new RowQueue('t');
    const late = q.add({ instances: [1] }, ctx({ deadline: 100 }), 1, 'k', 0);
    const gone = new AbortController();
    const left = q.add({ instances: [2] }, ctx({ signal: gone.signal }), 1, 'k', 1);
    const fine = q.add({ instances: [3] }, ctx(), 1, 'k', 2);
    gone.abort(new GatewayError('client_closed', 'went away'));
    assert.equal(q.rows, 2, 'the aborted request\'s rows left the count at once');
    const [k] = q.live(150);
    assert.deepEqual(q.head(k!, 150)!.req.instances, [3]);
    assert.equal(q.rows, 1);
    const err = await late.catch((e: unknown) => e);
    assert.ok(err instanceof GatewayError);
    assert.equal(err.code, 'deadline_exceeded');
    assert.match(err.message, /after 150 ms in the batch queue of target t/);
    assert.equal(await outcome(left), 'client_closed');
    assert.equal(await outcome(fine), 'pending');
  });

  it('gives an aborted request its signal\'s reason, or deadline_exceeded for a timeout', async () => {
    const q = new RowQueue('t');
    const a = new AbortController();
    const b = new AbortController();
    const plain = q.add({ instances: [1] }, ctx({ signal: a.signal }), 1, 'k', 0);
    const timedOut = q.add({ instances: [2] }, ctx({ signal: b.signal }), 1, 'k', 0);
    a.abort();
    b.abort(new DOMException('late', 'TimeoutError'));
    assert.equal(await outcome(plain), 'client_closed');
    assert.equal(await outcome(timedOut), 'deadline_exceeded');
  });

  it('ends a member once: the first answer wins, and its batches are told', async () => {
    const q = new RowQueue('t');
    const p = q.add({ instances: [1, 2] }, ctx(), 2, 'k', 0);
    const [k] = q.live(0);
    const m = q.head(k!, 0)!;
    q.takeRows(m, 1);
    const told: Array<string | undefined> = [];
    const link: BatchLink = { leave: (err) => told.push(err?.code) };
    m.batches.add(link);
    q.reject(m, new GatewayError('backend_error', 'boom'));
    q.resolve(m, { predictions: [1, 2] });
    assert.equal(await outcome(p), 'backend_error');
    assert.deepEqual(told, ['backend_error']);
    assert.equal(m.batches.size, 0);
    assert.equal(q.rows, 0, 'the row still waiting left the count');
  });

  it('rejectAll fails every member and empties the queue', async () => {
    const q = new RowQueue('t');
    const ps = [q.add({ instances: [1] }, ctx(), 1, 'a', 0), q.add({ instances: [2] }, ctx(), 1, 'b', 0)];
    q.rejectAll(new GatewayError('internal', 'crashed'));
    assert.deepEqual(await Promise.all(ps.map(outcome)), ['internal', 'internal']);
    assert.equal(q.rows, 0);
    assert.deepEqual(q.live(0), []);
  });
});
