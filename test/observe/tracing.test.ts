// Tracing through the real gateway process, exported over OTLP/HTTP to the receiver written from
// the OTLP spec (test/support/fake-otlp.ts), in front of the protocol-faithful Triton server
// (test/support/fake-triton.ts): the span tree of batched requests (request → read body, batch
// wait with the batch size, transform; batch → backend call, linked to every request it
// carries), the traceparent the backend gets, a retry's attempt number, the shadow call, the
// client's traceparent and X-Cloud-Trace-Context as parents, and a sampling ratio of 0.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startFakeOtlp, type FakeOtlp, type OtlpSpan } from '../support/fake-otlp.ts';
import { startFakeTriton, type FakeTriton } from '../support/fake-triton.ts';
import { startGateway, type RunningGateway } from '../support/gateway.ts';

let otlp: FakeOtlp;
let triton: FakeTriton;
let gw: RunningGateway;

const config = (url: string): string => `
frontends:
  vertex: { model: linear, predictRoute: /predict, healthRoute: /health, rawPredictRoute: /raw, rawBackend: raw, rawBackendPath: /v2/models/linear/infer }
  kserve: {}
backends: { tri: { type: triton, url: "${url}" }, raw: { type: passthrough, url: "${url}" } }
models:
  linear:
    timeoutMs: 5000
    batching: { maxBatchSize: 32, maxQueueDelayMs: 50 }
    transform: { softmax: {} }
    retry: { attempts: 1, backoffMs: 1ms, minRetries: 100 }
    targets: [ { backend: tri } ]
  mirrored:
    timeoutMs: 5000
    shadow: { backend: tri, model: linear, percent: 100 }
    targets: [ { backend: tri, model: linear } ]
`;

before(async () => {
  otlp = await startFakeOtlp();
  triton = await startFakeTriton();
  gw = await startGateway(config(triton.url), {
    env: { OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url, OTEL_SERVICE_NAME: 'gateway-under-test', OTEL_BSP_SCHEDULE_DELAY: '50' },
  });
});

after(async () => {
  await gw?.stop();
  await triton?.close();
  await otlp?.close();
});

const traceparentOf = (i: number): { traceId: string; spanId: string; header: string } => {
  const traceId = `${(0xabc000 + i).toString(16)}`.padStart(32, '0');
  const spanId = `${(0x1000 + i).toString(16)}`.padStart(16, '0');
  return { traceId, spanId, header: `00-${traceId}-${spanId}-01` };
};

const predict = async (path: string, body: unknown, headers: Record<string, string>): Promise<Response> => {
  const res = await fetch(`${gw.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  await res.arrayBuffer();
  return res;
};

const childrenOf = (spans: OtlpSpan[], parent: OtlpSpan): OtlpSpan[] => spans.filter((s) => s.traceId === parent.traceId && s.parentSpanId === parent.spanId);

test('batched requests: each request\'s span tree, the batch span linked to every request, the traceparent the backend got', async () => {
  const n = 12;
  const parents = Array.from({ length: n }, (_, i) => traceparentOf(i));
  const answers = await Promise.all(parents.map((p, i) => predict('/predict', { instances: [[i, 1, 2, 3]] }, { traceparent: p.header })));
  for (const a of answers) assert.equal(a.status, 200);
  const ids = new Set(parents.map((p) => p.traceId));
  // Every request's server span, and every batch's backend call, have arrived.
  const spans = await otlp.waitFor((all) => all.filter((s) => ids.has(s.traceId) && s.kind === 2).length === n &&
    all.filter((s) => ids.has(s.traceId) && s.name === 'backend call').length === all.filter((s) => ids.has(s.traceId) && s.name === 'batch').length &&
    all.some((s) => ids.has(s.traceId) && s.name === 'batch'));
  const mine = spans.filter((s) => ids.has(s.traceId));
  assert.equal(mine[0]!.resource['service.name'], 'gateway-under-test', 'OTEL_SERVICE_NAME names the service');
  for (const p of parents) {
    const server = mine.find((s) => s.traceId === p.traceId && s.kind === 2)!;
    assert.equal(server.parentSpanId, p.spanId, 'the request span is a child of the client\'s span');
    assert.equal(server.name, 'POST /predict');
    assert.equal(server.attributes['http.response.status_code'], 200);
    assert.equal(server.attributes['infergate.model'], 'linear');
    const kids = childrenOf(mine, server).map((s) => s.name).sort();
    for (const want of ['read body', 'batch wait', 'transform postprocess']) assert.ok(kids.includes(want), `${want} under the request: ${kids}`);
    const wait = childrenOf(mine, server).find((s) => s.name === 'batch wait')!;
    assert.ok(Number(wait.attributes['infergate.batch.rows']) >= 1);
    assert.ok(Number(wait.attributes['infergate.batch.requests']) >= 1);
    assert.ok(wait.startTimeUnixNano >= server.startTimeUnixNano && wait.endTimeUnixNano <= server.endTimeUnixNano, 'the wait lies inside the request');
  }
  // A batch of several requests: under the first one's request span, linked to the others'.
  const merged = mine.filter((s) => s.name === 'batch' && Number(s.attributes['infergate.batch.requests']) > 1);
  assert.ok(merged.length > 0, `no batch carried more than one request: ${mine.filter((s) => s.name === 'batch').map((s) => s.attributes['infergate.batch.requests'])}`);
  const batch = merged[0]!;
  const owner = mine.find((s) => s.spanId === batch.parentSpanId)!;
  assert.equal(owner.kind, 2, 'a batch span hangs under a request span');
  assert.equal(batch.links.length, Number(batch.attributes['infergate.batch.requests']) - 1, 'linked to each other request it carries');
  for (const link of batch.links) {
    const linked = mine.find((s) => s.spanId === link.spanId);
    assert.ok(linked !== undefined && linked.kind === 2 && linked.traceId === link.traceId, 'each link names another request\'s span');
  }
  const [call, ...more] = childrenOf(mine, batch);
  assert.equal(more.length, 0);
  assert.equal(call!.name, 'backend call');
  assert.equal(call!.kind, 3, 'a client span');
  assert.equal(call!.attributes['http.request.resend_count'], 0);
  assert.equal(call!.attributes['infergate.target'], 'tri/linear');
  // The backend was called with this attempt as its parent.
  const sent = triton.calls.filter((c) => c.url === '/v2/models/linear/infer').map((c) => c.headers.traceparent);
  assert.ok(sent.includes(`00-${call!.traceId}-${call!.spanId}-01`), `the backend got the attempt's traceparent: ${sent.join(' ')}`);
});

test('a retried backend call is two attempt spans, numbered 0 and 1', async () => {
  const p = traceparentOf(100);
  triton.failNext(503, { error: 'Server not ready' });
  const res = await predict('/predict', { instances: [[1, 2, 3, 4]] }, { traceparent: p.header });
  assert.equal(res.status, 200);
  const spans = await otlp.waitFor((all) => all.filter((s) => s.traceId === p.traceId && s.name === 'backend call').length === 2);
  const calls = spans.filter((s) => s.traceId === p.traceId && s.name === 'backend call').sort((a, b) => Number(a.startTimeUnixNano - b.startTimeUnixNano));
  assert.deepEqual(calls.map((c) => c.attributes['http.request.resend_count']), [0, 1]);
  assert.equal(calls[0]!.status.code, 2, 'the refused attempt is marked failed');
  assert.equal(calls[1]!.status.code, 0);
  assert.equal(calls[0]!.parentSpanId, calls[1]!.parentSpanId, 'both under the one batch');
});

test('the shadow call is a client span of the request\'s trace', async () => {
  const p = traceparentOf(200);
  const res = await predict('/v1/models/mirrored:predict', { instances: [[1, 2, 3, 4]] }, { traceparent: p.header });
  assert.equal(res.status, 200);
  const spans = await otlp.waitFor((all) => all.some((s) => s.traceId === p.traceId && s.name === 'shadow call') && all.some((s) => s.traceId === p.traceId && s.kind === 2));
  const server = spans.find((s) => s.traceId === p.traceId && s.kind === 2)!;
  const shadow = spans.find((s) => s.traceId === p.traceId && s.name === 'shadow call')!;
  assert.equal(shadow.parentSpanId, server.spanId);
  assert.equal(shadow.kind, 3);
  assert.equal(shadow.attributes['infergate.shadow.backend'], 'tri');
});

test('without a traceparent, X-Cloud-Trace-Context is the parent and its trace id the request id', async () => {
  const traceId = '105445aa7843bc8bf206b12000100000';
  const res = await predict('/predict', { instances: [[1, 1, 1, 1]] }, { 'x-cloud-trace-context': `${traceId}/1;o=1` });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('x-request-id'), traceId);
  const spans = await otlp.waitFor((all) => all.some((s) => s.traceId === traceId && s.kind === 2));
  const server = spans.find((s) => s.traceId === traceId && s.kind === 2)!;
  assert.equal(server.parentSpanId, '0000000000000001', 'the decimal span id, as 16 hex digits');
  assert.equal(server.attributes['infergate.request_id'], traceId);
});

test('OCI\'s opc-request-id is the request id: echoed in both headers, sent to the backend, on the span', async () => {
  const id = 'D4E5F6A7B8/C9D0E1F2A3/B4C5D6E7F8';
  const before = triton.calls.length;
  const res = await predict('/predict', { instances: [[1, 1, 1, 1]] }, { 'opc-request-id': id });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('x-request-id'), id);
  assert.equal(res.headers.get('opc-request-id'), id);
  assert.deepEqual(triton.calls.slice(before).map((c) => c.headers['x-request-id']), [id]);
  const spans = await otlp.waitFor((all) => all.some((s) => s.kind === 2 && s.attributes['infergate.request_id'] === id));
  assert.equal(spans.find((s) => s.kind === 2 && s.attributes['infergate.request_id'] === id)!.parentSpanId, '', 'a new trace');
});

test('an unsampled traceparent (flags 00) records nothing, yet the backend still gets the trace', async () => {
  const traceId = 'fedcba98765432100123456789abcdef';
  const before = triton.calls.length;
  const res = await predict('/predict', { instances: [[1, 1, 1, 1]] }, { traceparent: `00-${traceId}-00f067aa0ba902b7-00` });
  assert.equal(res.status, 200);
  const sent = triton.calls.slice(before).map((c) => c.headers.traceparent);
  assert.ok(sent.some((t) => typeof t === 'string' && t.startsWith(`00-${traceId}-`) && t.endsWith('-00')), `trace passed on unsampled: ${sent}`);
  // Another, sampled, request after it: once its spans are in, the unsampled one's would be too.
  const p = traceparentOf(300);
  await predict('/predict', { instances: [[1, 1, 1, 1]] }, { traceparent: p.header });
  await otlp.waitFor((all) => all.some((s) => s.traceId === p.traceId && s.kind === 2));
  assert.equal(otlp.spans.filter((s) => s.traceId === traceId).length, 0);
  assert.ok(otlp.contentTypes.every((t) => t === 'application/json'), 'the exporter sends OTLP/JSON');
});

test('a raw (streamed) route is a request span, and the upstream\'s parent', async () => {
  const p = traceparentOf(500);
  const before = triton.calls.length;
  const body = JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }] });
  const res = await fetch(`${gw.url}/raw`, { method: 'POST', headers: { 'content-type': 'application/json', traceparent: p.header }, body });
  assert.equal(res.status, 200, await res.text());
  const spans = await otlp.waitFor((all) => all.some((s) => s.traceId === p.traceId && s.kind === 2));
  const server = spans.find((s) => s.traceId === p.traceId && s.kind === 2)!;
  assert.equal(server.name, 'POST /raw');
  assert.equal(server.parentSpanId, p.spanId);
  assert.equal(server.attributes['http.response.status_code'], 200);
  const sent = triton.calls.slice(before).map((c) => c.headers.traceparent);
  assert.deepEqual(sent, [`00-${p.traceId}-${server.spanId}-01`]);
});

test('tracing.sampleRatio 0 records no new trace, and still follows a client\'s sampled traceparent', async () => {
  const own = await startFakeOtlp();
  const g = await startGateway(`${config(triton.url)}tracing: { endpoint: "${own.url}", sampleRatio: 0, exportDelayMs: 50ms }\n`);
  try {
    for (let i = 0; i < 5; i++) {
      const r = await fetch(`${g.url}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"instances": [[1, 1, 1, 1]]}' });
      assert.equal(r.status, 200);
    }
    // Spans are exported in the order they end: once this one is in, any of those before would be.
    const p = traceparentOf(400);
    const res = await fetch(`${g.url}/predict`, { method: 'POST', headers: { 'content-type': 'application/json', traceparent: p.header }, body: '{"instances": [[1, 1, 1, 1]]}' });
    assert.equal(res.status, 200);
    const spans = await own.waitFor((all) => all.some((s) => s.traceId === p.traceId && s.kind === 2));
    assert.deepEqual([...new Set(spans.map((s) => s.traceId))], [p.traceId], 'only the client-sampled trace');
  } finally {
    await g.stop();
    await own.close();
  }
});
