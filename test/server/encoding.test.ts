import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import { GatewayError } from '../../src/errors.ts';
import { bodyCoding, bodyDecoder, type BodyCoding } from '../../src/server/encoding.ts';

test('bodyCoding: none and identity pass; gzip, x-gzip, deflate decode; anything else is 415 naming it', () => {
  assert.equal(bodyCoding(undefined), undefined);
  assert.equal(bodyCoding('identity'), undefined);
  assert.equal(bodyCoding(' Identity , '), undefined);
  assert.equal(bodyCoding('gzip'), 'gzip');
  assert.equal(bodyCoding('X-Gzip'), 'gzip');
  assert.equal(bodyCoding('deflate'), 'deflate');
  assert.equal(bodyCoding('identity, gzip'), 'gzip');
  for (const v of ['br', 'gzip, gzip', 'zstd', 'gzip;q=1']) {
    assert.throws(() => bodyCoding(v), (e: unknown) => e instanceof GatewayError && e.code === 'unsupported_media_type' && e.message.includes(JSON.stringify(v)), v);
  }
});

// decode feeds chunks of `size` bytes and collects what comes out, stopping (destroy) past limit.
function decode(coding: BodyCoding, data: Buffer, size: number, limit = Infinity): Promise<{ out: Buffer; handed: number; error?: GatewayError }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let handed = 0;
    const d = bodyDecoder(coding, {
      data: (c) => {
        handed += c.length;
        chunks.push(c);
        if (handed > limit) {
          d.destroy();
          // Nothing more may arrive after destroy().
          setTimeout(() => resolve({ out: Buffer.concat(chunks), handed }), 50);
        }
      },
      end: () => resolve({ out: Buffer.concat(chunks), handed }),
      error: (error) => resolve({ out: Buffer.concat(chunks), handed, error }),
    });
    for (let i = 0; i < data.length; i += size) d.write(data.subarray(i, i + size));
    d.end();
  });
}

test('bodyDecoder decodes gzip, zlib deflate and raw deflate, in any chunking', async () => {
  const text = Buffer.from('{"instances": [[1, 2, 3, 4]]}'.repeat(100));
  for (const [coding, data] of [['gzip', gzipSync(text)], ['deflate', deflateSync(text)], ['deflate', deflateRawSync(text)]] as Array<[BodyCoding, Buffer]>) {
    for (const size of [1, 2, 3, 1000]) {
      const r = await decode(coding, data, size);
      assert.equal(r.error, undefined, `${coding} by ${size}`);
      assert.deepEqual(r.out, text, `${coding} by ${size}`);
    }
  }
});

test('bodyDecoder stops a bomb at the bound: far less than its size is ever inflated', async () => {
  const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024), { level: 9 });
  const r = await decode('gzip', bomb, 16 * 1024, 64 * 1024);
  assert.ok(r.handed < 1024 * 1024, `${r.handed} bytes handed on`);
});

test('bodyDecoder reports corrupt and empty streams as 400', async () => {
  const r = await decode('gzip', Buffer.from('plain text, not gzip'), 8);
  assert.equal(r.error?.code, 'bad_request');
  const empty = await decode('deflate', Buffer.alloc(0), 8);
  assert.equal(empty.error?.code, 'bad_request');
});
