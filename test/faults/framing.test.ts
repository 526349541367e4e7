// Backend framing errors through the whole gateway (kserve v1 frontend → http backend → a raw
// TCP backend writing the bytes): every answer undici refuses as malformed HTTP is a 502
// backend_bad_reply (not a 500 internal), it counts against the backend in the breaker, and
// outlier detection ejects the replica that sends it.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, request } from 'undici';
import { startGateway, type RunningGateway } from '../support/gateway.ts';
import { jsonAnswer, startRawBackend, type RawBackend } from '../support/raw-backend.ts';

const ok = (n: number): string => jsonAnswer(200, 'OK', { predictions: Array.from({ length: n }, () => 3) });

/** Each kind of malformed answer, as bytes on the wire. */
const kinds: Record<string, () => string> = {
  'duplicate-content-length': () => 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 19\r\nContent-Length: 19\r\n\r\n{"predictions":[3]}',
  'conflicting-content-length': () => 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 19\r\nContent-Length: 20\r\n\r\n{"predictions":[3]} ',
  'content-length-and-chunked': () => 'HTTP/1.1 200 OK\r\nContent-Length: 19\r\nTransfer-Encoding: chunked\r\n\r\n13\r\n{"predictions":[3]}\r\n0\r\n\r\n',
  'bare-lf': () => 'HTTP/1.1 200 OK\nContent-Type: application/json\nContent-Length: 19\n\n{"predictions":[3]}',
  'cr-in-header': () => 'HTTP/1.1 200 OK\r\nX-Note: a\rb\r\nContent-Length: 19\r\n\r\n{"predictions":[3]}',
  'nul-in-header': () => 'HTTP/1.1 200 OK\r\nX-Note: a\0b\r\nContent-Length: 19\r\n\r\n{"predictions":[3]}',
  'huge-headers': () => `HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(200_000)}\r\nContent-Length: 19\r\n\r\n{"predictions":[3]}`,
  'many-headers': () => `HTTP/1.1 200 OK\r\n${Array.from({ length: 5000 }, (_, i) => `X-H${i}: v\r\n`).join('')}Content-Length: 19\r\n\r\n{"predictions":[3]}`,
  'huge-chunk-size': () => 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffffff\r\n{"predictions":[3]}',
  'status-099': () => 'HTTP/1.1 099 Odd\r\nContent-Length: 19\r\n\r\n{"predictions":[3]}',
};

const agent = new Agent({ connections: 8 });
after(async () => { await agent.close(); });

async function predict(gw: RunningGateway, model: string): Promise<{ status: number; code?: string }> {
  try {
    const res = await request(`${gw.url}/v1/models/${model}:predict`, {
      method: 'POST', body: '{"instances":[[1,2]]}', headers: { 'content-type': 'application/json' }, dispatcher: agent, signal: AbortSignal.timeout(10_000),
    });
    const text = await res.body.text();
    if (res.statusCode === 200) return { status: 200 };
    return { status: res.statusCode, code: (JSON.parse(text) as { code: string }).code };
  } catch (err) {
    return { status: 0, code: `transport ${(err as { code?: string }).code ?? (err as Error).message}` };
  }
}

describe('each framing error is a 502 backend_bad_reply that the breaker counts', () => {
  let backend: RawBackend;
  let gw: RunningGateway;

  before(async () => {
    backend = await startRawBackend({
      answer(head) {
        const kind = /^POST \/([a-z0-9-]+)/.exec(head)?.[1] ?? '';
        return { bytes: kinds[kind]?.() ?? ok(1), after: 'end' };
      },
    });
    gw = await startGateway(`
frontends: { kserve: { v1: true, v2: false } }
backends:
  raw: { type: http, url: "${backend.url}", predictPath: "/{model}" }
  # The same server, at the path that answers with duplicate Content-Length headers.
  dup: { type: http, url: "${backend.url}", predictPath: /duplicate-content-length }
models:
${Object.keys(kinds).map((k) => `  ${k}: { timeoutMs: 5000, retry: { attempts: 1 }, targets: [ { backend: raw } ] }`).join('\n')}
  breaker-check:
    timeoutMs: 5000
    retry: { attempts: 1 }
    breaker: { volumeThreshold: 4, errorThresholdPercentage: 50, resetTimeoutMs: 60000 }
    targets: [ { backend: dup, name: b } ]
`);
  });

  after(async () => {
    await gw?.stop();
    await backend?.close();
  });

  for (const kind of Object.keys(kinds)) {
    test(kind, async () => {
      assert.deepEqual(await predict(gw, kind), { status: 502, code: 'backend_bad_reply' });
    });
  }

  test('the breaker opens on framing errors', async () => {
    const seen: string[] = [];
    for (let i = 0; i < 8; i++) seen.push((await predict(gw, 'breaker-check')).code ?? '200');
    assert.deepEqual(seen.slice(0, 4), ['backend_bad_reply', 'backend_bad_reply', 'backend_bad_reply', 'backend_bad_reply']);
    assert.equal(seen.at(-1), 'circuit_open', `the breaker opened: ${seen.join(', ')}`);
  });
});

describe('a replica that sends malformed answers is ejected', () => {
  let good: RawBackend;
  let bad: RawBackend;
  let gw: RunningGateway;

  before(async () => {
    good = await startRawBackend({ answer: () => ({ bytes: ok(1), after: 'keep' }) });
    bad = await startRawBackend({ answer: () => ({ bytes: kinds['duplicate-content-length']!(), after: 'end' }) });
    gw = await startGateway(`
frontends: { kserve: { v1: true, v2: false } }
backends:
  r:
    type: http
    urls: ["${good.url}", "${bad.url}"]
    predictPath: /predict
    outlierDetection: { consecutive5xx: 3, baseEjectionTimeMs: 60000 }
models:
  m: { timeoutMs: 5000, retry: { attempts: 1 }, breaker: { volumeThreshold: 100000 }, targets: [ { backend: r } ] }
`);
  });

  after(async () => {
    await gw?.stop();
    await good?.close();
    await bad?.close();
  });

  test('two URLs, one bad, consecutive5xx 3: after the ejection at least 95 of the next 100 succeed', async () => {
    // Until the bad replica has failed 3 times in a row it gets its share.
    for (let i = 0; i < 20 && bad.calls() < 3; i++) await predict(gw, 'm');
    assert.ok(bad.calls() >= 3, `the bad replica was called ${bad.calls()} times`);
    let succeeded = 0;
    const failures: Record<string, number> = {};
    for (let i = 0; i < 100; i++) {
      const r = await predict(gw, 'm');
      if (r.status === 200) succeeded++;
      else failures[r.code ?? String(r.status)] = (failures[r.code ?? String(r.status)] ?? 0) + 1;
    }
    assert.ok(succeeded >= 95, `${succeeded} of 100 succeeded; failures ${JSON.stringify(failures)}`);
  });
});
