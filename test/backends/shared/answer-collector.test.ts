// answer-collector.test.ts — collectAnswer against a real server on 127.0.0.1 over an undici
// Pool: whole answers (declared or chunked), the caps, the answer budget when it must wait (the
// flow paused, every byte kept in order) or refuses, and aborts in flight and while queued.

import assert from 'node:assert/strict';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Pool } from 'undici';
import { collectAnswer, type CollectLimits } from '../../../src/backends/shared/answer-collector.ts';
import { ByteBudget } from '../../../src/backends/shared/budget.ts';
import { GatewayError } from '../../../src/errors.ts';

let server: Server;
let pool: Pool;
const part = (i: number): string => String.fromCharCode(97 + (i % 26)).repeat(1000);

function answer(res: ServerResponse, path: string): void {
  switch (path) {
    case '/declared': return void res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '6' }).end('abcdef');
    case '/chunked': {
      // Ten chunks written apart, so they reach the client as several reads.
      res.writeHead(200, { 'content-type': 'text/plain' });
      let i = 0;
      const next = (): void => {
        if (i === 10) { res.end(); return; }
        res.write(part(i++));
        setTimeout(next, 2);
      };
      return next();
    }
    case '/error': {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.write('e'.repeat(100));
      setTimeout(() => res.end('f'.repeat(100)), 20);
      return;
    }
    case '/hang': return;
    default: return void res.writeHead(404).end();
  }
}

before(async () => {
  server = createServer((req, res) => { req.resume(); req.on('end', () => answer(res, req.url ?? '/')); });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  pool = new Pool(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, { connections: 1 });
});
after(async () => {
  await pool.close();
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

const limits = (over: Partial<CollectLimits> = {}): CollectLimits => ({
  maxBytes: 1 << 20, errorBytes: 64 * 1024, callMax: undefined, where: 'backend "b"',
  budget: new ByteBudget(1 << 20), held: { bytes: 0 }, signal: new AbortController().signal, ...over,
});
const get = (path: string, l: CollectLimits) => collectAnswer(pool, { method: 'GET', path }, l);
const code = async (p: Promise<unknown>): Promise<string> => {
  try {
    await p;
    return 'resolved';
  } catch (err) {
    return err instanceof GatewayError ? err.code : (err as Error).name;
  }
};

describe('collectAnswer', () => {
  it('reads a declared and a chunked answer whole, with status and headers, and counts the bytes held', async () => {
    const l = limits();
    const a = await get('/declared', l);
    assert.deepEqual([a.status, a.headers['content-type'], a.body.toString()], [200, 'text/plain', 'abcdef']);
    assert.equal(l.held.bytes, 6);
    const c = limits();
    const b = await get('/chunked', c);
    assert.equal(b.body.toString(), Array.from({ length: 10 }, (_, i) => part(i)).join(''));
    assert.equal(c.held.bytes, 10_000);
  });

  it('refuses past the cap: the backend\'s (502), the call\'s (413); a failed answer is cut, not refused', async () => {
    assert.equal(await code(get('/declared', limits({ maxBytes: 5 }))), 'backend_bad_reply');
    assert.equal(await code(get('/declared', limits({ callMax: 5 }))), 'response_too_large');
    assert.equal(await code(get('/chunked', limits({ maxBytes: 2500 }))), 'backend_bad_reply');
    const cut = await get('/error', limits({ errorBytes: 150 }));
    assert.deepEqual([cut.status, cut.body.toString()], [500, 'e'.repeat(100)]);
    // The pool's one connection still serves what comes next.
    assert.equal((await get('/declared', limits())).body.toString(), 'abcdef');
  });

  it('waits for the budget with the answer paused, and keeps every chunk in order', async () => {
    const budget = new ByteBudget(3000, 2000);
    assert.equal(budget.tryTake(2500), true);
    // Given back bit by bit while the chunked answer waits, chunk by chunk.
    let given = 0;
    const giving = setInterval(() => { given++; budget.give(500); }, 15);
    try {
      const l = limits({ budget });
      const b = await get('/chunked', l);
      assert.equal(b.body.toString(), Array.from({ length: 10 }, (_, i) => part(i)).join(''));
      assert.equal(l.held.bytes, 10_000);
      assert.ok(given > 0, 'the read waited for bytes to be given back');
    } finally {
      clearInterval(giving);
    }
    const declared = new ByteBudget(10, 2000);
    assert.equal(declared.tryTake(8), true);
    setTimeout(() => declared.give(8), 20);
    assert.equal((await get('/declared', limits({ budget: declared }))).body.toString(), 'abcdef');
  });

  it('fails with 503 buffers_full when the budget does not free up in time', async () => {
    const budget = new ByteBudget(10, 30);
    assert.equal(budget.tryTake(8), true);
    const l = limits({ budget });
    assert.equal(await code(get('/declared', l)), 'buffers_full');
    assert.deepEqual([l.held.bytes, budget.used], [0, 8]);
    // Larger than the whole budget: refused without a wait.
    assert.equal(await code(get('/declared', limits({ budget: new ByteBudget(4, 60_000) }))), 'buffers_full');
    assert.equal((await get('/declared', limits())).body.toString(), 'abcdef');
  });

  it('an abort fails the call with its reason, in flight and while queued behind another call', async () => {
    const inFlight = new AbortController();
    const hanging = get('/hang', limits({ signal: inFlight.signal }));
    const queued = new AbortController();
    const waiting = get('/declared', limits({ signal: queued.signal }));
    // The pool has one connection, held by /hang: the second call is queued.
    const started = performance.now();
    queued.abort(new GatewayError('deadline_exceeded', 'queued too long'));
    assert.equal(await code(waiting), 'deadline_exceeded');
    assert.ok(performance.now() - started < 1000);
    inFlight.abort(new GatewayError('client_closed', 'gone'));
    assert.equal(await code(hanging), 'client_closed');
    const done = new AbortController();
    done.abort(new GatewayError('client_closed', 'before'));
    assert.equal(await code(get('/declared', limits({ signal: done.signal }))), 'client_closed');
    assert.equal((await get('/declared', limits())).body.toString(), 'abcdef');
  });
});
