// Server-sent events read as they arrive: the data of each complete event, whatever the chunk
// boundaries and line endings, and nothing for an event that has no data.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SseReader } from '../../src/codecs/sse.ts';

test('gives the data of each complete event; an event cut by a chunk waits for its end', () => {
  const r = new SseReader();
  assert.deepEqual(r.push('data: {"a":1}\n\ndata: {"b"'), ['{"a":1}']);
  assert.deepEqual(r.push(':2}\n'), []);
  assert.deepEqual(r.push('\ndata: [DONE]\n\n'), ['{"b":2}', '[DONE]']);
});

test('several data lines join with newlines; comments, ids and events without data give nothing', () => {
  const r = new SseReader();
  assert.deepEqual(r.push(': keep-alive\n\nid: 3\nevent: ping\n\ndata:one\ndata: two\n\n'), ['one\ntwo']);
});

test('CRLF and CR line endings read as LF, also when a CRLF is split across chunks', () => {
  const r = new SseReader();
  assert.deepEqual(r.push('data: x\r\n\r'), []);
  assert.deepEqual(r.push('\ndata: y\r\rdata: z\r'), ['x', 'y']);
  assert.deepEqual(r.push('\n'), []);
  assert.deepEqual(r.push('\r\n'), ['z']);
});

test('a stream that never ends an event is not kept whole', () => {
  const r = new SseReader();
  r.push(`data: ${'x'.repeat(2 << 20)}`);
  assert.deepEqual(r.push('\n\ndata: next\n\n'), ['next']);
});
