import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { httpRequestField, parseCloudTrace, traceFields } from '../../src/observe/cloud-trace.ts';

describe('parseCloudTrace', () => {
  it('reads TRACE_ID/SPAN_ID;o=OPTIONS, the trace id lowercased', () => {
    assert.deepEqual(parseCloudTrace('105445AA7843BC8BF206B12000100000/1;o=1'), { traceId: '105445aa7843bc8bf206b12000100000', spanId: '1', sampled: true });
    assert.deepEqual(parseCloudTrace('105445aa7843bc8bf206b12000100000/18446744073709551615'), { traceId: '105445aa7843bc8bf206b12000100000', spanId: '18446744073709551615', sampled: false });
    assert.equal(parseCloudTrace('105445aa7843bc8bf206b12000100000/2;o=0')!.sampled, false);
  });

  it('refuses what is not one (the request then gets its own id)', () => {
    for (const bad of [undefined, '', 'abc/1', '105445aa7843bc8bf206b12000100000', '105445aa7843bc8bf206b12000100000/x', '00000000000000000000000000000000/1',
      `105445aa7843bc8bf206b12000100000/1;o=1${' '.repeat(100)}`, ['105445aa7843bc8bf206b12000100000/1']]) {
      assert.equal(parseCloudTrace(bad), undefined, JSON.stringify(bad));
    }
  });
});

describe('traceFields and httpRequestField', () => {
  it('name the trace as a resource of the project, or bare without one', () => {
    const t = { traceId: 'a'.repeat(32), spanId: '7', sampled: true };
    assert.deepEqual(traceFields(t, 'proj'), {
      'logging.googleapis.com/trace': `projects/proj/traces/${'a'.repeat(32)}`, 'logging.googleapis.com/spanId': '7', 'logging.googleapis.com/trace_sampled': true,
    });
    assert.equal(traceFields(t, '')['logging.googleapis.com/trace'], 'a'.repeat(32));
  });

  it('writes sizes as int64 strings and latency as a Duration string', () => {
    const f = httpRequestField({ method: 'POST', url: '/predict', status: 200, latencyMs: 12.5, userAgent: 'curl/8', remoteIp: '10.0.0.1', protocol: 'HTTP/2.0', requestSize: 34 });
    assert.deepEqual(f, { requestMethod: 'POST', requestUrl: '/predict', status: 200, latency: '0.012500s', remoteIp: '10.0.0.1', protocol: 'HTTP/2.0', userAgent: 'curl/8', requestSize: '34' });
  });
});
