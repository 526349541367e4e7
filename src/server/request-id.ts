// request-id.ts — a request's id and the trace context it passes on. The id is the client's
// x-request-id, else OCI's opc-request-id, else the trace id of Google Cloud's
// X-Cloud-Trace-Context, else a new UUID. W3C traceparent/tracestate pass on when well formed;
// without one, an X-Cloud-Trace-Context is restated as a traceparent, so the trace a Google
// load balancer started goes on to the backends and the gateway's own spans.

import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

const requestIdPattern = /^[A-Za-z0-9._:-]{1,128}$/;
// OCI's own ids join their parts with slashes (…/…/…).
const ociRequestIdPattern = /^[A-Za-z0-9._:/-]{1,128}$/;
const traceparentPattern = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;
// https://cloud.google.com/trace/docs/trace-context#legacy-http-header: TRACE_ID/SPAN_ID;o=OPTIONS,
// the trace id 32 hex digits, the span id a decimal 64-bit number, o=1 when the trace is sampled.
const cloudTracePattern = /^([0-9a-fA-F]{32})\/(\d{1,20})(?:;o=([01]))?$/;

/** requestIdOf gives the id a request is known by in logs, answers and backend calls. */
export function requestIdOf(headers: IncomingHttpHeaders): string {
  const own = headers['x-request-id'];
  if (typeof own === 'string' && requestIdPattern.test(own)) return own;
  const oci = headers['opc-request-id'];
  if (typeof oci === 'string' && ociRequestIdPattern.test(oci)) return oci;
  const cloud = cloudTraceOf(headers);
  return cloud?.traceId ?? randomUUID();
}

/** forwardHeaders gives the headers every backend call of the request carries. */
export function forwardHeaders(headers: IncomingHttpHeaders, requestId: string): Record<string, string> {
  const out: Record<string, string> = { 'x-request-id': requestId };
  const tp = headers.traceparent;
  if (typeof tp === 'string' && traceparentPattern.test(tp)) {
    out.traceparent = tp;
    const ts = headers.tracestate;
    if (typeof ts === 'string' && ts.length <= 512) out.tracestate = ts;
    return out;
  }
  const cloud = cloudTraceOf(headers);
  if (cloud !== undefined) out.traceparent = `00-${cloud.traceId}-${cloud.spanId}-${cloud.sampled ? '01' : '00'}`;
  return out;
}

// cloudTraceOf reads X-Cloud-Trace-Context, or gives undefined when it is absent or malformed
// (an all-zero trace or span id is invalid in W3C trace context, so it is dropped too).
function cloudTraceOf(headers: IncomingHttpHeaders): { traceId: string; spanId: string; sampled: boolean } | undefined {
  const value = headers['x-cloud-trace-context'];
  if (typeof value !== 'string') return undefined;
  const m = cloudTracePattern.exec(value.trim());
  if (m === null) return undefined;
  const span = BigInt(m[2]!);
  if (span === 0n || span >= 2n ** 64n || /^0+$/.test(m[1]!)) return undefined;
  return { traceId: m[1]!.toLowerCase(), spanId: span.toString(16).padStart(16, '0'), sampled: m[3] === '1' };
}
