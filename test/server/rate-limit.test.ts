import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GatewayError } from '../../src/errors.ts';
import { RateLimiter } from '../../src/server/rate-limit.ts';

test('a client gets its burst, then 429 with Retry-After, then tokens refill at the rate', () => {
  const rl = new RateLimiter({ requestsPerSecond: 10, burst: 3, key: 'client', maxClients: 10 });
  rl.take('a', 0); rl.take('a', 0); rl.take('a', 0);
  assert.throws(() => rl.take('a', 0), (err: unknown) => err instanceof GatewayError && err.code === 'rate_limited' &&
    err.status === 429 && Math.abs(err.retryAfter! - 0.1) < 1e-9);
  rl.take('b', 0); // other clients are unaffected
  rl.take('a', 100); // 100 ms at 10/s = one token
  assert.throws(() => rl.take('a', 100));
});

test('keys come from the identity, a header or the peer address', () => {
  const client = new RateLimiter({ requestsPerSecond: 1, key: 'client', maxClients: 10 });
  assert.equal(client.keyFor('sub:x', {}, '1.2.3.4'), 'c:sub:x');
  assert.equal(client.keyFor(undefined, {}, '1.2.3.4'), 'ip:1.2.3.4');
  const header = new RateLimiter({ requestsPerSecond: 1, key: 'header:x-user', maxClients: 10 });
  assert.equal(header.keyFor('sub:x', { 'x-user': 'u1' }, '1.2.3.4'), 'h:u1');
});

test('memory stays bounded: the least recently used clients are forgotten', () => {
  const rl = new RateLimiter({ requestsPerSecond: 1, burst: 1, key: 'ip', maxClients: 2 });
  rl.take('a', 0);
  rl.take('b', 0);
  rl.take('c', 0); // forgets a
  rl.take('a', 0); // a starts with a full bucket again
  assert.throws(() => rl.take('c', 0));
});
