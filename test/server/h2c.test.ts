// h2c through the real gateway process: HTTP/2 cleartext by prior knowledge (node:http2) and by
// Upgrade: h2c (spoken by hand, since node:http2 has no client side of it), beside HTTP/1.1 on
// the same port, with HTTP/1.1's limits and JSON error bodies.

import assert from 'node:assert/strict';
import { connect, type ClientHttp2Session, type IncomingHttpHeaders } from 'node:http2';
import { after, before, describe, it } from 'node:test';
import { startGateway, type RunningGateway } from '../support/gateway.ts';
import { startRawBackend } from '../support/raw-backend.ts';
import { code, dataOf, flag, frame, goawayOf, headerBlock, openRaw, requestHeaders, type } from '../support/h2-frames.ts';

const config = `
version: h2c-test
server: { h2c: true, http2MaxConcurrentStreams: 7, maxBodyBytes: 1kb, maxHeaders: 20, bodyIdleTimeoutMs: 300ms }
frontends:
  vertex: { model: iris, predictRoute: /predict, healthRoute: /health }
  kserve: {}
backends:
  local: { type: onnx, modelRepository: backends/onnx, executionProviders: [cpu] }
models:
  iris: { targets: [ { backend: local } ] }
`;
const instances = JSON.stringify({ instances: [[5.1, 3.5, 1.4, 0.2]] });

let gw: RunningGateway;
let session: ClientHttp2Session;
before(async () => {
  gw = await startGateway(config);
  session = connect(gw.url);
  await new Promise<void>((resolve) => session.once('remoteSettings', () => resolve()));
});
after(async () => {
  session.close();
  await gw.stop();
});

interface H2Answer { status: number; headers: IncomingHttpHeaders; body: string }

// resetCode gives the RST_STREAM code a stream closed with (0 when it was answered).
function resetCode(stream: ReturnType<ClientHttp2Session['request']>): Promise<number> {
  stream.on('error', () => undefined);
  stream.resume();
  return new Promise((resolve) => stream.once('close', () => resolve(stream.rstCode ?? 0)));
}

function request(headers: Record<string, string>, body?: string | Buffer, s = session): Promise<H2Answer> {
  return new Promise((resolve, reject) => {
    const stream = s.request(headers);
    let text = '';
    let head: IncomingHttpHeaders = {};
    stream.on('response', (h) => { head = h; });
    stream.on('data', (c: Buffer) => { text += c.toString(); });
    stream.on('end', () => resolve({ status: Number(head[':status']), headers: head, body: text }));
    stream.on('error', reject);
    stream.end(body);
  });
}

describe('h2c by prior knowledge', () => {
  it('answers a prediction, with the request id, and many streams at once on one connection', async () => {
    const answers = await Promise.all(Array.from({ length: 5 }, () =>
      request({ ':method': 'POST', ':path': '/predict', 'content-type': 'application/json' }, instances)));
    for (const a of answers) {
      assert.equal(a.status, 200);
      assert.equal((JSON.parse(a.body) as { predictions: Array<{ label: number }> }).predictions[0]!.label, 0);
      assert.match(String(a.headers['x-request-id']), /^[0-9a-f-]{36}$/);
    }
  });

  it('advertises the stream limit from the config', () => {
    assert.equal(session.remoteSettings.maxConcurrentStreams, 7);
  });

  it('answers errors with the JSON body and status HTTP/1.1 gives', async () => {
    const missing = await request({ ':method': 'GET', ':path': '/nowhere' });
    assert.equal(missing.status, 404);
    assert.equal(JSON.parse(missing.body).code, 'not_found');
    const method = await request({ ':method': 'DELETE', ':path': '/predict' });
    assert.equal(method.status, 405);
    assert.equal(JSON.parse(method.body).code, 'method_not_allowed');
    const bad = await request({ ':method': 'POST', ':path': '/predict', 'content-type': 'application/json' }, '{"instances": [[1,2');
    assert.equal(bad.status, 400);
  });

  it('refuses a body over maxBodyBytes with 413, declared or streamed, and the connection lives on', async () => {
    const big = Buffer.alloc(4096, 0x20);
    const declared = await request({ ':method': 'POST', ':path': '/predict', 'content-type': 'application/json', 'content-length': String(big.length) }, big);
    assert.equal(declared.status, 413);
    assert.equal(JSON.parse(declared.body).code, 'payload_too_large');
    const streamed = await request({ ':method': 'POST', ':path': '/predict', 'content-type': 'application/json' }, big);
    assert.equal(streamed.status, 413);
    const still = await request({ ':method': 'GET', ':path': '/health' });
    assert.equal(still.status, 200);
  });

  it('answers a request whose body never ends whole (END_STREAM) before resetting its stream', async () => {
    const raw = await openRaw(gw.port);
    raw.send(requestHeaders(1, 'POST', '/nowhere', [['content-type', 'application/json']], false));
    raw.send(frame(type.data, 0, 1, Buffer.from('{"instances": ')));
    await raw.next((f) => f.type === type.data && f.stream === 1 && (f.flags & flag.endStream) !== 0);
    assert.equal(JSON.parse(dataOf(raw.frames, 1)).code, 'not_found');
    const reset = await raw.next((f) => f.type === type.rstStream && f.stream === 1);
    assert.ok(raw.frames.indexOf(reset) > raw.frames.findIndex((f) => f.type === type.data && (f.flags & flag.endStream) !== 0));
    raw.socket.destroy();
  });

  it('refuses more headers than maxHeaders with 431', async () => {
    const many: Record<string, string> = { ':method': 'GET', ':path': '/health' };
    for (let i = 0; i < 25; i++) many[`x-h-${i}`] = 'v';
    const answer = await request(many);
    assert.equal(answer.status, 431);
    assert.equal(JSON.parse(answer.body).code, 'headers_too_large');
  });

  it('answers far-oversized header lists with 431 JSON too (300 fields, a 40 KiB value); past the 64 KiB advertised a Node client\'s stream is refused', async () => {
    const many: Record<string, string> = { ':method': 'GET', ':path': '/health' };
    for (let i = 0; i < 300; i++) many[`x-h-${i}`] = 'v';
    const fields = await request(many);
    assert.equal(fields.status, 431);
    assert.equal(JSON.parse(fields.body).code, 'headers_too_large');
    const bytes = await request({ ':method': 'GET', ':path': '/health', 'x-big': 'a'.repeat(40 * 1024) });
    assert.equal(bytes.status, 431);
    assert.match(JSON.parse(bytes.body).error, /more than 16384/);
    // Past the 64 KiB the server advertises (SETTINGS_MAX_HEADER_LIST_SIZE) a Node client sees its
    // stream refused (REFUSED_STREAM); the gateway serves on.
    assert.equal(session.remoteSettings.maxHeaderListSize, 64 * 1024);
    const own = connect(gw.url);
    try {
      await new Promise((resolve) => own.once('remoteSettings', resolve));
      const wide: Record<string, string> = { ':method': 'GET', ':path': '/health' };
      for (let i = 0; i < 100; i++) wide[`x-h-${i}`] = 'a'.repeat(1024);
      assert.equal(await resetCode(own.request(wide)), 0x7);
    } finally {
      own.close();
    }
    assert.equal((await request({ ':method': 'GET', ':path': '/health' })).status, 200);
  });

  it('past what it decodes there is no request to answer: a client that sends one anyway gets a reset, or a GOAWAY for one field past 64 KiB', async () => {
    const raw = await openRaw(gw.port);
    // Once the client's SETTINGS ACK has reached the server (a PING answered after it), its 64 KiB list size applies.
    await raw.next((f) => f.type === type.settings && (f.flags & flag.ack) === 0);
    raw.send(frame(type.ping, 0, 0, Buffer.alloc(8)));
    await raw.next((f) => f.type === type.ping && (f.flags & flag.ack) !== 0);
    const sendBlock = (stream: number, fields: Array<[string, string]>): void => {
      const block = headerBlock([[':method', 'GET'], [':scheme', 'http'], [':path', '/health'], [':authority', 'x'], ...fields]);
      const parts = Array.from({ length: Math.ceil(block.length / 16_000) }, (_, i) => block.subarray(i * 16_000, (i + 1) * 16_000));
      raw.send(Buffer.concat(parts.map((part, i) => frame(i === 0 ? type.headers : type.continuation,
        (i === 0 ? flag.endStream : 0) | (i === parts.length - 1 ? flag.endHeaders : 0), stream, part))));
    };
    // 100 fields of 1 KiB: Node stops decoding at 64 KiB and resets the stream; the connection serves on.
    sendBlock(1, Array.from({ length: 100 }, (_, i): [string, string] => [`x-h-${i}`, 'a'.repeat(1024)]));
    const reset = await raw.next((f) => f.type === type.rstStream && f.stream === 1);
    assert.equal(reset.payload.readUInt32BE(0), code.enhanceYourCalm);
    sendBlock(3, []);
    await raw.next((f) => f.type === type.data && f.stream === 3 && (f.flags & flag.endStream) !== 0);
    // One field past 64 KiB is past nghttp2's HPACK decoder (NGHTTP2_HD_MAX_NV): a connection error.
    sendBlock(5, [['x-big', 'a'.repeat(80 * 1024)]]);
    assert.equal(goawayOf(await raw.next((f) => f.type === type.goaway)).code, 0x9); // COMPRESSION_ERROR
    raw.socket.destroy();
  });

  it('answers a body that stalls with 408 after bodyIdleTimeoutMs', async () => {
    const answer = await new Promise<H2Answer>((resolve, reject) => {
      const stream = session.request({ ':method': 'POST', ':path': '/predict', 'content-type': 'application/json' });
      let text = '';
      let status = 0;
      stream.on('response', (h) => { status = Number(h[':status']); });
      stream.on('data', (c: Buffer) => { text += c.toString(); });
      stream.on('end', () => resolve({ status, headers: {}, body: text }));
      stream.on('error', reject);
      stream.write('{"instances": ');
    });
    assert.equal(answer.status, 408);
    assert.equal(JSON.parse(answer.body).code, 'request_timeout');
  });

  it('leaves HTTP/1.1 on the same port as it was', async () => {
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${gw.url}/predict`, { method: 'POST', body: instances, headers: { 'content-type': 'application/json' } });
      assert.equal(res.status, 200);
      assert.equal(((await res.json()) as { predictions: unknown[] }).predictions.length, 1);
    }
  });
});

describe('h2c by Upgrade', () => {
  for (const together of [false, true]) {
    it(`switches with 101 and answers the upgrade request on stream 1, then the client's own streams (preface ${together ? 'in the same write' : 'after'})`, async () => {
      const raw = await openRaw(gw.port, 'none');
      const upgrade = Buffer.from('GET /v2/models/iris HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAoAAA\r\n\r\n');
      const h2 = Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), frame(type.settings, 0, 0), requestHeaders(3, 'GET', '/v2/health/live')]);
      if (together) raw.send(Buffer.concat([upgrade, h2]));
      else {
        raw.send(upgrade);
        await untilAnswered(raw);
        raw.send(h2);
      }
      const first = await raw.next((f) => f.type === type.headers && f.stream === 1);
      // HPACK static table entry 8 is ":status: 200", the indexed form every encoder uses for it.
      assert.equal(first.payload[0], 0x88);
      await raw.next((f) => f.type === type.data && f.stream === 1 && (f.flags & flag.endStream) !== 0);
      assert.match(raw.http1(), /^HTTP\/1\.1 101 Switching Protocols\r\n/);
      assert.equal((JSON.parse(dataOf(raw.frames, 1)) as { name: string }).name, 'iris');
      const third = await raw.next((f) => f.type === type.headers && f.stream === 3);
      assert.equal(third.payload[0], 0x88);
      await raw.next((f) => f.type === type.data && f.stream === 3 && (f.flags & flag.endStream) !== 0);
      raw.socket.destroy();
    });
  }

  it('applies HTTP2-Settings to the session: a 16-byte initial window holds stream 1\'s answer at 16 bytes until the client opens it', async () => {
    const raw = await openRaw(gw.port, 'none');
    // SETTINGS_INITIAL_WINDOW_SIZE (0x4) = 16, as HTTP2-Settings only; the client's own SETTINGS frame is empty.
    raw.send(Buffer.from('GET /v2/models/iris HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAQAAAAQ\r\n\r\n'));
    raw.send(Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), frame(type.settings, 0, 0)]));
    await raw.next((f) => f.type === type.data && f.stream === 1);
    await new Promise((r) => setTimeout(r, 300)); // more DATA would have come by now, were the window the default 65,535
    const held = raw.frames.filter((f) => f.type === type.data && f.stream === 1);
    assert.equal(Buffer.concat(held.map((f) => f.payload)).length, 16);
    assert.ok(held.every((f) => (f.flags & flag.endStream) === 0));
    const increment = Buffer.alloc(4);
    increment.writeUInt32BE(65_535);
    raw.send(frame(type.windowUpdate, 0, 1, increment));
    await raw.next((f) => f.type === type.data && f.stream === 1 && (f.flags & flag.endStream) !== 0);
    assert.equal((JSON.parse(dataOf(raw.frames, 1)) as { name: string }).name, 'iris');
    raw.socket.destroy();
  });

  it('checks HTTP2-Settings as any SETTINGS frame: SETTINGS_ENABLE_PUSH = 2 is a connection error (GOAWAY PROTOCOL_ERROR)', async () => {
    const raw = await openRaw(gw.port, 'none');
    raw.send(Buffer.from('GET /v2/models/iris HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAIAAAAC\r\n\r\n'));
    raw.send(Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), frame(type.settings, 0, 0)]));
    const away = await raw.next((f) => f.type === type.goaway);
    assert.equal(goawayOf(away).code, code.protocolError);
    await raw.closed;
  });

  it('serves a request with a body over HTTP/1.1 instead of upgrading it', async () => {
    const raw = await openRaw(gw.port, 'none');
    raw.send(Buffer.from('POST /predict HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n' +
      `HTTP2-Settings: AAMAAABk\r\nContent-Type: application/json\r\nContent-Length: ${instances.length}\r\n\r\n${instances}`));
    await untilAnswered(raw);
    assert.match(raw.http1(), /^HTTP\/1\.1 200 /);
    raw.socket.destroy();
  });

  it('ignores an Upgrade to anything but h2c', async () => {
    const raw = await openRaw(gw.port, 'none');
    raw.send(Buffer.from('GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n'));
    await untilAnswered(raw);
    assert.match(raw.http1(), /^HTTP\/1\.1 200 /);
    raw.socket.destroy();
  });
});

describe('h2c answers relayed from an HTTP/1.1 backend', () => {
  it('come over HTTP/2, buffered and streamed, without the connection-specific headers it forbids', async () => {
    const backend = await startRawBackend({
      answer: (head) => head.includes('text/event-stream')
        ? { bytes: 'HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\nTransfer-Encoding: chunked\r\n\r\n6\r\ndata:1\r\n0\r\n\r\n', after: 'keep' }
        : { bytes: 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\nContent-Length: 2\r\n\r\nok', after: 'keep' },
    });
    const relay = await startGateway(`
version: h2c-relay
server: { h2c: true }
frontends:
  vertex: { model: llm, predictRoute: /predict, healthRoute: /health }
backends:
  up: { type: http, url: "${backend.url}", predictPath: /x, healthPath: /, raw: true }
models:
  llm: { targets: [ { backend: up } ] }
`);
    const s = connect(relay.url);
    try {
      const plain = await request({ ':method': 'POST', ':path': '/predict', 'content-type': 'text/plain' }, 'hello', s);
      assert.equal(plain.status, 200);
      assert.equal(plain.body, 'ok');
      assert.equal(plain.headers['keep-alive'], undefined);
      const streamed = await request({ ':method': 'POST', ':path': '/predict', 'content-type': 'text/plain', accept: 'text/event-stream' }, 'stream please', s);
      assert.equal(streamed.status, 200);
      assert.equal(streamed.body, 'data:1');
      assert.equal(relay.process.exitCode, null, 'the gateway is still running');
    } finally {
      s.close();
      await relay.stop();
      await backend.close();
    }
  });
});

describe('h2c timeouts', () => {
  it('close a silent connection and an idle HTTP/2 session (GOAWAY), answer slow HTTP/1.1 headers and a slow HTTP/2 body with 408', async () => {
    const quick = await startGateway(config.replace('h2c: true,', 'h2c: true, headersTimeoutMs: 300ms, keepAliveTimeoutMs: 500ms, requestTimeoutMs: 800ms,').replace('bodyIdleTimeoutMs: 300ms', 'bodyIdleTimeoutMs: 5s'));
    try {
      // Connected, never a byte: neither protocol can be told, so the first-bytes timeout ends it.
      const silent = await openRaw(quick.port, 'none');
      await silent.closed;
      assert.equal(silent.http1(), '');
      // An HTTP/2 connection with nothing to do is closed gracefully after keepAliveTimeoutMs.
      const idle = await openRaw(quick.port);
      await idle.closed;
      assert.ok(idle.frames.some((f) => f.type === type.goaway), 'GOAWAY before the close');
      // Headers that never finish, over HTTP/1.1 on the same port.
      const slow = await openRaw(quick.port, 'none');
      slow.send(Buffer.from('GET /health HTTP/1.1\r\nHost: x\r\n'));
      await slow.closed;
      assert.match(slow.http1(), /^HTTP\/1\.1 408 /);
      // A body that keeps coming, too slowly to ever finish within requestTimeoutMs, over HTTP/2.
      const s = connect(quick.url);
      const answer = await new Promise<H2Answer>((resolve, reject) => {
        const stream = s.request({ ':method': 'POST', ':path': '/predict', 'content-type': 'application/json' });
        let text = '';
        let status = 0;
        const drip = setInterval(() => { if (!stream.destroyed && stream.writable) stream.write(' '); }, 50);
        stream.on('response', (h) => { status = Number(h[':status']); });
        stream.on('data', (c: Buffer) => { text += c.toString(); });
        // The answer is whole at its end; the server then drops the rest and resets the stream.
        stream.on('end', () => { clearInterval(drip); resolve({ status, headers: {}, body: text }); });
        stream.on('error', (e) => { clearInterval(drip); reject(e); });
        stream.write('{"instances": ');
      });
      s.close();
      assert.equal(answer.status, 408);
      assert.equal(JSON.parse(answer.body).code, 'request_timeout');
    } finally {
      await quick.stop();
    }
  });
});

describe('h2c on a gateway without it', () => {
  it('is not spoken: the preface is a malformed HTTP/1.1 request', async () => {
    const plain = await startGateway(config.replace('h2c: true', 'h2c: false'));
    try {
      const s = connect(plain.url);
      s.on('error', () => undefined);
      const closed = await new Promise<boolean>((resolve) => {
        const stream = s.request({ ':path': '/health' });
        stream.on('error', () => resolve(true));
        stream.on('response', () => resolve(false));
        stream.end();
      });
      assert.equal(closed, true);
      s.destroy();
    } finally {
      await plain.stop();
    }
  });
});

// untilAnswered waits for the head of an HTTP/1.1 answer on a raw connection.
function untilAnswered(raw: Awaited<ReturnType<typeof openRaw>>): Promise<void> {
  return new Promise((resolve) => {
    const poll = setInterval(() => { if (raw.http1() !== '') { clearInterval(poll); resolve(); } }, 10);
  });
}
