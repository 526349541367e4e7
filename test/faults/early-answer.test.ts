// A backend's early answer: it refuses a large body with 413 after reading only the request's
// head, then closes the connection with the rest of the body unread (so its kernel resets it).
// The gateway must pass that answer on, as Envoy does, on the parsed route (the body a Buffer)
// and on the raw route (the client's own stream), and must not count a 4xx as a backend failure
// (breaker, outlier detection).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, request } from 'undici';
import { startGateway, type RunningGateway } from '../support/gateway.ts';
import { jsonAnswer, startRawBackend, type RawBackend } from '../support/raw-backend.ts';

const tries = 20;
const message = 'the body is too large for this model server';
let backends: RawBackend[];
let gw: RunningGateway;
const agent = new Agent({ connections: 4 });

before(async () => {
  const answer = (): { bytes: string; after: 'close' } => ({ bytes: jsonAnswer(413, 'Payload Too Large', { error: message }, 'Connection: close\r\n'), after: 'close' });
  backends = await Promise.all([startRawBackend({ answer }), startRawBackend({ answer })]);
  gw = await startGateway(`
server: { maxBodyBytes: 32mb, healthIntervalMs: 500 }
frontends: { vertex: { model: m, predictRoute: /predict, healthRoute: /health, rawPredictRoute: /raw, rawBackend: a } }
backends:
  a:
    type: http
    urls: [${backends.map((b) => `"${b.url}"`).join(', ')}]
    outlierDetection: { consecutive5xx: 3, baseEjectionTimeMs: 60000 }
models:
  m:
    timeoutMs: 10000
    breaker: { volumeThreshold: 5, errorThresholdPercentage: 50, resetTimeoutMs: 60000 }
    retry: { attempts: 1 }
    targets: [ { backend: a, name: a } ]
`);
});

after(async () => {
  await gw?.stop();
  await Promise.all(backends?.map((b) => b.close()) ?? []);
  await agent.close();
});

// A large body: 4 to 6 MB, several socket buffers, so the backend closes while the gateway writes.
const rows = Array.from({ length: 1 << 17 }, (_, i) => [i, i + 0.5, i * 2, 1e6 + i, 7, 8, 9, 10]);
const parsedBody = JSON.stringify({ instances: rows });
const rawBody = Buffer.alloc(4 << 20, 0x61);

async function tryOnce(path: string, body: string | Buffer): Promise<string> {
  try {
    const res = await request(`${gw.url}${path}`, {
      method: 'POST', body, headers: { 'content-type': 'application/json' }, dispatcher: agent, signal: AbortSignal.timeout(15_000),
    });
    const text = await res.body.text();
    return `${res.statusCode} ${text.includes(message) ? 'message' : text.slice(0, 120)}`;
  } catch (err) {
    return `transport ${(err as { code?: string }).code ?? (err as Error).message}`;
  }
}

async function run(path: string, body: string | Buffer): Promise<Record<string, number>> {
  const seen: Record<string, number> = {};
  for (let i = 0; i < tries; i++) {
    const got = await tryOnce(path, body);
    seen[got] = (seen[got] ?? 0) + 1;
  }
  return seen;
}

async function status(): Promise<{ breaker?: number; ejected: string[] }> {
  const doc = await (await fetch(`${gw.adminUrl}/admin/status`)).json() as {
    backends: Record<string, { endpoints: Record<string, { ejected: boolean }> }>;
  };
  const metrics = await (await fetch(`${gw.adminUrl}/metrics`)).text();
  const m = /infergate_breaker_state\{target="a"\} (\d+)/.exec(metrics);
  return {
    ...(m === null ? {} : { breaker: Number(m[1]) }),
    ejected: Object.entries(doc.backends.a!.endpoints).filter(([, e]) => e.ejected).map(([u]) => u),
  };
}

test('parsed route: the backend\'s early 413 reaches the client every time, and is not a backend failure', async (t) => {
  const seen = await run('/predict', parsedBody);
  t.diagnostic(JSON.stringify(seen));
  assert.deepEqual(seen, { '413 message': tries });
  const s = await status();
  assert.notEqual(s.breaker, 2, 'the breaker stayed closed');
  assert.deepEqual(s.ejected, [], 'no replica was ejected');
  // The breaker is still closed: a small call reaches the backend and gets its answer.
  assert.match(await tryOnce('/predict', '{"instances":[[1]]}'), /^413 message$/);
});

test('raw route: the backend\'s early 413 reaches the client every time', async (t) => {
  const seen = await run('/raw', rawBody);
  t.diagnostic(JSON.stringify(seen));
  assert.deepEqual(seen, { '413 message': tries });
});
