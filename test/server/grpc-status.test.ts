// The gRPC status of each failure: Triton's codes for the common ones, the REST message as the
// details, the stable code and the retry pushback in the trailers.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { status } from '@grpc/grpc-js';
import { GatewayError } from '../../src/errors.ts';
import { grpcStatusOf } from '../../src/server/grpc-status.ts';

test('each gateway code gets the gRPC code Triton would answer', () => {
  const cases: Array<[ConstructorParameters<typeof GatewayError>[0], number]> = [
    ['bad_request', status.INVALID_ARGUMENT], ['bad_tensor', status.INVALID_ARGUMENT], ['model_not_found', status.NOT_FOUND],
    ['not_ready', status.UNAVAILABLE], ['circuit_open', status.UNAVAILABLE], ['backend_unavailable', status.UNAVAILABLE],
    ['backend_unreachable', status.UNAVAILABLE], ['queue_full', status.RESOURCE_EXHAUSTED], ['backend_queue_full', status.RESOURCE_EXHAUSTED],
    ['rate_limited', status.RESOURCE_EXHAUSTED], ['response_too_large', status.RESOURCE_EXHAUSTED], ['deadline_exceeded', status.DEADLINE_EXCEEDED],
    ['unauthorized', status.UNAUTHENTICATED], ['forbidden', status.PERMISSION_DENIED], ['client_closed', status.CANCELLED],
    ['backend_error', status.INTERNAL], ['internal', status.INTERNAL],
  ];
  for (const [code, want] of cases) assert.equal(grpcStatusOf(new GatewayError(code, 'm')).status.code, want, code);
});

test('details are the REST message; trailers carry the code and, with Retry-After, the pushback', () => {
  const { status: s } = grpcStatusOf(new GatewayError('queue_full', 'queue for m holds 10 rows'));
  assert.equal(s.details, 'queue for m holds 10 rows');
  assert.deepEqual(s.metadata!.get('infergate-code'), ['queue_full']);
  assert.deepEqual(s.metadata!.get('grpc-retry-pushback-ms'), ['1000']);
  assert.deepEqual(grpcStatusOf(new GatewayError('bad_request', 'x')).status.metadata!.get('grpc-retry-pushback-ms'), []);
});

test('anything else is INTERNAL without its message', () => {
  const { status: s } = grpcStatusOf(new Error('secret detail'));
  assert.equal(s.code, status.INTERNAL);
  assert.equal(s.details, 'internal error');
});
