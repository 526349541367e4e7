// Payload logging through the real gateway process, as KServe's logger does it: request and
// response bodies as CloudEvents to a sink written from the CloudEvents HTTP binding
// (test/support/fake-cloudevents.ts) — the events' attributes, one id for both, the bodies as
// sent and answered, headers redacted as in the logs; a sink that hangs and one that refuses
// cost events (counted in /metrics), never a prediction; JSON Lines to a file, sampled. And the
// ce-* header values: the binding (v1.0.2 §3.1.3.2) percent-encodes space, double quote, percent
// and everything outside printable ASCII (as UTF-8 bytes), and nothing else.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { headerValue } from '../../src/observe/payload-log.ts';
import { startFakeCloudEvents } from '../support/fake-cloudevents.ts';
import { startFakeTriton, type FakeTriton } from '../support/fake-triton.ts';
import { startGateway, type RunningGateway } from '../support/gateway.ts';
import { waitFor } from '../support/wait-for.ts';

const config = (tritonUrl: string, payloadLog: string): string => `
frontends:
  vertex: { model: linear, predictRoute: /predict, healthRoute: /health }
backends: { tri: { type: triton, url: "${tritonUrl}" } }
models:
  linear: { timeoutMs: 5000, targets: [ { backend: tri, name: primary } ] }
payloadLog: ${payloadLog}
`;

const predict = async (gw: RunningGateway, body: string, headers: Record<string, string> = {}): Promise<{ status: number; text: string }> => {
  const res = await fetch(`${gw.url}/predict`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  return { status: res.status, text: await res.text() };
};

// counter reads infergate_payload_events_total for a sink and outcome from /metrics.
const counter = async (gw: RunningGateway, sink: string, outcome: string): Promise<number> => {
  const text = await (await fetch(`${gw.adminUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`infergate_payload_events_total{sink="${sink}",outcome="${outcome}"}`));
  return line === undefined ? 0 : Number(line.split(' ').pop());
};

let triton: FakeTriton;
const cleanups: Array<() => Promise<unknown> | void> = [];
after(async () => { for (const c of cleanups.reverse()) await c(); });

async function tritonUrl(): Promise<string> {
  if (triton === undefined) {
    triton = await startFakeTriton();
    cleanups.unshift(() => triton.close());
  }
  return triton.url;
}

describe('payload log to a CloudEvents HTTP sink', () => {
  it('sends each request and its answer as two events with one id, KServe\'s types and attributes, headers redacted', async () => {
    const sink = await startFakeCloudEvents();
    cleanups.push(() => sink.close());
    const gw = await startGateway(config(await tritonUrl(), `{ url: "${sink.url}", headers: [authorization, x-user, x-api-key], namespace: ml }`));
    cleanups.push(() => gw.stop());
    const body = '{"instances": [[1, 2, 3, 4]]}';
    const ok = await predict(gw, body, { 'x-request-id': 'req-1', authorization: 'Bearer s3cret', 'x-user': 'ada', 'x-api-key': 'k' });
    assert.equal(ok.status, 200);
    const bad = await predict(gw, '{"instances": 5}', { 'x-request-id': 'req-2' });
    assert.equal(bad.status, 400);
    const events = await sink.waitFor((e) => e.length === 4);
    assert.deepEqual(sink.refused, [], 'every event was well formed');
    const of = (id: string, type: string) => events.find((e) => e.attributes.id === id && e.attributes.type === `org.kubeflow.serving.inference.${type}`)!;
    const req = of('req-1', 'request');
    const res = of('req-1', 'response');
    assert.equal(req.data.toString(), body, 'the request body as the client sent it');
    assert.equal(req.contentType, 'application/json');
    assert.equal(res.data.toString(), ok.text, 'the answer as the client got it');
    for (const e of [req, res]) {
      assert.equal(e.attributes.specversion, '1.0');
      assert.equal(e.attributes.inferenceservicename, 'linear');
      assert.equal(e.attributes.namespace, 'ml');
      assert.equal(e.attributes.component, 'predictor');
      assert.equal(e.attributes.endpoint, 'primary');
      assert.match(e.attributes.source!, /^urn:infergate:/);
      assert.ok(!Number.isNaN(Date.parse(e.attributes.time!)), 'an RFC 3339 time');
      assert.deepEqual(JSON.parse(e.attributes.metadata!), { authorization: ['[redacted]'], 'x-user': ['ada'], 'x-api-key': ['[redacted]'] });
    }
    assert.equal(JSON.parse(of('req-2', 'response').data.toString()).code, 'bad_request', 'a refused request is logged with its error');
    assert.equal(of('req-2', 'request').data.toString(), '{"instances": 5}');
    await waitFor(async () => (await counter(gw, 'http', 'sent')) === 4);
  });

  it('a sink that hangs: every prediction answers, the queue stays bounded and the rest are dropped, counted', async () => {
    const sink = await startFakeCloudEvents();
    sink.mode = 'hang';
    cleanups.push(() => sink.close());
    const gw = await startGateway(config(await tritonUrl(), `{ url: "${sink.url}", concurrency: 1, maxQueue: 4, timeoutMs: 10m }`));
    cleanups.push(() => gw.stop());
    const n = 20;
    for (let i = 0; i < n; i++) assert.equal((await predict(gw, `{"instances": [[${i}, 1, 1, 1]]}`)).status, 200);
    // One event is with the sink (which never answers), four wait, the others were dropped.
    await waitFor(async () => (await counter(gw, 'http', 'dropped')) === 2 * n - 1 - 4);
    assert.equal(sink.hanging, 1);
    const gauge = (await (await fetch(`${gw.adminUrl}/metrics`)).text()).split('\n').find((l) => l.startsWith('infergate_payload_queue_events '));
    assert.equal(gauge, 'infergate_payload_queue_events 4');
    assert.equal(await gw.stop(), 0, 'a hung sink does not hold up shutdown');
  });

  it('a sink that refuses connections, and one that answers 503: predictions answer, the events are counted failed', async () => {
    const closed = await freePort();
    const gw = await startGateway(config(await tritonUrl(), `{ url: "http://127.0.0.1:${closed}/" }`));
    cleanups.push(() => gw.stop());
    for (let i = 0; i < 5; i++) assert.equal((await predict(gw, '{"instances": [[1, 1, 1, 1]]}')).status, 200);
    await waitFor(async () => (await counter(gw, 'http', 'failed')) === 10);
    assert.match(gw.logs(), /payload log event not written/, 'the first failure is logged');

    const sink = await startFakeCloudEvents();
    sink.mode = 503;
    cleanups.push(() => sink.close());
    const gw2 = await startGateway(config(await tritonUrl(), `{ url: "${sink.url}" }`));
    cleanups.push(() => gw2.stop());
    assert.equal((await predict(gw2, '{"instances": [[1, 1, 1, 1]]}')).status, 200);
    await waitFor(async () => (await counter(gw2, 'http', 'failed')) === 2);
    assert.equal(await counter(gw2, 'http', 'sent'), 0);
  });
});

describe('payload log to a JSON Lines file', () => {
  it('writes each event as one line in the CloudEvents JSON format, every other request at percent 50', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'infergate-payload-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'payloads.jsonl');
    const gw = await startGateway(config(await tritonUrl(), `{ file: "${file}", percent: 50, mode: all }`));
    cleanups.push(() => gw.stop());
    const answers: string[] = [];
    for (let i = 0; i < 6; i++) {
      const a = await predict(gw, `{"instances": [[${i}, 0, 0, 0]]}`, { 'x-request-id': `f-${i}` });
      assert.equal(a.status, 200);
      answers.push(a.text);
    }
    await waitFor(async () => (await counter(gw, 'file', 'sent')) === 6);
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, any>);
    assert.equal(lines.length, 6, 'three requests of six, two events each');
    const ids = [...new Set(lines.map((l) => l.id))];
    assert.equal(ids.length, 3);
    for (const id of ids) {
      const i = Number(String(id).slice(2));
      const req = lines.find((l) => l.id === id && l.type === 'org.kubeflow.serving.inference.request')!;
      const res = lines.find((l) => l.id === id && l.type === 'org.kubeflow.serving.inference.response')!;
      assert.deepEqual(req.data, { instances: [[i, 0, 0, 0]] }, 'JSON data is written as JSON');
      assert.equal(req.datacontenttype, 'application/json');
      assert.deepEqual(res.data, JSON.parse(answers[i]!));
      assert.equal(req.specversion, '1.0');
      assert.equal(req.inferenceservicename, 'linear');
    }
  });

  it('a config with both url and file, or neither, is refused at check', async () => {
    const { parseConfig } = await import('../../src/schema.ts');
    const base = 'backends: { b: { type: http, url: "http://127.0.0.1:1" } }\nmodels: { m: { targets: [ { backend: b } ] } }\n';
    assert.throws(() => parseConfig(`${base}payloadLog: { url: "http://x/", file: /tmp/x }`, 'c.yaml'), /exactly one of `url`/);
    assert.throws(() => parseConfig(`${base}payloadLog: { mode: all }`, 'c.yaml'), /exactly one of `url`/);
    assert.throws(() => parseConfig(`${base}payloadLog: { url: "ftp://x/" }`, 'c.yaml'), /payloadLog\.url/);
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      s.close(() => resolve(typeof addr === 'object' && addr !== null ? addr.port : 0));
    });
  });
}

describe('headerValue (ce-* header values)', () => {
  it('encodes space, ", % and non-ASCII, and leaves the rest of printable ASCII alone', () => {
    assert.equal(headerValue('a b"c%d'), 'a%20b%22c%25d');
    assert.equal(headerValue('é✓'), '%C3%A9%E2%9C%93');
    assert.equal(headerValue('\t\n'), '%09%0A');
    const printable = Array.from({ length: 0x7e - 0x21 + 1 }, (_, i) => String.fromCharCode(0x21 + i)).filter((c) => c !== '"' && c !== '%').join('');
    assert.equal(headerValue(printable), printable);
  });

  it('round-trips through percent-decoding, JSON metadata included', () => {
    for (const v of ['{"authorization":["[redacted]"],"x-user":["Zoë O\'Neil"]}', 'urn:infergate:host-1', '100% "quoted"']) {
      assert.equal(decodeURIComponent(headerValue(v)), v);
    }
  });
});
