// cloud-trace.ts — Google Cloud's request context: the X-Cloud-Trace-Context header Cloud Run's
// front end sets on every request ("TRACE_ID/SPAN_ID;o=OPTIONS"), and the fields Cloud Logging
// reads from a JSON log line to join it to that trace and to show it as a request.

export interface CloudTrace {
  /** 32 lowercase hex digits. */
  traceId: string;
  /** The span id as the header gives it: an unsigned 64-bit decimal number. */
  spanId: string;
  sampled: boolean;
}

const headerPattern = /^([0-9a-fA-F]{32})\/(\d{1,20})(?:;o=([0-9]+))?$/;

/** parseCloudTrace reads X-Cloud-Trace-Context; undefined when absent or malformed (never trusted blindly). */
export function parseCloudTrace(header: string | string[] | undefined): CloudTrace | undefined {
  if (typeof header !== 'string' || header.length > 80) return undefined;
  const m = headerPattern.exec(header.trim());
  if (m === null || /^0+$/.test(m[1]!)) return undefined;
  return { traceId: m[1]!.toLowerCase(), spanId: m[2]!, sampled: m[3] === '1' };
}

/**
 * traceFields are the keys Cloud Logging lifts out of a JSON line's payload into the LogEntry:
 * the trace resource name needs the project; without one the trace id still goes in `trace`
 * unprefixed (Cloud Logging keeps it, the console just cannot link it).
 */
export function traceFields(trace: CloudTrace, project: string): Record<string, string | boolean> {
  return {
    'logging.googleapis.com/trace': project === '' ? trace.traceId : `projects/${project}/traces/${trace.traceId}`,
    'logging.googleapis.com/spanId': trace.spanId,
    'logging.googleapis.com/trace_sampled': trace.sampled,
  };
}

export interface HttpRequestFacts {
  method: string;
  url: string;
  status: number;
  latencyMs: number;
  userAgent: string | undefined;
  remoteIp: string;
  protocol: string;
  requestSize?: number;
}

/**
 * httpRequestField is Cloud Logging's HttpRequest object (LogEntry.httpRequest): sizes are int64
 * as decimal strings and latency a Duration string ("0.012s"), as the LogEntry JSON mapping says.
 */
export function httpRequestField(f: HttpRequestFacts): Record<string, string | number> {
  const out: Record<string, string | number> = {
    requestMethod: f.method,
    requestUrl: f.url,
    status: f.status,
    latency: `${(f.latencyMs / 1000).toFixed(6)}s`,
    remoteIp: f.remoteIp,
    protocol: f.protocol,
  };
  if (f.userAgent !== undefined) out.userAgent = f.userAgent.slice(0, 256);
  if (f.requestSize !== undefined) out.requestSize = String(f.requestSize);
  return out;
}
