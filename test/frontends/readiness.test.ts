// readiness.test.ts — a health route answers 200 only while the gateway is ready.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GatewayError } from '../../src/errors.ts';
import { readinessReply } from '../../src/frontends/readiness.ts';
import { fakeDeps } from '../support/fake-request.ts';

test('ready: 200 with the route\'s body (or none)', () => {
  const deps = fakeDeps([]);
  assert.deepEqual(readinessReply(deps, { ready: true }), { status: 200, body: { ready: true } });
  assert.deepEqual(readinessReply(deps), { status: 200, body: undefined });
});

test('not ready: 503 not_ready with Retry-After, saying why it may be', () => {
  const deps = fakeDeps([], { ready: false });
  assert.throws(() => readinessReply(deps, { ready: true }), (err: unknown) =>
    err instanceof GatewayError && err.status === 503 && err.code === 'not_ready' && err.retryAfter !== undefined &&
    /starting, down, or the gateway is draining/.test(err.message));
});
