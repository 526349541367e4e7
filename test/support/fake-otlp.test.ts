// The OTLP receiver the tracing tests read spans with (fake-otlp.ts) reads the binary protobuf
// encoding exactly as it reads JSON: the same spans, serialized by OpenTelemetry's own
// serializers (@opentelemetry/otlp-transformer, what the exporters send), decode to the same
// values; bad bodies and other content types are refused as the spec says.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { SpanKind, SpanStatusCode, trace, ROOT_CONTEXT } from '@opentelemetry/api';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider, type ReadableSpan } from '@opentelemetry/sdk-trace';
import { startFakeOtlp, type FakeOtlp } from './fake-otlp.ts';

let spans: ReadableSpan[];
let json: FakeOtlp;
let proto: FakeOtlp;

before(async () => {
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({ resource: resourceFromAttributes({ 'service.name': 'svc' }), spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  const tracer = provider.getTracer('scope-a');
  const other = tracer.startSpan('other');
  const root = tracer.startSpan('root', { kind: SpanKind.SERVER, attributes: { s: 'é', i: 42, b: true, d: 0.5, list: ['x', 'y'] } });
  const child = tracer.startSpan('child', { kind: SpanKind.CLIENT, links: [{ context: other.spanContext() }] }, trace.setSpan(ROOT_CONTEXT, root));
  child.setStatus({ code: SpanStatusCode.ERROR, message: 'refused' });
  child.end();
  other.end();
  root.end();
  spans = exporter.getFinishedSpans();
  json = await startFakeOtlp();
  proto = await startFakeOtlp();
});

after(async () => { await json.close(); await proto.close(); });

const post = (url: string, type: string, body: Uint8Array | string): Promise<Response> =>
  fetch(`${url}/v1/traces`, { method: 'POST', headers: { 'content-type': type }, body });

test('protobuf and JSON bodies of the same spans decode alike', async () => {
  const a = await post(json.url, 'application/json', JsonTraceSerializer.serializeRequest(spans)!);
  const b = await post(proto.url, 'application/x-protobuf', ProtobufTraceSerializer.serializeRequest(spans)!);
  assert.equal(a.status, 200);
  assert.equal(b.status, 200);
  assert.equal(b.headers.get('content-type'), 'application/x-protobuf', 'answered in the request\'s encoding');
  assert.equal(json.spans.length, 3);
  assert.deepEqual(proto.spans, json.spans);
  const child = proto.spans.find((s) => s.name === 'child')!;
  const root = proto.spans.find((s) => s.name === 'root')!;
  assert.equal(child.parentSpanId, root.spanId);
  assert.equal(child.kind, 3);
  assert.deepEqual(child.status, { code: 2, message: 'refused' });
  assert.deepEqual(child.links, [{ traceId: proto.spans.find((s) => s.name === 'other')!.traceId, spanId: proto.spans.find((s) => s.name === 'other')!.spanId }]);
  assert.deepEqual(root.attributes, { s: 'é', i: 42, b: true, d: 0.5, list: ['x', 'y'] });
  assert.equal(root.resource['service.name'], 'svc');
  assert.equal(root.scope, 'scope-a');
  assert.ok(root.endTimeUnixNano >= root.startTimeUnixNano && root.startTimeUnixNano > 0n);
});

test('a malformed body is a 400 with a google.rpc.Status; another content type a 415', async () => {
  const bad = await post(proto.url, 'application/x-protobuf', new Uint8Array([0x0a, 0x05, 0x01]));
  assert.equal(bad.status, 400);
  const status = Buffer.from(await bad.arrayBuffer());
  assert.equal(status[0], 0x08, 'field 1 (code), a varint');
  assert.equal(status[1], 3, 'INVALID_ARGUMENT');
  const badIds = await post(json.url, 'application/json', JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: 'AAAA', spanId: '1', name: 'x' }] }] }] }));
  assert.equal(badIds.status, 400);
  assert.match(((await badIds.json()) as { message: string }).message, /traceId/);
  assert.equal((await post(json.url, 'text/plain', 'x')).status, 415);
});
