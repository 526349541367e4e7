// proxy-headers.ts: what a raw proxy passes each way.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cleanHeaders, forwardedHeaders, validHeaders } from '../../../src/backends/shared/proxy-headers.ts';
import type { IncomingMessage, ServerResponse } from 'node:http';

describe('cleanHeaders', () => {
  test('drops hop-by-hop headers and every header named in Connection, whatever the case', () => {
    const out = cleanHeaders({
      connection: 'Keep-Alive, X-Named ,x-other', 'keep-alive': 'timeout=5', 'x-named': '1', 'x-other': '2',
      te: 'trailers', upgrade: 'websocket', 'proxy-authorization': 'Basic x', 'transfer-encoding': 'chunked',
      'x-kept': 'k', 'content-type': 'application/json',
    });
    assert.deepEqual(out, { 'x-kept': 'k', 'content-type': 'application/json' });
  });
});

describe('validHeaders', () => {
  test('validHeaders drops what Node cannot write in a response and keeps the rest', () => {
    assert.deepEqual(validHeaders({ 'x-ok': 'fine', 'x-bad': 'a\x01b', 'bad name': 'v', 'x-list': ['a', 'b'], 'x-cr': 'a\rb' }),
      { 'x-ok': 'fine', 'x-list': ['a', 'b'] });
  });

});

describe('forwardedHeaders', () => {
  const req = (headers: Record<string, string>, remoteAddress = '10.0.0.9'): IncomingMessage =>
    ({ headers, socket: { remoteAddress } }) as unknown as IncomingMessage;
  const res = (id?: string): ServerResponse => ({ getHeader: () => id }) as unknown as ServerResponse;

  test('appends the peer to x-forwarded-for, keeps a load balancer\'s proto and host, and passes the request id', () => {
    const out = forwardedHeaders(req({ host: 'api.example', 'x-forwarded-for': '1.2.3.4', 'x-forwarded-proto': 'https', connection: 'x-drop', 'x-drop': '1' }), res('rid-1'));
    assert.equal(out['x-forwarded-for'], '1.2.3.4, 10.0.0.9');
    assert.equal(out['x-forwarded-proto'], 'https');
    assert.equal(out['x-forwarded-host'], 'api.example');
    assert.equal(out['x-request-id'], 'rid-1');
    assert.equal(out['x-drop'], undefined);
  });

  test('without a load balancer in front: x-forwarded-for is the peer, proto http, host the client\'s', () => {
    const out = forwardedHeaders(req({ host: 'h:1' }), res());
    assert.deepEqual([out['x-forwarded-for'], out['x-forwarded-proto'], out['x-forwarded-host']], ['10.0.0.9', 'http', 'h:1']);
  });
});
