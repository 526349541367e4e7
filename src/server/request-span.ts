// request-span.ts — a request's server span, when tracing is on: started under the client's
// trace context and named by its route template, ended with what the call came to.

import { clip, type GatewayError } from '../errors.ts';
import { tracing, type TraceSpan } from '../observe/trace.ts';
import type { CallContext } from '../types.ts';
import type { IncomingMessage } from 'node:http';
import { forwardHeaders } from './request-id.ts';

// requestSpan starts a request's server span, named by its route template (never the raw path: span
// names stay few), under the client's trace context (forwardHeaders reads X-Cloud-Trace-Context too).
export function requestSpan(req: IncomingMessage, route: string, frontend: string, requestId: string): TraceSpan {
  const method = req.method ?? 'GET';
  return tracing!.startRequest(`${method} ${route}`, forwardHeaders(req.headers, requestId), {
    'http.request.method': method, 'http.route': route, 'url.path': clip(req.url ?? '/', 256),
    'infergate.frontend': frontend, 'infergate.request_id': requestId,
  });
}

// endRequestSpan ends the request's span with what the call came to.
export function endRequestSpan(span: TraceSpan, code: number, call: CallContext | undefined, failed: GatewayError | undefined): void {
  span.set('http.response.status_code', code);
  if (call !== undefined && call.model !== '') span.set('infergate.model', call.model);
  if (call?.target !== undefined) span.set('infergate.target', call.target);
  // OpenTelemetry's HTTP conventions: a server span fails on a 5xx only, the client's errors are not its own.
  span.end(code >= 500 ? failed : undefined);
}
