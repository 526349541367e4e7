import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { test } from 'node:test';
import { framingProblem } from '../../src/server/connection.ts';

function req(httpVersion: string, rawHeaders: string[]): IncomingMessage {
  const headers: Record<string, string> = {};
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const k = rawHeaders[i]!.toLowerCase();
    headers[k] = headers[k] === undefined ? rawHeaders[i + 1]! : `${headers[k]}, ${rawHeaders[i + 1]}`;
  }
  return { httpVersion, rawHeaders, headers } as unknown as IncomingMessage;
}

test('framingProblem: one Host, Transfer-Encoding exactly "chunked" and only in HTTP/1.1', () => {
  assert.equal(framingProblem(req('1.1', ['Host', 'a', 'Content-Length', '3'])), undefined);
  assert.equal(framingProblem(req('1.1', ['Host', 'a', 'Transfer-Encoding', 'chunked'])), undefined);
  assert.equal(framingProblem(req('1.1', ['Host', 'a', 'Transfer-Encoding', 'Chunked'])), undefined);
  assert.equal(framingProblem(req('1.0', ['Content-Length', '3'])), undefined);
  for (const te of ['identity, chunked', ',chunked', 'gzip, chunked', 'chunked, chunked', 'chunked,']) {
    assert.match(framingProblem(req('1.1', ['Host', 'a', 'Transfer-Encoding', te])) ?? '', /Transfer-Encoding .* is not supported/, te);
  }
  assert.match(framingProblem(req('1.1', ['Host', 'a', 'transfer-encoding', 'chunked', 'Transfer-Encoding', 'chunked'])) ?? '', /not supported/);
  assert.match(framingProblem(req('1.0', ['Transfer-Encoding', 'chunked'])) ?? '', /HTTP\/1\.0/);
  assert.match(framingProblem(req('1.1', ['Host', 'a', 'HOST', 'b'])) ?? '', /2 Host headers/);
});
