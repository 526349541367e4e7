// client.test.ts — the shared pools: one per origin whatever the path, room for many calls in
// flight at once (model calls and raw streams share it), and closeClients closing them all,
// after which an origin gets a fresh pool.

import assert from 'node:assert/strict';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { closeClients, poolFor } from '../../../src/backends/shared/client.ts';

let server: Server;
let origin = '';
let holdUntil = 0;
const held: ServerResponse[] = [];

before(async () => {
  server = createServer((req, res) => {
    if (req.url !== '/held') return void res.end('ok');
    held.push(res);
    if (held.length >= holdUntil) for (const r of held.splice(0)) r.end('released');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  await closeClients();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

describe('poolFor', () => {
  it('gives one pool per origin, whatever the path or trailing slash', () => {
    const pool = poolFor(origin);
    assert.equal(poolFor(`${origin}/`), pool);
    assert.equal(poolFor(`${origin}/base/path`), pool);
    assert.notEqual(poolFor('http://127.0.0.1:1'), pool);
  });

  it('carries 100 calls at once to one origin: long streams do not queue behind each other', async () => {
    // The server answers only once all 100 are in: a pool capped below that would never finish.
    holdUntil = 100;
    const calls = Array.from({ length: 100 }, async () => {
      const res = await poolFor(origin).request({ path: '/held', method: 'GET', signal: AbortSignal.timeout(5000) });
      return res.body.text();
    });
    assert.deepEqual(new Set(await Promise.all(calls)), new Set(['released']));
  });

  it('closeClients closes every pool; the origin then gets a fresh, working one', async () => {
    const old = poolFor(origin);
    await closeClients();
    assert.equal(old.closed, true);
    const fresh = poolFor(origin);
    assert.notEqual(fresh, old);
    const res = await fresh.request({ path: '/', method: 'GET' });
    assert.equal(res.statusCode, 200);
    await res.body.dump();
  });
});
