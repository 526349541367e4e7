// server/body.ts: the body of a request, read within the server's limits.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import type { IncomingMessage } from 'node:http';
import { bodyRefusal, readBody } from '../../src/server/body.ts';
import type { GatewayError } from '../../src/errors.ts';

function request(chunks: Buffer[], headers: Record<string, string> = {}): IncomingMessage {
  const r = Readable.from(chunks) as unknown as IncomingMessage;
  (r as { headers: Record<string, string> }).headers = headers;
  // As an IncomingMessage does: complete once the whole body came.
  r.once('end', () => { (r as { complete: boolean }).complete = true; });
  return r;
}

test('reads the whole body, one chunk or many', async () => {
  assert.equal((await readBody(request([Buffer.from('{"a":'), Buffer.from('1}')]), 100)).toString(), '{"a":1}');
});

test('a declared length over the limit is refused before reading; a streamed one as soon as it passes', async () => {
  assert.equal(bodyRefusal(request([], { 'content-length': '101' }), 100)?.code, 'payload_too_large');
  await assert.rejects(readBody(request([Buffer.alloc(60), Buffer.alloc(60)]), 100), (e: GatewayError) => e.code === 'payload_too_large' && e.status === 413);
});

test('a gzip body is decoded, and the limit holds on the decoded bytes', async () => {
  const small = gzipSync(Buffer.from('{"instances":[[1]]}'));
  assert.equal((await readBody(request([small], { 'content-encoding': 'gzip' }), 100)).toString(), '{"instances":[[1]]}');
  const bomb = gzipSync(Buffer.alloc(1_000_000));
  await assert.rejects(readBody(request([bomb], { 'content-encoding': 'gzip' }), 10_000), (e: GatewayError) =>
    e.code === 'payload_too_large' && /once decoded/.test(e.message));
});

test('a coding other than gzip, deflate or identity is 415 before reading', () => {
  const e = bodyRefusal(request([], { 'content-encoding': 'br' }), 100);
  assert.equal(e?.code, 'unsupported_media_type');
  assert.match(e!.message, /br/);
});
