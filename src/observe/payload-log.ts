// payload-log.ts — request and response bodies as CloudEvents, as KServe's inference logger
// writes them (type org.kubeflow.serving.inference.request|response, one ce-id for both: the
// request id), to an HTTP sink in the binary content mode, or as JSON Lines (the structured JSON
// event format) to a file. Off the request path: an answered request leaves its events in a
// bounded queue (events and bytes) and returns; a full queue drops them, counted. A slow, hung
// or refusing sink costs events, never a prediction. Headers are redacted by the logs' rules.

import { hostname } from 'node:os';
import { open, type FileHandle } from 'node:fs/promises';
import type { IncomingHttpHeaders } from 'node:http';
import type { Logger } from 'pino';
import { z } from 'zod';
import { duration, size } from '../config/units.ts';
import { isRedactedHeader } from './log.ts';
import { payloadEvents, payloadQueue } from './metrics.ts';

/** payloadLogSchema is the config's `payloadLog` block. */
export const payloadLogSchema = z.strictObject({
  url: z.url({ protocol: /^https?$/ }).optional().describe('CloudEvents HTTP sink (KServe logger `url`): each event is POSTed in the binary content mode (ce-* headers, the body as it was).'),
  file: z.string().min(1).optional().describe('JSON Lines file: each event one line in the CloudEvents JSON format (appended).'),
  mode: z.enum(['all', 'request', 'response']).default('all').describe('Which bodies are logged (KServe logger `mode`).'),
  percent: z.coerce.number().min(0).max(100).default(100).describe('Share of requests logged (evenly spread, e.g. 10 = every tenth).'),
  headers: z.array(z.string().min(1)).default([]).describe(
    'Request headers put in each event\'s `metadata` attribute (KServe `metadataHeaders`), "*" for all. Authorization, cookies and API keys are redacted as in the logs.'),
  source: z.string().min(1).optional().describe('The events\' `source` attribute; default "urn:infergate:HOSTNAME".'),
  namespace: z.string().default('').describe('The events\' `namespace` attribute (KServe: the InferenceService\'s namespace).'),
  component: z.string().default('predictor').describe('The events\' `component` attribute.'),
  maxQueue: z.coerce.number().int().min(1).default(1000).describe('Events waiting for the sink at most; beyond it new events are dropped (infergate_payload_events_total{outcome="dropped"}).'),
  maxQueueBytes: size.prefault('64mb').describe('Body bytes waiting for the sink at most; beyond it new events are dropped.'),
  concurrency: z.coerce.number().int().min(1).max(64).default(4).describe('Events sent to the HTTP sink at once.'),
  timeoutMs: duration.prefault('5s').describe('An HTTP sink that has not answered an event in this time fails it (counted, not retried).'),
}).refine((c) => (c.url === undefined) !== (c.file === undefined), { message: 'payloadLog needs exactly one of `url` (a CloudEvents HTTP sink) or `file` (JSON Lines)' })
  .describe('Payload logging as KServe\'s logger does it: request and response bodies as CloudEvents to an HTTP sink or a JSON Lines file. Read at start only.');

export type PayloadLogConfig = z.infer<typeof payloadLogSchema>;

/** PayloadRecord is one answered request as http.ts hands it over. */
export interface PayloadRecord {
  requestId: string;
  model: string;
  target: string | undefined;
  headers: IncomingHttpHeaders;
  /** The body as read, when the route read it. */
  requestBody: Promise<Buffer> | undefined;
  status: number;
  /** The answer's body as the route made it (bytes, text, or a value written as JSON); a stream is not logged. */
  responseBody: unknown;
  responseType: string | undefined;
}

/** PayloadLog is the running logger. */
export interface PayloadLog {
  record(r: PayloadRecord): void;
  /** Waits up to `ms` for the queue to empty, then stops. */
  close(ms?: number): Promise<void>;
}

export const requestType = 'org.kubeflow.serving.inference.request';
export const responseType = 'org.kubeflow.serving.inference.response';

interface QueuedEvent { attributes: Record<string, string>; contentType: string; data: Buffer | string; bytes: number }

/** payloadLog is the running payload logger, or undefined when the config has none. */
export let payloadLog: PayloadLog | undefined;

/** startPayloadLog turns payload logging on when the config asks for it. */
export async function startPayloadLog(config: PayloadLogConfig | undefined, log: Logger): Promise<void> {
  if (config === undefined) return;
  const file = config.file === undefined ? undefined : await open(config.file, 'a');
  payloadLog = createPayloadLog(config, log, file);
}

/** stopPayloadLog sends what it can within `ms`, then turns payload logging off. */
export async function stopPayloadLog(ms = 2000): Promise<void> {
  const p = payloadLog;
  payloadLog = undefined;
  await p?.close(ms);
}

/** createPayloadLog makes a payload logger writing to `config.url`, or to `file` (open for appending). */
export function createPayloadLog(config: PayloadLogConfig, log: Logger, file?: FileHandle): PayloadLog {
  const sink = file === undefined ? 'http' : 'file';
  const metrics = { sent: payloadEvents.labels(sink, 'sent'), failed: payloadEvents.labels(sink, 'failed'), dropped: payloadEvents.labels(sink, 'dropped') };
  const queue: QueuedEvent[] = [];
  let queuedBytes = 0;
  let running = 0;
  let share = 0;
  let warned = false;
  let closed = false;
  let idle: (() => void) | undefined;
  const limit = file === undefined ? config.concurrency : 1;
  const source = config.source ?? `urn:infergate:${hostname()}`;

  const enqueue = (e: QueuedEvent): void => {
    if (closed || queue.length >= config.maxQueue || queuedBytes + e.bytes > config.maxQueueBytes) {
      metrics.dropped.inc();
      return;
    }
    queue.push(e);
    queuedBytes += e.bytes;
    payloadQueue.set(queue.length);
    pump();
  };

  const pump = (): void => {
    while (running < limit && queue.length > 0) {
      const e = queue.shift()!;
      queuedBytes -= e.bytes;
      payloadQueue.set(queue.length);
      running++;
      const sent = file === undefined ? post(config, e) : file.write(`${structured(e)}\n`).then(() => undefined);
      sent.then(() => metrics.sent.inc(), (err: unknown) => {
        metrics.failed.inc();
        // The first failure is worth a warning; after that the counter says it.
        if (!warned) log.warn({ sink, error: (err as Error).message }, 'payload log event not written; later failures are only counted');
        warned = true;
      }).finally(() => {
        running--;
        pump();
        if (running === 0 && queue.length === 0) idle?.();
      });
    }
  };

  return {
    record: (r) => {
      share += config.percent;
      if (share < 100) return;
      share -= 100;
      const attributes = (type: string): Record<string, string> => ({
        specversion: '1.0', id: r.requestId, source, type, time: new Date().toISOString(),
        inferenceservicename: r.model, namespace: config.namespace, component: config.component, endpoint: r.target ?? '',
        metadata: JSON.stringify(metadataOf(r.headers, config.headers)),
      });
      // Both events go into the queue together, the request first, once its body is known.
      const response = config.mode === 'request' ? undefined : responseEvent(r, attributes);
      if (config.mode === 'response' || r.requestBody === undefined) {
        if (response !== undefined) enqueue(response);
        return;
      }
      r.requestBody.then((body) => {
        const contentType = typeof r.headers['content-type'] === 'string' ? r.headers['content-type'] : 'application/octet-stream';
        enqueue({ attributes: attributes(requestType), contentType, data: body, bytes: body.length });
        if (response !== undefined) enqueue(response);
      }, () => { if (response !== undefined) enqueue(response); });
    },
    close: async (ms = 2000) => {
      closed = true;
      if (running > 0 || queue.length > 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, ms);
          timer.unref();
          idle = () => { clearTimeout(timer); resolve(); };
        });
      }
      await file?.close();
    },
  };
}

// responseEvent makes the response's event, or undefined for a streamed answer (never buffered to be logged).
function responseEvent(r: PayloadRecord, attributes: (type: string) => Record<string, string>): QueuedEvent | undefined {
  const body = r.responseBody;
  let data: Buffer | string;
  let contentType = r.responseType ?? 'application/json';
  if (body === undefined || body === null) data = '';
  else if (typeof body === 'string' || Buffer.isBuffer(body)) data = body;
  else if (body instanceof Uint8Array) data = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  else if (typeof (body as { pipe?: unknown }).pipe === 'function') return undefined;
  else {
    data = JSON.stringify(body, (_, v: unknown) => (typeof v === 'bigint' ? JSON.rawJSON(v.toString()) : v));
    contentType = 'application/json';
  }
  return { attributes: attributes(responseType), contentType, data, bytes: typeof data === 'string' ? data.length : data.length };
}

// metadataOf gives the configured request headers as KServe's metadata (name → values), redacted.
function metadataOf(headers: IncomingHttpHeaders, names: readonly string[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  if (names.length === 0) return out;
  const all = names.includes('*');
  const keys = all ? Object.keys(headers) : names.map((n) => n.toLowerCase());
  for (const key of keys) {
    const value = headers[key];
    if (value === undefined) continue;
    const values = Array.isArray(value) ? value : [String(value)];
    out[key] = isRedactedHeader(key) ? values.map(() => '[redacted]') : values;
  }
  return out;
}

// post sends one event to the HTTP sink in the binary content mode; anything but 2xx fails it.
async function post(config: PayloadLogConfig, e: QueuedEvent): Promise<void> {
  const headers: Record<string, string> = { 'content-type': e.contentType };
  for (const [k, v] of Object.entries(e.attributes)) headers[`ce-${k}`] = headerValue(v);
  const res = await fetch(config.url!, { method: 'POST', headers, body: e.data, signal: AbortSignal.timeout(config.timeoutMs) });
  await res.body?.cancel();
  if (res.status < 200 || res.status > 299) throw new Error(`the sink answered ${res.status}`);
}

/**
 * headerValue percent-encodes an attribute for a ce-* header: CloudEvents HTTP binding v1.0.2
 * §3.1.3.2 — space, double quote, percent and every character outside printable ASCII.
 */
export function headerValue(value: string): string {
  return value.replace(/[^\x21\x23-\x24\x26-\x7e]/gu, (c) => [...Buffer.from(c, 'utf8')].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join(''));
}

// structured writes an event in the CloudEvents JSON format: JSON data as JSON, other bytes as data_base64.
function structured(e: QueuedEvent): string {
  const out: Record<string, unknown> = { ...e.attributes, datacontenttype: e.contentType };
  const text = typeof e.data === 'string' ? e.data : undefined;
  if (e.data.length > 0) {
    const media = e.contentType.split(';', 1)[0]!.trim().toLowerCase();
    let parsed: { ok: boolean; value?: unknown } = { ok: false };
    if (media === 'application/json' || media.endsWith('+json') || media === 'text/json') {
      try {
        parsed = { ok: true, value: JSON.parse(text ?? (e.data as Buffer).toString('utf8')) };
      } catch { /* not JSON after all: written as bytes */ }
    }
    if (parsed.ok) out.data = parsed.value;
    else out.data_base64 = (typeof e.data === 'string' ? Buffer.from(e.data, 'utf8') : e.data).toString('base64');
  }
  return JSON.stringify(out);
}
