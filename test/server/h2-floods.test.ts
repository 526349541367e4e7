// The HTTP/2 attacks Envoy and NGINX defend against, each sent by hand to the real gateway
// process over h2c: rapid reset (CVE-2023-44487), CONTINUATION floods (with header bytes, and
// empty frames that grow no header list), SETTINGS and PING floods, and streams past the
// concurrency limit. Each must end bounded: the connection is closed (GOAWAY) or the excess
// refused, far short of what was sent, and the gateway serves the next client as before.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { maxEarlyResetsPerWindow, maxPingsPerWindow, maxSettingsPerWindow } from '../../src/server/h2-limits.ts';
import { startGateway, type RunningGateway } from '../support/gateway.ts';
import { code, flag, frame, goawayOf, headerBlock, openRaw, requestHeaders, type, type RawH2 } from '../support/h2-frames.ts';

const config = `
version: h2-floods
server: { h2c: true, http2MaxConcurrentStreams: 8 }
frontends:
  vertex: { model: iris, predictRoute: /predict, healthRoute: /health }
backends:
  local: { type: onnx, modelRepository: backends/onnx, executionProviders: [cpu] }
models:
  iris: { targets: [ { backend: local } ] }
`;

let gw: RunningGateway;
before(async () => { gw = await startGateway(config); });
after(() => gw.stop());

/** handled is how many requests the gateway has answered or ended (its requests counter). */
async function handled(): Promise<number> {
  const text = await (await fetch(`${gw.adminUrl}/metrics`)).text();
  return text.split('\n').filter((l) => l.startsWith('infergate_requests_total{') && l.includes('frontend="vertex"'))
    .reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0);
}

/** sendAll writes frames in batches, stopping once the server has closed the connection. */
async function sendAll(raw: RawH2, count: number, make: (i: number) => Buffer): Promise<number> {
  let sent = 0;
  for (let i = 0; i < count && !raw.socket.destroyed; i += 100) {
    const batch: Buffer[] = [];
    for (let j = i; j < Math.min(count, i + 100); j++) batch.push(make(j));
    if (!raw.send(Buffer.concat(batch))) await new Promise((r) => { raw.socket.once('drain', r); raw.socket.once('close', r); });
    sent += batch.length;
    await new Promise((r) => setImmediate(r));
  }
  return sent;
}

async function stillServes(): Promise<void> {
  const res = await fetch(`${gw.url}/predict`, { method: 'POST', body: '{"instances": [[5.1,3.5,1.4,0.2]]}', headers: { 'content-type': 'application/json' } });
  assert.equal(res.status, 200);
}

async function goawayCode(raw: RawH2): Promise<number> {
  await raw.closed;
  const g = raw.frames.find((f) => f.type === type.goaway);
  assert.ok(g !== undefined, 'the server says GOAWAY before it closes');
  return goawayOf(g).code;
}

describe('HTTP/2 floods, each bounded', () => {
  const openAndReset = (i: number): Buffer => Buffer.concat([
    requestHeaders(2 * i + 1, 'POST', '/predict', [['content-type', 'application/json']], false),
    frame(type.rstStream, 0, 2 * i + 1, Buffer.from([0, 0, 0, code.cancel])),
  ]);

  it(`rapid reset: past ${maxEarlyResetsPerWindow} reset streams, GOAWAY ENHANCE_YOUR_CALM`, async () => {
    const raw = await openRaw(gw.port);
    raw.send(Buffer.concat(Array.from({ length: maxEarlyResetsPerWindow + 50 }, (_, i) => openAndReset(i))));
    assert.equal(await goawayCode(raw), code.enhanceYourCalm);
    await stillServes();
  });

  it('rapid reset, long: the connection ends early, and few of the reset streams were ever handled', async () => {
    const before = await handled();
    const raw = await openRaw(gw.port);
    const streams = 20_000;
    const sent = await sendAll(raw, streams, openAndReset);
    await raw.closed;
    assert.ok(sent < streams, `the server read ${sent} of ${streams} open-and-reset pairs before closing`);
    const started = (await handled()) - before;
    assert.ok(started < streams / 10, `${started} of ${streams} reset streams were handled`);
    await stillServes();
  });

  it('CONTINUATION flood with header bytes: a header block that never ends closes the connection', async () => {
    const raw = await openRaw(gw.port);
    raw.send(frame(type.headers, flag.endStream, 1, headerBlock([[':method', 'GET'], [':scheme', 'http'], [':path', '/health'], [':authority', 'x']])));
    const filler = headerBlock([['x-filler', 'a'.repeat(200)]]);
    const sent = await sendAll(raw, 50_000, () => frame(type.continuation, 0, 1, filler));
    await raw.closed;
    assert.ok(sent < 50_000, `the server read ${sent} CONTINUATION frames before closing`);
    await stillServes();
  });

  it('CONTINUATION flood of empty frames: closed too, though the header list never grows', async () => {
    const raw = await openRaw(gw.port);
    raw.send(frame(type.headers, flag.endStream, 1, headerBlock([[':method', 'GET'], [':scheme', 'http'], [':path', '/health'], [':authority', 'x']])));
    const sent = await sendAll(raw, 200_000, () => frame(type.continuation, 0, 1));
    await raw.closed;
    assert.ok(sent < 200_000, `the server read ${sent} empty CONTINUATION frames before closing`);
    await stillServes();
  });

  // A flood just past the budget, sent in one write the server reads whole, shows the GOAWAY's
  // code (with more unread, the server's close turns into a reset that can destroy the GOAWAY
  // before the client reads it); a long one shows the server stops reading early.
  const settingsFrame = (): Buffer => frame(type.settings, 0, 0, Buffer.from([0, 3, 0, 0, 0, 100]));
  const pingFrame = (i: number): Buffer => { const p = Buffer.alloc(8); p.writeUInt32BE(i, 4); return frame(type.ping, 0, 0, p); };

  for (const [name, limit, make] of [['SETTINGS', maxSettingsPerWindow, settingsFrame], ['PING', maxPingsPerWindow, pingFrame]] as const) {
    it(`${name} flood: GOAWAY ENHANCE_YOUR_CALM past ${limit} frames, and a long flood is not read to its end`, async () => {
      const raw = await openRaw(gw.port);
      raw.send(Buffer.concat(Array.from({ length: limit + 20 }, (_, i) => make(i))));
      assert.equal(await goawayCode(raw), code.enhanceYourCalm);
      const long = await openRaw(gw.port);
      const sent = await sendAll(long, 200_000, make);
      await long.closed;
      assert.ok(sent < 200_000, `the server read ${sent} ${name} frames before closing`);
      await stillServes();
    });
  }

  it('streams past SETTINGS_MAX_CONCURRENT_STREAMS, once acknowledged, end the connection; those within it were taken', async () => {
    const raw = await openRaw(gw.port);
    await raw.next((f) => f.type === type.settings && (f.flags & flag.ack) === 0);
    // 12 uploads left open (no END_STREAM), over a limit of 8.
    for (let i = 0; i < 12; i++) raw.send(requestHeaders(2 * i + 1, 'POST', '/predict', [['content-type', 'application/json']], false));
    await raw.closed;
    const goaway = goawayOf(raw.frames.find((f) => f.type === type.goaway)!);
    assert.equal(goaway.code, code.protocolError);
    assert.equal(goaway.lastStream, 15, 'streams 1..15, the first 8, were taken');
    await stillServes();
  });
});
