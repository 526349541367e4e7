// link.test.ts — ServerLink against real servers on 127.0.0.1: the request as the server sees
// it, the byte caps (declared or streamed), transport failures and aborts as GatewayErrors,
// what counts against a URL for outlier detection, probes over several URLs; and the shared
// status mapping every backend that calls URLs gives its clients.

import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { z } from 'zod';
import type { Dispatcher } from 'undici';
import { ByteBudget } from '../../../src/backends/shared/budget.ts';
import { closeClients } from '../../../src/backends/shared/client.ts';
import {
  errorBodyBytes, errorText, headerOf, oneOfUrl, readCapped, retryAfterOf, serverFields, ServerLink, statusError, type ServerAnswer,
} from '../../../src/backends/shared/link.ts';
import { GatewayError } from '../../../src/errors.ts';
import { silentLogger } from '../../../src/observe/log.ts';
import type { CallContext } from '../../../src/types.ts';
import { freePort } from '../../support/ports.ts';

interface Seen { method: string; url: string; headers: IncomingHttpHeaders; body: string }
const seen: Seen[] = [];
const servers: Server[] = [];
let good = '';
let sick = '';

// The path picks the answer: /echo records the request, /big* are oversized, /hang never answers.
function serve(res: ServerResponse, path: string): void {
  const json = (status: number, body: unknown, headers: Record<string, string> = {}): void => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)), ...headers });
    res.end(text);
  };
  // A second URL on the same server: /other/x answers as /x.
  switch (path.split('?')[0]!.replace(/^\/other\//, '/')) {
    case '/base/echo': return json(200, { ok: true }, { 'x-answer': 'yes' });
    case '/bigDeclared': return json(200, { data: 'x'.repeat(4096) });
    case '/bigChunked': {
      res.writeHead(200, { 'content-type': 'application/json' });
      for (let i = 0; i < 8; i++) res.write('x'.repeat(1024));
      return void res.end();
    }
    case '/bigError': {
      res.writeHead(500, { 'content-type': 'text/plain' });
      for (let i = 0; i < 100; i++) res.write('e'.repeat(1024));
      return void res.end();
    }
    case '/garbage': return void res.writeHead(200, { 'content-type': 'text/html' }).end('<html>');
    case '/e500': return json(500, { error: 'boom' });
    case '/health': return json(200, {});
    case '/hang': return;
    default: return json(404, { error: `no route ${path}` });
  }
}

async function listen(handler: (res: ServerResponse, path: string) => void): Promise<string> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body: Buffer.concat(chunks).toString() });
      handler(res, req.url ?? '/');
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

before(async () => {
  good = await listen(serve);
  sick = await listen((res) => { res.writeHead(503, { 'content-type': 'application/json' }); res.end('{"error": "warming up"}'); });
});
after(async () => {
  await closeClients();
  for (const s of servers) s.closeAllConnections();
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
});

function link(config: { url?: string; urls?: string[]; maxResponseBytes?: number; outlierDetection?: Record<string, unknown> }): ServerLink {
  return new ServerLink('srv', { connectTimeoutMs: 1000, maxResponseBytes: config.maxResponseBytes ?? 1 << 20, ...config }, silentLogger);
}

function context(signal: AbortSignal = AbortSignal.timeout(5000)): CallContext {
  return { requestId: 'r1', signal, deadline: Infinity, headers: {}, log: silentLogger, model: 'm', forward: { 'x-request-id': 'r1', traceparent: 'tp' } };
}

async function rejectsWith(p: Promise<unknown>, code: string, message?: RegExp): Promise<GatewayError> {
  let caught: unknown;
  await assert.rejects(p, (err: unknown) => { caught = err; return true; });
  assert.ok(caught instanceof GatewayError, String(caught));
  assert.equal(caught.code, code, caught.message);
  if (message !== undefined) assert.match(caught.message, message);
  return caught;
}

describe('ServerLink.send', () => {
  it('sends to the URL\'s base path with the call\'s forwarded headers and the body, and returns the whole answer', async () => {
    const answer = await link({ url: `${good}/base/` }).send({
      method: 'POST', path: '/echo?q=1', body: '{"a":1}', headers: { 'content-type': 'application/json' }, ctx: context(),
    });
    assert.equal(answer.status, 200);
    assert.equal(headerOf(answer, 'x-answer'), 'yes');
    assert.deepEqual(JSON.parse(answer.body.toString()), { ok: true });
    const last = seen.at(-1)!;
    assert.equal(last.method, 'POST');
    assert.equal(last.url, '/base/echo?q=1');
    assert.equal(last.body, '{"a":1}');
    assert.equal(last.headers['x-request-id'], 'r1');
    assert.equal(last.headers.traceparent, 'tp');
    assert.equal(last.headers['content-type'], 'application/json');
  });

  it('a failed answer comes back as an answer, for the backend to map', async () => {
    const answer = await link({ url: good }).send({ method: 'GET', path: '/e500' });
    assert.equal(answer.status, 500);
    assert.equal(errorText(answer.body), 'boom');
  });

  it('refuses an answer over maxResponseBytes, declared or streamed, with 502 backend_bad_reply', async () => {
    const small = link({ url: good, maxResponseBytes: 1024 });
    await rejectsWith(small.send({ method: 'GET', path: '/bigDeclared' }), 'backend_bad_reply', /answer of \d+ bytes exceeds maxResponseBytes \(1024\)/);
    await rejectsWith(small.send({ method: 'GET', path: '/bigChunked' }), 'backend_bad_reply', /answer exceeds maxResponseBytes \(1024\)/);
    assert.equal((await link({ url: good }).send({ method: 'GET', path: '/bigChunked' })).body.length, 8192);
  });

  it('cuts an error body at 64 KiB instead of refusing it: it is only read for its message', async () => {
    const answer = await link({ url: good }).send({ method: 'GET', path: '/bigError' });
    assert.equal(answer.status, 500);
    assert.ok(answer.body.length <= errorBodyBytes, `read ${answer.body.length} bytes`);
  });

  it('a refused connection is 502 backend_unreachable naming the backend and URL', async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    await rejectsWith(link({ url: dead }).send({ method: 'GET', path: '/x' }), 'backend_unreachable', /backend "srv" \(http:\/\/127\.0\.0\.1:\d+\) is unreachable \(ECONNREFUSED\)/);
  });

  it('an aborted call rejects with the abort reason (the deadline), not a transport error', async () => {
    const controller = new AbortController();
    const p = link({ url: good }).send({ method: 'GET', path: '/hang', ctx: context(controller.signal) });
    setTimeout(() => controller.abort(new GatewayError('deadline_exceeded', 'no answer within 50 ms')), 50);
    await rejectsWith(p, 'deadline_exceeded', /no answer within 50 ms/);
  });
});

describe('ServerLink outlier detection', () => {
  const outlierDetection = { consecutive5xx: 1, maxEjectionPercent: 50 };

  it('send counts 5xx answers against a URL, not a malformed 200', async () => {
    const l = link({ urls: [good, `${good}/other`], outlierDetection });
    // Both URLs share an origin, but outlier detection is per configured URL.
    await l.send({ method: 'GET', path: '/garbage' });
    assert.deepEqual(Object.values(l.endpoints()).map((e) => e.ejected), [false, false]);
    await l.send({ method: 'GET', path: '/e500' });
    assert.equal(Object.values(l.endpoints()).filter((e) => e.ejected).length, 1);
  });

  it('exchange counts what read throws: the backend\'s bad reply ejects, the client\'s mistake does not', async () => {
    const l = link({ urls: [good, `${good}/other`], outlierDetection });
    const clientMistake = l.exchange({ method: 'GET', path: '/garbage' }, () => { throw new GatewayError('bad_request', 'your fault'); });
    await rejectsWith(clientMistake, 'bad_request');
    assert.equal(Object.values(l.endpoints()).filter((e) => e.ejected).length, 0);
    const badReply = l.exchange({ method: 'GET', path: '/garbage' }, () => { throw new GatewayError('backend_bad_reply', 'not JSON'); });
    await rejectsWith(badReply, 'backend_bad_reply');
    assert.equal(Object.values(l.endpoints()).filter((e) => e.ejected).length, 1);
    assert.equal(await l.exchange({ method: 'GET', path: '/garbage' }, (a: ServerAnswer) => a.body.toString()), '<html>');
  });

  it('lease holds a URL in flight until released', () => {
    const l = link({ urls: [good, sick] });
    const lease = l.lease();
    assert.equal(l.endpoints()[lease.url]!.inFlight, 1);
    lease.release();
    assert.equal(l.endpoints()[lease.url]!.inFlight, 0);
  });
});

describe('ServerLink.probe', () => {
  const down = (a: ServerAnswer): string | undefined => a.status === 200 ? undefined : `/health answered ${a.status}`;

  it('one URL: ready on a healthy answer, else the reason without the URL', async () => {
    assert.deepEqual(await link({ url: good }).probe('/health', down), { ready: true });
    assert.deepEqual(await link({ url: sick }).probe('/health', down), { ready: false, reason: 'backend "srv": /health answered 503' });
  });

  it('several URLs: ready while any answers; not ready names each URL\'s reason; a failing URL is ejected', async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    const mixed = link({ urls: [good, sick, dead], outlierDetection: { maxEjectionPercent: 100 } });
    assert.deepEqual(await mixed.probe('/health', down), { ready: true });
    assert.deepEqual(mixed.endpoints()[sick], { inFlight: 0, ejected: true });
    const h = await link({ urls: [sick, dead] }).probe('/health', down);
    assert.equal(h.ready, false);
    assert.match(h.reason!, new RegExp(`^backend "srv": ${sick}: /health answered 503; ${dead}: .*ECONNREFUSED`));
  });
});

describe('readCapped', () => {
  // A stand-in for undici's answer that shows which read it took.
  const answer = (headers: Record<string, string>, chunks: Buffer[], statusCode = 200) => {
    const used: string[] = [];
    const res = {
      statusCode, headers,
      body: {
        bytes: async () => { used.push('bytes'); return new Uint8Array(Buffer.concat(chunks)); },
        once() { return this; },
        destroy: () => { used.push('destroy'); },
        async *[Symbol.asyncIterator]() { used.push('stream'); yield* chunks; },
      },
    } as unknown as Dispatcher.ResponseData;
    return { res, used };
  };

  it('takes a declared length within the cap in one piece, and streams an undeclared one', async () => {
    const declared = answer({ 'content-length': '6' }, [Buffer.from('abc'), Buffer.from('def')]);
    assert.equal((await readCapped(declared.res, 10, 'b')).toString(), 'abcdef');
    assert.deepEqual(declared.used, ['bytes']);
    const streamed = answer({}, [Buffer.from('abc'), Buffer.from('def')]);
    assert.equal((await readCapped(streamed.res, 10, 'b')).toString(), 'abcdef');
    assert.deepEqual(streamed.used, ['stream']);
  });

  it('refuses a declared length over the cap without reading the body', async () => {
    const over = answer({ 'content-length': '11' }, [Buffer.alloc(11)]);
    await rejectsWith(readCapped(over.res, 10, 'backend "b"'), 'backend_bad_reply', /backend "b" answer of 11 bytes exceeds maxResponseBytes \(10\)/);
    assert.deepEqual(over.used, ['destroy']);
  });

  it('caps a 2xx at the call\'s limit when smaller (413 response_too_large), the backend\'s otherwise (502)', async () => {
    const declared = answer({ 'content-length': '8' }, [Buffer.alloc(8)]);
    await rejectsWith(readCapped(declared.res, 10, 'b', { callMax: 5 }), 'response_too_large', /maxResponseBytes \(5\)/);
    assert.deepEqual(declared.used, ['destroy']);
    const streamed = answer({}, [Buffer.alloc(4), Buffer.alloc(4)]);
    await rejectsWith(readCapped(streamed.res, 10, 'b', { callMax: 5 }), 'response_too_large', /maxResponseBytes \(5\)/);
    const backendCap = answer({}, [Buffer.alloc(4), Buffer.alloc(4)]);
    await rejectsWith(readCapped(backendCap.res, 6, 'b', { callMax: 50 }), 'backend_bad_reply', /maxResponseBytes \(6\)/);
    // An error answer is cut at the backend's error cap, whatever the call's limit.
    const failed = answer({}, [Buffer.from('{"error":"x"}')], 500);
    assert.equal((await readCapped(failed.res, 64, 'b', { callMax: 2 })).toString(), '{"error":"x"}');
  });

  it('takes the bytes it reads from the budget, and refuses with 503 buffers_full when they do not fit', async () => {
    const budget = new ByteBudget(10, 20);
    const held = { bytes: 0 };
    assert.equal((await readCapped(answer({}, [Buffer.alloc(3), Buffer.alloc(3)]).res, 100, 'b', { budget, held })).length, 6);
    assert.deepEqual([held.bytes, budget.used], [6, 6]);
    const big = answer({ 'content-length': '5' }, [Buffer.alloc(5)]);
    await rejectsWith(readCapped(big.res, 100, 'b', { budget, held: { bytes: 0 } }), 'buffers_full', /server\.maxBufferedBytes 10/);
    assert.deepEqual(big.used, ['destroy']);
    budget.give(held.bytes);
    assert.equal(budget.used, 0);
  });
});

describe('statusError and the shared helpers', () => {
  const a = (status: number, body: unknown, headers: Record<string, string> = {}): ServerAnswer =>
    ({ status, headers, body: Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)) });

  it('maps a failed answer: 429 backend_overloaded, 503 backend_unavailable, 4xx kept, 5xx → 502', () => {
    const overloaded = statusError(a(429, { error: 'slow down' }, { 'retry-after': '7' }), 'backend "b"');
    assert.deepEqual([overloaded.code, overloaded.status, overloaded.message, overloaded.retryAfter], ['backend_overloaded', 429, 'slow down', 7]);
    const unavailable = statusError(a(503, { error: 'warming up' }), 'backend "b"');
    assert.deepEqual([unavailable.code, unavailable.status, unavailable.message], ['backend_unavailable', 503, 'backend "b" is unavailable (503): warming up']);
    const mistake = statusError(a(422, { message: 'bad feature' }), 'backend "b"');
    assert.deepEqual([mistake.code, mistake.status, mistake.message], ['bad_request', 422, 'bad feature']);
    assert.equal(statusError(a(404, 'nope'), 'backend "b"').code, 'not_found');
    assert.equal(statusError(a(413, '{}'), 'backend "b"').code, 'payload_too_large');
    const failed = statusError(a(500, '<html>'), 'backend "b"');
    assert.deepEqual([failed.code, failed.status, failed.message], ['backend_error', 502, 'backend "b" failed with 500']);
  });

  it('errorText reads error or message and clips it; retryAfterOf ignores what is not a positive number', () => {
    assert.equal(errorText(Buffer.from('{"error": "e", "message": "m"}')), 'e');
    assert.equal(errorText(Buffer.from('{"message": "m"}')), 'm');
    assert.equal(errorText(Buffer.from('{"error": {"message": "no such model", "type": "invalid_request_error"}}')), 'no such model');
    assert.equal(errorText(Buffer.from('not json')), undefined);
    assert.equal(errorText(Buffer.from(JSON.stringify({ error: 'x'.repeat(600) })))!.length, 501);
    assert.deepEqual(retryAfterOf(a(429, '', { 'retry-after': 'soon' })), {});
    assert.deepEqual(retryAfterOf(a(429, '', { 'retry-after': '0' })), {});
  });

  it('serverFields with oneOfUrl: exactly one of url and urls, http(s) only, defaults', () => {
    const schema = z.strictObject(serverFields).superRefine(oneOfUrl);
    const c = schema.parse({ url: 'http://127.0.0.1:8000' });
    assert.equal(c.connectTimeoutMs, 5000);
    assert.equal(c.maxResponseBytes, 64 * 1024 * 1024);
    assert.equal(schema.safeParse({}).success, false);
    assert.equal(schema.safeParse({ url: 'http://a:1', urls: ['http://b:1'] }).success, false);
    assert.equal(schema.safeParse({ url: 'ftp://a:1' }).success, false);
    assert.equal(schema.safeParse({ urls: ['http://a:1', 'https://b:2'] }).success, true);
  });
});
