// request-id.ts: which header names a request (x-request-id, OCI's opc-request-id, Google
// Cloud's X-Cloud-Trace-Context), and the trace context passed on to backends.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { forwardHeaders, requestIdOf } from '../../src/server/request-id.ts';

describe('requestIdOf', () => {
  it('takes x-request-id first, then opc-request-id, then the Cloud Trace id, else a UUID', () => {
    assert.equal(requestIdOf({ 'x-request-id': 'a-1', 'opc-request-id': 'oci-1' }), 'a-1');
    // OCI writes its own ids with slashes.
    assert.equal(requestIdOf({ 'opc-request-id': 'AB12CD/34EF56/7890' }), 'AB12CD/34EF56/7890');
    assert.match(requestIdOf({ 'opc-request-id': 'has space' }), /^[0-9a-f-]{36}$/);
    assert.equal(requestIdOf({ 'opc-request-id': 'ocid1.req-7:x' }), 'ocid1.req-7:x');
    assert.equal(requestIdOf({ 'x-cloud-trace-context': '105445AA7843BC8BF206B12000100000/123;o=1' }), '105445aa7843bc8bf206b12000100000');
    assert.match(requestIdOf({}), /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  });

  it('passes over a malformed or oversized id to the next source', () => {
    assert.equal(requestIdOf({ 'x-request-id': 'has space', 'opc-request-id': 'oci-2' }), 'oci-2');
    assert.equal(requestIdOf({ 'x-request-id': 'x'.repeat(129), 'x-cloud-trace-context': `${'1'.repeat(32)}/5` }), '1'.repeat(32));
    assert.match(requestIdOf({ 'x-cloud-trace-context': 'not-a-trace/1' }), /^[0-9a-f-]{36}$/);
  });
});

describe('forwardHeaders', () => {
  const tp = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

  it('passes a valid traceparent and its tracestate on', () => {
    assert.deepEqual(forwardHeaders({ traceparent: tp, tracestate: 'a=1' }, 'r'), { 'x-request-id': 'r', traceparent: tp, tracestate: 'a=1' });
  });

  it('restates X-Cloud-Trace-Context as a traceparent when there is none: the span id in hex, o=1 sampled', () => {
    assert.deepEqual(forwardHeaders({ 'x-cloud-trace-context': '105445aa7843bc8bf206b12000100000/1;o=1' }, 'r'),
      { 'x-request-id': 'r', traceparent: '00-105445aa7843bc8bf206b12000100000-0000000000000001-01' });
    assert.equal(forwardHeaders({ 'x-cloud-trace-context': '105445aa7843bc8bf206b12000100000/18446744073709551615' }, 'r').traceparent,
      '00-105445aa7843bc8bf206b12000100000-ffffffffffffffff-00');
  });

  it('a traceparent wins over X-Cloud-Trace-Context; zero or oversized ids are dropped', () => {
    assert.equal(forwardHeaders({ traceparent: tp, 'x-cloud-trace-context': `${'1'.repeat(32)}/5;o=1` }, 'r').traceparent, tp);
    assert.equal(forwardHeaders({ 'x-cloud-trace-context': `${'0'.repeat(32)}/5;o=1` }, 'r').traceparent, undefined);
    assert.equal(forwardHeaders({ 'x-cloud-trace-context': `${'1'.repeat(32)}/0;o=1` }, 'r').traceparent, undefined);
    assert.equal(forwardHeaders({ 'x-cloud-trace-context': `${'1'.repeat(32)}/18446744073709551616` }, 'r').traceparent, undefined);
    assert.deepEqual(forwardHeaders({ traceparent: 'not-a-trace' }, 'r'), { 'x-request-id': 'r' });
  });
});
