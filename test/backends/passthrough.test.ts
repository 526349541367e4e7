// passthrough.test.ts — the raw proxy between a real client and a real echo server: hop-by-hop
// and Connection-named headers stripped both ways, x-forwarded-* set, paths kept exactly, large
// bodies streamed (not buffered), upstream down / hung / cut handled without a crash, and every
// failure before the answer started handed to the caller's fail (written here as the server does).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, request, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { createRawProxy, passthrough, type RawProxy } from '../../src/backends/passthrough.ts';
import { closeClients } from '../../src/backends/shared/client.ts';
import { GatewayError } from '../../src/errors.ts';
import { silentLogger } from '../../src/observe/log.ts';
import { writeError } from '../../src/server/reply.ts';
import { freePort } from '../support/ports.ts';

const servers: Server[] = [];
after(async () => {
  await closeClients();
  for (const s of servers) s.closeAllConnections();
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
});

async function listen(server: Server): Promise<string> {
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** failAsJson is the fail a raw route gets: the error written as the server's JSON answer. */
const failAsJson = (res: ServerResponse) => (err: unknown): void => { writeError(res, err); };

/** gatewayFor puts a proxy behind a plain server, as the router would call it. */
function gatewayFor(proxy: RawProxy): Promise<string> {
  return listen(createServer((req, res) => {
    res.setHeader('x-request-id', 'req-123');
    proxy(req, res, req.url ?? '/', failAsJson(res));
  }));
}

/** viaPath puts a proxy behind a plain server that hands it a fixed path, whatever the client asked. */
function viaPath(proxy: RawProxy, path: string): Promise<string> {
  return listen(createServer((req, res) => proxy(req, res, path, failAsJson(res))));
}

interface Reply { status: number; headers: IncomingHttpHeaders; body: Buffer }

function send(url: string, options: { method?: string; path?: string; headers?: Record<string, string>; body?: Readable | Buffer } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = request({ host: u.hostname, port: u.port, method: options.method ?? 'GET', path: options.path ?? '/', headers: options.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (options.body instanceof Readable) options.body.pipe(req);
    else req.end(options.body);
  });
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

function bytes(n: number, seed = 7): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

// Upstream: /echo answers what it received; /big streams BIG bytes; /hold sends a first chunk and
// ends only when /release is called; /cut sends headers and drops the socket; /hang never answers.
const BIG = 8 * 1024 * 1024;
let releaseHold: (() => void) | undefined;
let upstream = '';
let gateway = '';

before(async () => {
  upstream = await listen(createServer((req: IncomingMessage, res) => {
    const path = req.url ?? '/';
    if (path.startsWith('/big')) {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.end(bytes(BIG, 3));
      return;
    }
    if (path === '/hold') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('first chunk;');
      releaseHold = () => res.end('last chunk');
      return;
    }
    if (path === '/release') {
      releaseHold?.();
      res.end('released');
      return;
    }
    if (path === '/cut') {
      res.writeHead(200, { 'content-length': '1000' });
      res.write('partial');
      setTimeout(() => req.socket.destroy(), 20);
      return;
    }
    if (path === '/hang') return;
    const hash = createHash('sha256');
    let length = 0;
    req.on('data', (c: Buffer) => { hash.update(c); length += c.length; });
    req.on('end', () => {
      const body = JSON.stringify({ method: req.method, url: path, headers: req.headers, length, sha256: hash.digest('hex') });
      res.writeHead(200, {
        'content-type': 'application/json',
        'x-kept': 'yes',
        'x-upstream-hop': 'secret',
        'keep-alive': 'timeout=99',
        'connection': 'keep-alive, x-upstream-hop',
        'set-cookie': ['a=1', 'b=2'],
        'proxy-authenticate': 'Basic',
      });
      res.end(body);
    });
  }));
  gateway = await gatewayFor(createRawProxy(upstream, silentLogger, { timeoutMs: 500 }));
});

describe('createRawProxy', () => {
  test('strips hop-by-hop and Connection-named headers both ways, never forwards Upgrade, sets x-forwarded-*', async () => {
    const res = await send(gateway, {
      method: 'POST', path: '/echo?x=1',
      headers: {
        connection: 'close, X-Hop-Named', 'x-hop-named': 'drop me', 'keep-alive': 'timeout=5', 'proxy-connection': 'keep-alive',
        te: 'trailers', upgrade: 'websocket', 'proxy-authorization': 'Basic c2VjcmV0', 'x-custom': 'kept',
        traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', host: 'client.example:8080',
        'content-type': 'application/json',
      },
      body: Buffer.from('{"instances":[1]}'),
    });
    assert.equal(res.status, 200);
    const echo = JSON.parse(res.body.toString()) as { method: string; url: string; headers: IncomingHttpHeaders; length: number };
    for (const h of ['x-hop-named', 'keep-alive', 'proxy-connection', 'te', 'upgrade', 'proxy-authorization']) {
      assert.equal(echo.headers[h], undefined, `${h} must not reach the upstream`);
    }
    assert.notEqual(echo.headers.connection, 'close, X-Hop-Named');
    assert.equal(echo.headers['x-custom'], 'kept');
    assert.equal(echo.headers.traceparent, '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
    assert.equal(echo.headers['x-forwarded-for'], '127.0.0.1');
    assert.equal(echo.headers['x-forwarded-proto'], 'http');
    assert.equal(echo.headers['x-forwarded-host'], 'client.example:8080');
    assert.equal(echo.headers.host, new URL(upstream).host);
    assert.equal(echo.headers['x-request-id'], 'req-123');
    assert.equal(echo.method, 'POST');
    assert.equal(echo.url, '/echo?x=1');
    assert.equal(echo.length, 17);
    // Response side.
    assert.equal(res.headers['x-kept'], 'yes');
    assert.deepEqual(res.headers['set-cookie'], ['a=1', 'b=2']);
    assert.equal(res.headers['x-upstream-hop'], undefined);
    assert.equal(res.headers['proxy-authenticate'], undefined);
    assert.notEqual(res.headers['keep-alive'], 'timeout=99');
    assert.equal(res.headers['x-request-id'], 'req-123');
  });

  test('appends to a load balancer\'s x-forwarded-for and keeps its proto and host', async () => {
    const res = await send(gateway, {
      path: '/echo', headers: { 'x-forwarded-for': '203.0.113.9', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'api.example' },
    });
    const echo = JSON.parse(res.body.toString()) as { headers: IncomingHttpHeaders };
    assert.equal(echo.headers['x-forwarded-for'], '203.0.113.9, 127.0.0.1');
    assert.equal(echo.headers['x-forwarded-proto'], 'https');
    assert.equal(echo.headers['x-forwarded-host'], 'api.example');
  });

  test('the upstream URL is the origin plus the path, even for paths that look like hosts', async () => {
    const viaRaw = (path: string): Promise<Reply> => new Promise((resolve, reject) => {
      // The router hands the path to the proxy; call it with a path unlike req.url.
      void viaPath(proxy, path).then((url) => send(url, { path: '/ignored' })).then(resolve, reject);
    });
    const proxy = createRawProxy(upstream, silentLogger);
    const echoed = async (path: string): Promise<string> => {
      const res = await viaRaw(path);
      assert.equal(res.status, 200, `status for ${path}`);
      return (JSON.parse(res.body.toString()) as { url: string }).url;
    };
    assert.equal(await echoed('//evil.example/echo'), '//evil.example/echo');
    assert.equal(await echoed('/echo/a?q=%2F&r=1'), '/echo/a?q=%2F&r=1');
    const withBase = createRawProxy(`${upstream}/base/`, silentLogger);
    const baseUrl = await viaPath(withBase, '/echo?x=1');
    const res = await send(baseUrl, { path: '/anything' });
    assert.equal((JSON.parse(res.body.toString()) as { url: string }).url, '/base/echo?x=1');
  });

  test('a path that is not absolute is refused with 400 JSON', async () => {
    for (const path of ['http://evil.example/', 'echo', '/a b', '/a\r\nx: y', '']) {
      const url = await viaPath(createRawProxy(upstream, silentLogger), path);
      const res = await send(url);
      assert.equal(res.status, 400, JSON.stringify(path));
      assert.deepEqual(JSON.parse(res.body.toString()), { error: 'the request path is not a valid absolute path', code: 'bad_request' });
    }
  });

  test('streams a large request body up and a large response down', async () => {
    const up = bytes(BIG);
    const res = await send(gateway, { method: 'PUT', path: '/echo', body: Readable.from([up.subarray(0, BIG / 2), up.subarray(BIG / 2)]) });
    const echo = JSON.parse(res.body.toString()) as { length: number; sha256: string; headers: IncomingHttpHeaders };
    assert.equal(echo.length, BIG);
    assert.equal(echo.sha256, sha(up));
    const down = await send(gateway, { path: '/big' });
    assert.equal(down.status, 200);
    assert.equal(down.body.length, BIG);
    assert.equal(sha(down.body), sha(bytes(BIG, 3)));
  });

  test('a body of declared length up to 64 KiB goes upstream once it is whole; a larger one streams as it comes', async () => {
    // An upstream that says when a request's head arrived, and echoes the body's length and hash.
    const heads: string[] = [];
    const watched = await listen(createServer((req, res) => {
      heads.push(req.url ?? '');
      const hash = createHash('sha256');
      let length = 0;
      req.on('data', (c: Buffer) => { hash.update(c); length += c.length; });
      req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ length, sha256: hash.digest('hex') })));
    }));
    const proxied = await gatewayFor(createRawProxy(watched, silentLogger));
    // Half the body, a pause, then the rest; `during` says what the upstream had seen in the pause.
    const halves = async (path: string, size: number): Promise<{ during: string[]; echo: { length: number; sha256: string } }> => {
      const body = bytes(size, 11);
      const u = new URL(proxied);
      return new Promise((resolve, reject) => {
        const req = request({ host: u.hostname, port: u.port, method: 'POST', path, agent: false, headers: { 'content-length': String(size) } }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ during, echo: JSON.parse(Buffer.concat(chunks).toString()) as { length: number; sha256: string } }));
        });
        let during: string[] = [];
        req.on('error', reject);
        req.write(body.subarray(0, size / 2));
        setTimeout(() => {
          during = [...heads];
          req.end(body.subarray(size / 2));
        }, 200);
      });
    };
    const small = await halves('/small', 2000);
    assert.deepEqual(small.during, []);
    assert.deepEqual(small.echo, { length: 2000, sha256: sha(bytes(2000, 11)) });
    const large = await halves('/large', 1024 * 1024);
    assert.deepEqual(large.during, ['/small', '/large']);
    assert.deepEqual(large.echo, { length: 1024 * 1024, sha256: sha(bytes(1024 * 1024, 11)) });
  });

  test('a client that leaves before its small body is whole: nothing goes upstream, and the proxy keeps serving', async () => {
    const heads: string[] = [];
    const watched = await listen(createServer((req, res) => { heads.push(req.url ?? ''); req.resume(); req.on('end', () => res.end('{}')); }));
    const proxied = await gatewayFor(createRawProxy(watched, silentLogger));
    const u = new URL(proxied);
    await new Promise<void>((resolve) => {
      const req = request({ host: u.hostname, port: u.port, method: 'POST', path: '/gone', agent: false, headers: { 'content-length': '1000' } });
      req.on('error', () => resolve());
      req.write(Buffer.alloc(100));
      setTimeout(() => req.destroy(), 100);
    });
    const after = await send(proxied, { method: 'POST', path: '/next', headers: { 'content-length': '2' }, body: Buffer.from('{}') });
    assert.equal(after.status, 200);
    assert.deepEqual(heads, ['/next']);
  });

  test('passes the first bytes on before the upstream has finished (no buffering)', async () => {
    const first = await new Promise<string>((resolve, reject) => {
      const u = new URL(gateway);
      const req = request({ host: u.hostname, port: u.port, path: '/hold', agent: false }, (res) => {
        res.once('data', (c: Buffer) => {
          resolve(c.toString());
          res.resume();
        });
      });
      req.on('error', reject);
      req.end();
    });
    // If the proxy buffered, the first chunk would only arrive after /release.
    assert.equal(first, 'first chunk;');
    await send(upstream, { path: '/release' });
  });

  test('upstream down → 502 JSON backend_unreachable with Retry-After, and the process keeps serving', async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    const url = await gatewayFor(createRawProxy(dead, silentLogger));
    const res = await send(url, { method: 'POST', path: '/predict', body: Buffer.from('{}') });
    assert.equal(res.status, 502);
    assert.equal(res.headers['content-type'], 'application/json');
    assert.equal(res.headers['retry-after'], '1');
    const body = JSON.parse(res.body.toString()) as { error: string; code: string };
    assert.equal(body.code, 'backend_unreachable');
    assert.match(body.error, /ECONNREFUSED/);
    assert.equal((await send(gateway, { path: '/echo' })).status, 200);
  });

  test('an upstream that sends nothing within timeoutMs → 504 JSON, though the shared pool waits far longer', async () => {
    const started = performance.now();
    const res = await send(gateway, { path: '/hang' });
    assert.equal(res.status, 504);
    assert.equal((JSON.parse(res.body.toString()) as { code: string }).code, 'deadline_exceeded');
    // The origin's pool waits 60 s for headers; the raw proxy's 500 ms is set per request.
    assert.ok(performance.now() - started < 5000, 'the raw timeout applied, not the pool\'s');
  });

  test('a failure before the answer started goes to fail, and the proxy writes nothing itself', async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    const proxy = createRawProxy(dead, silentLogger);
    const failed: unknown[] = [];
    let path = '/x';
    const url = await listen(createServer((req, res) => proxy(req, res, path, (err) => {
      failed.push(err);
      res.writeHead(418, { 'content-type': 'text/plain' });
      res.end('answered by the caller');
    })));
    const res = await send(url);
    assert.equal(res.status, 418);
    assert.equal(res.body.toString(), 'answered by the caller');
    assert.equal(failed.length, 1);
    assert.ok(failed[0] instanceof GatewayError && failed[0].code === 'backend_unreachable', String(failed[0]));
    path = 'no-slash';
    const bad = await send(url);
    assert.equal(bad.status, 418);
    assert.ok(failed[1] instanceof GatewayError && failed[1].code === 'bad_request');
  });

  test('upstream header bytes: Latin-1 passes byte for byte; a control character is a 502 JSON naming it, not a crash', async () => {
    // A raw upstream writes exactly these bytes, which no well-behaved server library would.
    let bad = false;
    const raw = createTcpServer((socket) => {
      socket.once('data', () => {
        const extra = bad ? 'x-bad: a\x01b\r\n' : '';
        socket.end(`HTTP/1.1 200 OK\r\nx-latin: caf\xc3\xa9 \xe2\x82\xac\r\n${extra}content-length: 2\r\n\r\nok`, 'latin1');
      });
    });
    await new Promise<void>((r) => raw.listen(0, '127.0.0.1', r));
    try {
      const url = await gatewayFor(createRawProxy(`http://127.0.0.1:${(raw.address() as AddressInfo).port}`, silentLogger));
      const good = await send(url, { path: '/x' });
      assert.equal(good.status, 200);
      assert.equal(Buffer.from(good.headers['x-latin'] as string, 'latin1').toString('utf8'), 'café €');
      assert.equal(good.body.toString(), 'ok');
      bad = true;
      const refused = await send(url, { path: '/x' });
      assert.equal(refused.status, 502);
      const body = JSON.parse(refused.body.toString()) as { error: string; code: string };
      assert.equal(body.code, 'backend_bad_reply');
      assert.match(body.error, /header value char/i);
      assert.equal((await send(gateway, { path: '/echo' })).status, 200);
    } finally {
      raw.close();
    }
  });

  test('an upstream that drops the connection mid-answer cuts the client stream, and nothing crashes', async () => {
    await assert.rejects(send(gateway, { path: '/cut' }), /aborted|socket hang up|ECONNRESET/);
    assert.equal((await send(gateway, { path: '/echo' })).status, 200);
  });
});

describe('passthrough backend', () => {
  test('schema, proxy, health by TCP connect and by healthPath, and no model calls', async () => {
    const config = passthrough.schema.parse({ type: 'passthrough', url: upstream });
    assert.equal(config.timeoutMs, 60_000);
    assert.equal(passthrough.schema.safeParse({ type: 'passthrough', url: 'ftp://x' }).success, false);
    assert.equal(passthrough.schema.safeParse({ type: 'passthrough', url: upstream, extra: 1 }).success, false);
    const backend = passthrough.create('raw', config, { log: silentLogger });
    assert.deepEqual(await backend.health(), { ready: true });
    const url = await gatewayFor(backend.proxy!.bind(backend));
    assert.equal((await send(url, { path: '/echo' })).status, 200);
    // Its pool is the origin's shared one: closing the backend leaves it to the other proxies.
    await backend.close();
    assert.equal((await send(gateway, { path: '/echo' })).status, 200);
    await assert.rejects(backend.model('m').infer({ instances: [1] }, {} as never), (err: unknown) =>
      err instanceof GatewayError && err.code === 'bad_request' && /passthrough/.test(err.message));

    const down = passthrough.create('raw', passthrough.schema.parse({ type: 'passthrough', url: `http://127.0.0.1:${await freePort()}` }), { log: silentLogger });
    const h = await down.health();
    assert.equal(h.ready, false);
    assert.match(h.reason ?? '', /ECONNREFUSED/);
    const withPath = passthrough.create('raw', passthrough.schema.parse({ type: 'passthrough', url: upstream, healthPath: '/hang' }), { log: silentLogger });
    assert.equal((await withPath.health(AbortSignal.timeout(200))).ready, false);
    const ok = passthrough.create('raw', passthrough.schema.parse({ type: 'passthrough', url: upstream, healthPath: '/echo' }), { log: silentLogger });
    assert.deepEqual(await ok.health(), { ready: true });
  });
});
