// admin.test.ts — /metrics, /admin/status and /admin/reload, inject-style (no socket): the
// bearer token guard, and a refused reload answered as 400 bad_config naming the problem.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { adminRoutes, sameSecret, type AdminDeps } from '../../src/server/admin.ts';
import { inject } from '../support/fake-request.ts';

const token = 't'.repeat(32);
const deps = (over: Partial<AdminDeps> = {}): AdminDeps => ({
  status: () => ({ models: { iris: { ready: true } } }),
  reload: async () => ({ ok: true }),
  ...over,
});

test('/metrics answers the Prometheus text format; with a token, only to a caller that gives it', async () => {
  const open = await inject(adminRoutes(deps()), 'GET', '/metrics');
  assert.equal(open.status, 200);
  const refused = await inject(adminRoutes(deps({ token })), 'GET', '/metrics');
  assert.equal(refused.status, 401);
  assert.equal(refused.json().code, 'unauthorized');
  const r = await inject(adminRoutes(deps({ token })), 'GET', '/metrics', { headers: { authorization: `Bearer ${token}` } });
  assert.equal(r.status, 200);
  assert.match(r.headers['content-type']!, /^text\/plain/);
  assert.match(r.text(), /infergate_requests_total/);
});

test('with a token, /admin/status needs "Authorization: Bearer <token>": 401 with WWW-Authenticate otherwise', async () => {
  const routes = adminRoutes(deps({ token }));
  for (const authorization of [undefined, `Bearer ${token}x`, token, `Basic ${token}`]) {
    const r = await inject(routes, 'GET', '/admin/status', { headers: authorization === undefined ? {} : { authorization } });
    assert.equal(r.status, 401, String(authorization));
    assert.equal(r.json().code, 'unauthorized');
    assert.equal(r.headers['www-authenticate'], 'Bearer');
    assert.match(r.json().error, /Authorization: Bearer <adminToken>/);
  }
  const ok = await inject(routes, 'GET', '/admin/status', { headers: { authorization: `bearer ${token}` } });
  assert.equal(ok.status, 200);
  assert.deepEqual(ok.json(), { models: { iris: { ready: true } } });
  const open = await inject(adminRoutes(deps()), 'GET', '/admin/status');
  assert.equal(open.status, 200, 'no token configured: open');
});

test('/admin/reload: 200 {reloaded: true}; a refused config → 400 bad_config with the reason', async () => {
  const ok = await inject(adminRoutes(deps()), 'POST', '/admin/reload');
  assert.deepEqual([ok.status, ok.json()], [200, { reloaded: true }]);
  const bad = await inject(adminRoutes(deps({ reload: async () => ({ ok: false, error: 'models.iris.targets: required' }) })), 'POST', '/admin/reload');
  assert.equal(bad.status, 400);
  assert.deepEqual(bad.json(), { error: 'models.iris.targets: required', code: 'bad_config' });
  const unsaid = await inject(adminRoutes(deps({ reload: async () => ({ ok: false }) })), 'POST', '/admin/reload');
  assert.equal(unsaid.json().code, 'bad_config');
  assert.match(unsaid.json().error, /refused/);
  const guarded = await inject(adminRoutes(deps({ token })), 'POST', '/admin/reload');
  assert.equal(guarded.status, 401, 'reload is guarded too');
});

test('sameSecret: equal strings only', () => {
  assert.equal(sameSecret('abc', 'abc'), true);
  assert.equal(sameSecret('abd', 'abc'), false);
  assert.equal(sameSecret('ab', 'abc'), false);
  assert.equal(sameSecret('', ''), true);
});
