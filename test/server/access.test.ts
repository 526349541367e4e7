// access.test.ts — a frontend's auth and rate limit in front of its routes: POST (inference)
// guarded, GET (health, metadata) open for probes, raw routes checked before the socket is
// handed over and their credentials dropped; refusals answered through ctx.fail.

import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { test } from 'node:test';
import { GatewayError } from '../../src/errors.ts';
import { silentLogger } from '../../src/observe/log.ts';
import { guardRoutes, type AccessConfig } from '../../src/server/access.ts';
import type { RawContext, RawRoute, Route } from '../../src/types.ts';
import { inject } from '../support/fake-request.ts';

const key = 'k'.repeat(24);
const auth: AccessConfig['auth'] = { apiKeys: { header: 'x-api-key', keys: [key] } };
const rateLimit: NonNullable<AccessConfig['rateLimit']> = { requestsPerSecond: 1, burst: 2, key: 'client', maxClients: 10 };
const routes: Route[] = [
  { method: 'POST', path: '/predict', frontend: 'f', handle: async () => ({ status: 200, body: { ok: true } }) },
  { method: 'GET', path: '/health', frontend: 'f', handle: async () => ({ status: 200 }) },
];

test('no auth and no rate limit: the routes are served as they are', () => {
  assert.equal(guardRoutes(routes, {}), routes);
});

test('auth: POST needs the key (401 naming the header), GET stays open', async () => {
  const guarded = guardRoutes(routes, { auth });
  const no = await inject(guarded, 'POST', '/predict', { body: {} });
  assert.equal(no.status, 401);
  assert.equal(no.json().code, 'unauthorized');
  assert.match(no.json().error, /x-api-key/);
  const yes = await inject(guarded, 'POST', '/predict', { body: {}, headers: { 'x-api-key': key } });
  assert.deepEqual([yes.status, yes.json()], [200, { ok: true }]);
  assert.equal((await inject(guarded, 'GET', '/health')).status, 200);
});

test('rate limit: past the burst a client gets 429 rate_limited with Retry-After; GET is not counted', async () => {
  const guarded = guardRoutes(routes, { rateLimit });
  for (let i = 0; i < 5; i++) assert.equal((await inject(guarded, 'GET', '/health')).status, 200);
  assert.equal((await inject(guarded, 'POST', '/predict', { body: {} })).status, 200);
  assert.equal((await inject(guarded, 'POST', '/predict', { body: {} })).status, 200);
  const third = await inject(guarded, 'POST', '/predict', { body: {} });
  assert.equal(third.status, 429);
  assert.equal(third.json().code, 'rate_limited');
  assert.ok(Number(third.headers['retry-after']) > 0);
});

// rawCall runs a guarded raw route and resolves when it streamed (the inner route ran) or
// failed (with the error given to ctx.fail).
function rawCall(route: RawRoute, headers: Record<string, string>): Promise<{ failed?: unknown }> {
  return new Promise((resolve) => {
    const req = { headers: { ...headers }, socket: { remoteAddress: '10.0.0.1' } } as unknown as IncomingMessage;
    const ctx: RawContext = { requestId: 'r', log: silentLogger, path: '/raw', fail: (err) => resolve({ failed: err }) };
    streamed = () => resolve({});
    route.raw(req, {} as ServerResponse, ctx);
  });
}
let streamed = (): void => {};

test('raw routes: checked before streaming, credentials dropped; a refusal goes to ctx.fail', async () => {
  const seen: Array<Record<string, unknown>> = [];
  const raw: RawRoute = { method: 'POST', path: '/raw', frontend: 'f', raw: (req) => { seen.push({ ...req.headers }); streamed(); } };
  const [guarded] = guardRoutes([raw], { auth }) as RawRoute[];
  const ok = await rawCall(guarded!, { 'x-api-key': key, 'x-other': '1' });
  assert.equal(ok.failed, undefined);
  assert.deepEqual(seen, [{ 'x-other': '1' }], 'the gateway\'s credential is not streamed upstream');
  const no = await rawCall(guarded!, {});
  assert.ok(no.failed instanceof GatewayError && no.failed.code === 'unauthorized', String(no.failed));
  assert.equal(seen.length, 1, 'a refused request never reaches the raw route');
});
