// fake-otlp.ts (test support) — an OTLP/HTTP trace receiver written from the OTLP specification
// (https://opentelemetry.io/docs/specs/otlp/#otlphttp): POST /v1/traces with an
// ExportTraceServiceRequest, answered 200 with an ExportTraceServiceResponse in the request's
// encoding. Both encodings: binary protobuf (application/x-protobuf, read by otlp-protobuf.ts)
// and JSON (application/json; the spec's JSON mapping: lowerCamelCase field names, trace and span
// ids as hex strings, enums as integers, 64-bit integers as decimal strings or numbers), gzip'd
// or not. The gateway's exporter (@opentelemetry/exporter-trace-otlp-http) sends JSON. Another
// content type gets 415; a malformed body gets 400 with a google.rpc.Status, as the spec says.

import { createServer, type IncomingMessage, type Server } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { exportRequestOf } from './otlp-protobuf.ts';

/** OtlpSpan is one received span, its attributes read into plain values. */
export interface OtlpSpan {
  traceId: string;
  spanId: string;
  /** '' for a root span. */
  parentSpanId: string;
  name: string;
  /** SpanKind: 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  kind: number;
  startTimeUnixNano: bigint;
  endTimeUnixNano: bigint;
  attributes: Record<string, unknown>;
  links: Array<{ traceId: string; spanId: string }>;
  /** StatusCode: 0 unset, 1 ok, 2 error. */
  status: { code: number; message?: string };
  /** The resource attributes of the ResourceSpans that carried it. */
  resource: Record<string, unknown>;
  scope: string;
}

export interface FakeOtlp {
  url: string;
  spans: OtlpSpan[];
  /** Spans received, kept or not. */
  readonly received: number;
  /** Content types of the export requests received. */
  contentTypes: string[];
  /** Resolves with the spans once `done(spans)` holds (checked on each export). */
  waitFor(done: (spans: OtlpSpan[]) => boolean, timeoutMs?: number): Promise<OtlpSpan[]>;
  close(): Promise<void>;
}

const hex = (n: number): RegExp => new RegExp(`^[0-9a-f]{${n}}$`);
const traceIdPattern = hex(32);
const spanIdPattern = hex(16);

/** startFakeOtlp listens on 127.0.0.1, port 0; with `keep: false` it decodes and counts spans but keeps none (benchmarks). */
export async function startFakeOtlp(options: { keep?: boolean } = {}): Promise<FakeOtlp> {
  const keep = options.keep !== false;
  const spans: OtlpSpan[] = [];
  const contentTypes: string[] = [];
  const waiters = new Set<() => void>();
  let received = 0;
  const server: Server = createServer((req, res) => {
    void read(req).then((body) => {
      const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
      const protobuf = type === 'application/x-protobuf';
      // Answers in the request's encoding: an empty ExportTraceServiceResponse, or a google.rpc.Status.
      const answer = (status: number, doc: { code?: number; message?: string }): void => {
        if (protobuf) res.writeHead(status, { 'content-type': 'application/x-protobuf' }).end(status === 200 ? Buffer.alloc(0) : rpcStatus(doc.code!, doc.message!));
        else res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(doc));
      };
      if (req.method !== 'POST') return answer(405, { code: 12, message: 'POST only' });
      if ((req.url ?? '').split('?')[0] !== '/v1/traces') return answer(404, { code: 5, message: `no signal at ${req.url}` });
      if (keep) contentTypes.push(type);
      if (type !== 'application/json' && !protobuf) return answer(415, { code: 3, message: `OTLP/HTTP takes application/x-protobuf or application/json, not ${type}` });
      let decoded: OtlpSpan[];
      try {
        const raw = req.headers['content-encoding'] === 'gzip' ? gunzipSync(body) : body;
        decoded = decodeExport(protobuf ? exportRequestOf(raw) : JSON.parse(raw.toString('utf8')));
      } catch (err) {
        return answer(400, { code: 3, message: (err as Error).message });
      }
      received += decoded.length;
      if (keep) spans.push(...decoded);
      answer(200, {});
      for (const w of [...waiters]) w();
    }, () => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    spans,
    contentTypes,
    get received() { return received; },
    waitFor: (done, timeoutMs = 15_000) => new Promise((resolve, reject) => {
      const check = (): void => {
        if (!done(spans)) return;
        clearTimeout(timer);
        waiters.delete(check);
        resolve(spans);
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`the spans wanted did not arrive in ${timeoutMs} ms; got ${spans.length}: ${spans.map((s) => s.name).join(', ')}`));
      }, timeoutMs);
      waiters.add(check);
      check();
    }),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

// rpcStatus encodes a google.rpc.Status { int32 code = 1; string message = 2; }.
function rpcStatus(code: number, message: string): Buffer {
  const text = Buffer.from(message, 'utf8');
  const length: number[] = [];
  for (let n = text.length; ; n >>>= 7) {
    if (n < 0x80) { length.push(n); break; }
    length.push((n & 0x7f) | 0x80);
  }
  return Buffer.concat([Buffer.from([0x08, code, 0x12, ...length]), text]);
}

function read(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

// decodeExport reads an ExportTraceServiceRequest: resourceSpans[] → scopeSpans[] → spans[].
function decodeExport(doc: unknown): OtlpSpan[] {
  const out: OtlpSpan[] = [];
  for (const rs of list(field(doc, 'resourceSpans'), 'resourceSpans')) {
    const resource = attributesOf(field(field(rs, 'resource') ?? {}, 'attributes'));
    for (const ss of list(field(rs, 'scopeSpans'), 'scopeSpans')) {
      const scope = String(field(field(ss, 'scope') ?? {}, 'name') ?? '');
      for (const s of list(field(ss, 'spans'), 'spans')) out.push(decodeSpan(s, resource, scope));
    }
  }
  return out;
}

function decodeSpan(s: unknown, resource: Record<string, unknown>, scope: string): OtlpSpan {
  const traceId = String(field(s, 'traceId') ?? '');
  const spanId = String(field(s, 'spanId') ?? '');
  const parentSpanId = String(field(s, 'parentSpanId') ?? '');
  if (!traceIdPattern.test(traceId) || /^0+$/.test(traceId)) throw new Error(`span traceId "${traceId}" is not 32 hex digits (OTLP/JSON writes ids as hex)`);
  if (!spanIdPattern.test(spanId) || /^0+$/.test(spanId)) throw new Error(`span spanId "${spanId}" is not 16 hex digits`);
  if (parentSpanId !== '' && !spanIdPattern.test(parentSpanId)) throw new Error(`span parentSpanId "${parentSpanId}" is not 16 hex digits`);
  const name = field(s, 'name');
  if (typeof name !== 'string' || name === '') throw new Error('a span needs a name');
  const kind = field(s, 'kind') ?? 0;
  if (typeof kind !== 'number' || !Number.isInteger(kind) || kind < 0 || kind > 5) throw new Error(`span kind ${JSON.stringify(kind)} is not a SpanKind integer`);
  const status = (field(s, 'status') ?? {}) as { code?: unknown; message?: unknown };
  return {
    traceId, spanId, parentSpanId, name, kind,
    startTimeUnixNano: uint64(field(s, 'startTimeUnixNano'), 'startTimeUnixNano'),
    endTimeUnixNano: uint64(field(s, 'endTimeUnixNano'), 'endTimeUnixNano'),
    attributes: attributesOf(field(s, 'attributes')),
    links: list(field(s, 'links'), 'links').map((l) => ({ traceId: String(field(l, 'traceId')), spanId: String(field(l, 'spanId')) })),
    status: { code: typeof status.code === 'number' ? status.code : 0, ...(typeof status.message === 'string' ? { message: status.message } : {}) },
    resource, scope,
  };
}

// A JSON field by its lowerCamelCase name (receivers also accept the proto's snake_case, per the spec).
function field(obj: unknown, name: string): unknown {
  if (obj === null || typeof obj !== 'object') return undefined;
  const o = obj as Record<string, unknown>;
  return o[name] ?? o[name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)];
}

function list(value: unknown, name: string): unknown[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new Error(`${name} is not an array`);
  return value;
}

function uint64(value: unknown, name: string): bigint {
  if (typeof value === 'string' && /^\d+$/.test(value)) return BigInt(value);
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0) return BigInt(value);
  throw new Error(`${name} ${JSON.stringify(value)} is not a uint64 (a decimal string or an integer)`);
}

// attributesOf reads KeyValue[] into plain values (AnyValue: stringValue, boolValue, intValue, doubleValue, arrayValue).
function attributesOf(kvs: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const kv of list(kvs, 'attributes')) out[String(field(kv, 'key'))] = anyValue(field(kv, 'value'));
  return out;
}

function anyValue(v: unknown): unknown {
  if (v === null || typeof v !== 'object') return undefined;
  const o = v as Record<string, unknown>;
  if ('stringValue' in o) return o.stringValue;
  if ('boolValue' in o) return o.boolValue;
  if ('intValue' in o) return Number(o.intValue);
  if ('doubleValue' in o) return o.doubleValue;
  if ('arrayValue' in o) return list(field(o.arrayValue, 'values'), 'values').map(anyValue);
  return undefined;
}
