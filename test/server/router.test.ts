import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RouteConflictError, Router } from '../../src/server/router.ts';
import type { Route } from '../../src/types.ts';

const route = (method: Route['method'], path: string, frontend = 'f'): Route => ({
  method, path, frontend, handle: async () => ({ status: 200 }),
});

test('exact, placeholder and suffix routes match with params', () => {
  const r = new Router([route('GET', '/health'), route('POST', '/v2/models/{model}/infer'),
    route('POST', '/v2/models/{model}/versions/{version}/infer'), route('POST', '/v1/models/{model}:predict')]);
  assert.equal(r.match('GET', '/health').kind, 'route');
  const m = r.match('POST', '/v2/models/iris/versions/3/infer');
  assert.ok(m.kind === 'route');
  assert.deepEqual(m.params, { model: 'iris', version: '3' });
  const v1 = r.match('POST', '/v1/models/my-model.v2:predict');
  assert.ok(v1.kind === 'route');
  assert.deepEqual(v1.params, { model: 'my-model.v2' });
});

test('wrong method gives 405 with the allowed methods; GET routes answer HEAD', () => {
  const r = new Router([route('GET', '/health')]);
  const m = r.match('POST', '/health');
  assert.ok(m.kind === 'none' && m.status === 405);
  assert.deepEqual(m.allow.sort(), ['GET', 'HEAD']);
  assert.equal(r.match('HEAD', '/health').kind, 'route');
});

test('traversal and encoded names never match a placeholder', () => {
  const r = new Router([route('POST', '/v2/models/{model}/infer')]);
  for (const p of ['/v2/models/../infer', '/v2/models/./infer', '/v2/models/%2e%2e/infer', '/v2/models/a%2Fb/infer',
    '/v2/models/a/b/infer', '/v2/models//infer', '/v2/models/\u0130ris/infer', '/v2/models/.hidden/infer']) {
    assert.deepEqual(r.match('POST', p), { kind: 'none', status: 404 }, p);
  }
});

test('two frontends claiming one route is refused', () => {
  assert.throws(() => new Router([route('POST', '/predict', 'vertex'), route('POST', '/predict', 'oci')]),
    (err: unknown) => err instanceof RouteConflictError && /vertex and oci/.test(err.message));
});

test('raw routes match exact paths and prefixes', () => {
  const raw = { method: '*' as const, path: '/raw/*', frontend: 'vertex', raw: () => {} };
  const r = new Router([raw]);
  assert.equal(r.match('PUT', '/raw/a/b').kind, 'raw');
  assert.equal(r.match('GET', '/raw').kind, 'raw');
  assert.equal(r.match('GET', '/rawx').kind, 'none');
});
