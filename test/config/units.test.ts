import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { duration, maxDurationMs, parseDuration, parseSize, size } from '../../src/config/units.ts';

const KiB = 1024;
const MiB = 1024 ** 2;
const GiB = 1024 ** 3;

describe('parseSize', () => {
  it('reads binary units, case-insensitive, with optional spaces and decimals', () => {
    assert.equal(parseSize('10mb'), 10 * MiB);
    assert.equal(parseSize('1.5 MB'), Math.round(1.5 * MiB));
    assert.equal(parseSize('512kb'), 512 * KiB);
    assert.equal(parseSize('512K'), 512 * KiB);
    assert.equal(parseSize('2m'), 2 * MiB);
    assert.equal(parseSize('1gb'), GiB);
    assert.equal(parseSize('3G'), 3 * GiB);
    assert.equal(parseSize('100b'), 100);
    assert.equal(parseSize('  7 kb  '), 7 * KiB);
  });

  it('reads a plain number or numeric string as bytes', () => {
    assert.equal(parseSize(1048576), 1048576);
    assert.equal(parseSize(0), 0);
    assert.equal(parseSize('4096'), 4096);
  });

  it('rounds fractional bytes to a whole count', () => {
    assert.equal(parseSize('0.5kb'), 512);
    assert.equal(parseSize('1.0001kb'), 1024);
  });

  it('is undefined for malformed values', () => {
    for (const bad of ['', 'lots', '10 tb', '10mib', '-1kb', '1e3', '1,5mb', '.5mb', '10 m b', 'mb', -1, NaN, Infinity, null, undefined, true, {}, ['1kb']]) {
      assert.equal(parseSize(bad), undefined, String(bad));
    }
  });
});

describe('parseDuration', () => {
  it('reads ms, s, m and h', () => {
    assert.equal(parseDuration('30s'), 30_000);
    assert.equal(parseDuration('250ms'), 250);
    assert.equal(parseDuration('2m'), 120_000);
    assert.equal(parseDuration('1h'), 3_600_000);
    assert.equal(parseDuration('1.5s'), 1500);
    assert.equal(parseDuration('10 MS'), 10);
  });

  it('reads a plain number or numeric string as milliseconds', () => {
    assert.equal(parseDuration(5000), 5000);
    assert.equal(parseDuration('5000'), 5000);
    assert.equal(parseDuration(0), 0);
  });

  it('is undefined for malformed values, including size units', () => {
    for (const bad of ['', 'soon', '30 sec', '1d', '10kb', '-5s', '5s5', 'PT5S', -1, Infinity, null, undefined, false]) {
      assert.equal(parseDuration(bad), undefined, String(bad));
    }
  });
});

describe('zod size and duration types', () => {
  it('turn valid values into numbers', () => {
    const schema = z.object({ body: size, timeout: duration });
    assert.deepEqual(schema.parse({ body: '10mb', timeout: '30s' }), { body: 10 * MiB, timeout: 30_000 });
    assert.deepEqual(schema.parse({ body: 2048, timeout: 250 }), { body: 2048, timeout: 250 });
  });

  it('give one issue naming what is expected and what was got', () => {
    const s = size.safeParse('lots');
    assert.equal(s.success, false);
    assert.equal(s.error!.issues.length, 1);
    assert.equal(s.error!.issues[0]!.code, 'custom');
    assert.match(s.error!.issues[0]!.message, /expected a size such as 10mb, 512kb or a byte count, got "lots"/);

    const d = duration.safeParse('soon');
    assert.equal(d.success, false);
    assert.equal(d.error!.issues.length, 1);
    assert.match(d.error!.issues[0]!.message, /expected a duration such as 30s, 250ms or milliseconds, got "soon"/);

    const neg = duration.safeParse(-5);
    assert.equal(neg.success, false);
    assert.match(neg.error!.issues[0]!.message, /got -5/);
  });

  it('report the path inside an object', () => {
    const r = z.object({ server: z.object({ maxBodyBytes: size }) }).safeParse({ server: { maxBodyBytes: '10 tb' } });
    assert.equal(r.success, false);
    assert.deepEqual(r.error!.issues[0]!.path, ['server', 'maxBodyBytes']);
    assert.match(r.error!.issues[0]!.message, /size such as 10mb.*got "10 tb"/);
  });

  it('refuse types other than number and string', () => {
    for (const v of [true, null, {}, []]) {
      assert.equal(size.safeParse(v).success, false, String(v));
      assert.equal(duration.safeParse(v).success, false, String(v));
    }
  });
});

it('a duration past 2^31-1 ms is refused, naming the maximum', () => {
  assert.equal(duration.parse(`${maxDurationMs}`), maxDurationMs);
  const r = duration.safeParse('700h');
  assert.ok(!r.success);
  assert.match(r.error.issues[0]!.message, /at most 2147483647 ms/);
});
