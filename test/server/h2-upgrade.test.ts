import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { describe, it } from 'node:test';
import { hpackInt, upgradeFrames, upgradeSettings, withUpgradeSettings } from '../../src/server/h2-upgrade.ts';

function request(headers: Record<string, string>, method = 'GET', url = '/x'): IncomingMessage {
  const rawHeaders = Object.entries(headers).flat();
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  return { method, url, headers: lower, rawHeaders } as unknown as IncomingMessage;
}
// literals reads a block of short literal-without-indexing fields (what upgradeFrames writes).
function literals(block: Buffer): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (let at = 0; at < block.length;) {
    assert.equal(block[at], 0x00);
    const n = block[at + 1]!;
    const name = block.subarray(at + 2, at + 2 + n).toString('latin1');
    const v = block[at + 2 + n]!;
    out.push([name, block.subarray(at + 3 + n, at + 3 + n + v).toString('latin1')]);
    at += 3 + n + v;
  }
  return out;
}
const upgrade = { Host: 'h', Connection: 'Upgrade, HTTP2-Settings', Upgrade: 'h2c', 'HTTP2-Settings': 'AAMAAABkAAQAoAAA' };

describe('hpackInt (RFC 7541 C.1)', () => {
  it('encodes the RFC\'s examples', () => {
    assert.deepEqual([...hpackInt(10, 5)], [10]);
    assert.deepEqual([...hpackInt(1337, 5)], [31, 154, 10]);
    assert.deepEqual([...hpackInt(42, 8)], [42]);
    assert.deepEqual([...hpackInt(127, 7)], [127, 0]);
  });
});

describe('upgradeSettings', () => {
  it('accepts an h2c upgrade without a body and decodes HTTP2-Settings', () => {
    assert.deepEqual([...upgradeSettings(request(upgrade))!], [0, 3, 0, 0, 0, 100, 0, 4, 0, 0xa0, 0, 0]);
    assert.equal(upgradeSettings(request({ ...upgrade, 'HTTP2-Settings': '' }))!.length, 0);
  });

  it('refuses the rest: another protocol, a body, Connection without both tokens, settings not in 6-byte entries', () => {
    assert.equal(upgradeSettings(request({ ...upgrade, Upgrade: 'websocket' })), undefined);
    assert.equal(upgradeSettings(request({ ...upgrade, 'Content-Length': '3' }, 'POST')), undefined);
    assert.equal(upgradeSettings(request({ ...upgrade, 'Transfer-Encoding': 'chunked' }, 'POST')), undefined);
    assert.equal(upgradeSettings(request({ ...upgrade, Connection: 'Upgrade' })), undefined);
    assert.equal(upgradeSettings(request({ ...upgrade, 'HTTP2-Settings': 'AAMA' })), undefined);
    assert.equal(upgradeSettings(request({ ...upgrade, 'HTTP2-Settings': 'not base64!' })), undefined);
    const { 'HTTP2-Settings': _, ...without } = upgrade;
    assert.equal(upgradeSettings(request(without)), undefined);
  });
});

describe('upgradeFrames', () => {
  it('is one HEADERS frame on stream 1 ending the stream and the header block, hop-by-hop headers left out', () => {
    const frames = upgradeFrames(request({ ...upgrade, Accept: 'application/json' }));
    assert.equal(frames.readUIntBE(0, 3), frames.length - 9);
    assert.equal(frames[3], 0x1);
    assert.equal(frames[4], 0x1 | 0x4);
    assert.equal(frames.readUInt32BE(5), 1);
    assert.deepEqual(literals(frames.subarray(9)), [[':method', 'GET'], [':scheme', 'http'], [':path', '/x'], [':authority', 'h'], ['accept', 'application/json']]);
  });

  it('splits a header block over 16 KiB into HEADERS and CONTINUATION, END_HEADERS on the last', () => {
    const frames = upgradeFrames(request({ ...upgrade, 'X-Big': 'v'.repeat(20_000) }));
    const first = frames.readUIntBE(0, 3);
    assert.equal(first, 16_384);
    assert.equal(frames[4], 0x1, 'END_STREAM, not END_HEADERS');
    const second = frames.subarray(9 + first);
    assert.equal(second[3], 0x9);
    assert.equal(second[4], 0x4);
    assert.equal(second.readUInt32BE(5), 1);
  });
});

describe('withUpgradeSettings', () => {
  const preface = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
  const settingsFrame = (payload: Buffer): Buffer => Buffer.concat([Buffer.from([0, 0, payload.length, 0x4, 0, 0, 0, 0, 0]), payload]);
  const entry = (id: number, value: number): Buffer => { const b = Buffer.alloc(6); b.writeUInt16BE(id); b.writeUInt32BE(value, 2); return b; };

  it('puts HTTP2-Settings in front of the client\'s own SETTINGS, in one frame, so the client\'s own repeat wins', () => {
    const upgrade = Buffer.concat([entry(0x4, 16), entry(0x3, 100)]);
    const own = entry(0x3, 7);
    const merged = withUpgradeSettings(Buffer.concat([preface, settingsFrame(own)]), upgrade, preface.length)!;
    assert.deepEqual(merged.subarray(0, preface.length), preface);
    const f = merged.subarray(preface.length);
    assert.equal(f.readUIntBE(0, 3), 18);
    assert.equal(f[3], 0x4);
    assert.equal(f[4], 0);
    assert.equal(f.readUInt32BE(5), 0);
    assert.deepEqual(f.subarray(9), Buffer.concat([upgrade, own]));
    assert.equal(f.length, 9 + 18);
  });

  it('leaves an empty HTTP2-Settings as the client\'s frame, and refuses a merge past 16 KB', () => {
    const opening = Buffer.concat([preface, settingsFrame(entry(0x4, 1))]);
    assert.deepEqual(withUpgradeSettings(opening, Buffer.alloc(0), preface.length), opening);
    const big = Buffer.concat([preface, Buffer.from([0, 0x40, 0, 0x4, 0, 0, 0, 0, 0]), Buffer.alloc(16_380)]);
    assert.equal(withUpgradeSettings(big, entry(0x4, 1), preface.length), undefined);
  });
});
