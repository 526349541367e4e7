// body.ts — reading a request body within the server's limits: the byte limit (413 from
// Content-Length before reading, or while streaming), the idle timeout (408), and gzip/deflate
// decoding with the limit on the decoded bytes (encoding.ts).

import type { IncomingMessage } from 'node:http';
import { GatewayError } from '../errors.ts';
import { bodyCoding, bodyDecoder } from './encoding.ts';

/**
 * readBody reads the request body, refusing more than limit bytes as soon as it knows, and
 * giving up with 408 when the client stops sending for idleMs. A gzip or deflate body
 * (Content-Encoding) is decoded as it arrives, and the limit bounds the decoded bytes too: a
 * zip bomb is a 413 once its output passes the limit. Another coding is a 415 before reading.
 * `totalMs` bounds the whole body too (408): an HTTP/2 stream's, which Node's requestTimeout
 * does not cover (an HTTP/1.1 request's is Node's).
 */
export function readBody(req: IncomingMessage, limit: number, idleMs = 15_000, totalMs?: number): Promise<Buffer> {
  const refused = bodyRefusal(req, limit);
  if (refused !== undefined) return Promise.reject(refused);
  const coding = bodyCoding(req.headers['content-encoding']);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let received = 0;
    const idle = setTimeout(() => onIdle(), idleMs);
    const total = totalMs === undefined ? undefined
      : setTimeout(() => fail(new GatewayError('request_timeout', 'the request was not received in time')), Math.max(0, totalMs));
    const fail = (err: GatewayError): void => {
      cleanup();
      decoder?.destroy();
      req.pause();
      reject(err);
    };
    const onIdle = (): void => fail(new GatewayError('request_timeout', `the request body stalled for ${idleMs} ms`));
    const keep = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        fail(new GatewayError('payload_too_large', `request body exceeds the limit of ${limit} bytes${coding === undefined ? '' : ` once decoded (Content-Encoding: ${coding})`}`));
        return;
      }
      chunks.push(chunk);
    };
    const done = (): void => { cleanup(); resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)); };
    const decoder = coding === undefined ? undefined : bodyDecoder(coding, { data: keep, end: done, error: fail });
    const onData = (chunk: Buffer): void => {
      idle.refresh();
      received += chunk.length;
      if (received > limit) {
        fail(new GatewayError('payload_too_large', `request body exceeds the limit of ${limit} bytes`));
        return;
      }
      if (decoder === undefined) keep(chunk);
      else decoder.write(chunk);
    };
    const onEnd = (): void => {
      if (decoder === undefined) done();
      else {
        // The body is in; what is left is the decoder's (bounded by the limit, like the rest).
        req.off('data', onData); req.off('end', onEnd);
        decoder.end();
      }
    };
    const onError = (err: Error): void => { cleanup(); decoder?.destroy(); reject(new GatewayError('client_closed', 'the client went away while sending', { cause: err })); };
    // 'close' too: a request that ends without 'end', 'aborted' or 'error' (see clientError)
    // would otherwise hold its slot under maxConcurrentRequests until the idle timer.
    const onAborted = (): void => { if (req.complete && decoder !== undefined) return; cleanup(); decoder?.destroy(); reject(new GatewayError('client_closed', 'the client went away while sending')); };
    const cleanup = (): void => {
      clearTimeout(idle);
      clearTimeout(total);
      req.off('data', onData); req.off('end', onEnd); req.off('error', onError); req.off('aborted', onAborted); req.off('close', onAborted);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('aborted', onAborted);
    req.on('close', onAborted);
  });
}

/** bodyRefusal is the answer to a body refused from its headers alone (413 by Content-Length, 415 for its coding), if any. */
export function bodyRefusal(req: IncomingMessage, limit: number): GatewayError | undefined {
  try {
    bodyCoding(req.headers['content-encoding']);
  } catch (err) {
    return err as GatewayError;
  }
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) {
    return new GatewayError('payload_too_large', `request body of ${declared} bytes exceeds the limit of ${limit} bytes`);
  }
  return undefined;
}
