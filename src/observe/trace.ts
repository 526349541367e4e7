// trace.ts — the gateway's side of tracing: the `tracing` config block, the span handle the
// request path codes against, and the one switch. The OpenTelemetry SDK lives in otel.ts and
// is imported (dynamically) only when tracing is on: when it is off, nothing of it is loaded
// and the request path pays one `tracing === undefined` check per place that could make a span.

import type { IncomingHttpHeaders } from 'node:http';
import { z } from 'zod';
import { duration } from '../config/units.ts';

/** tracingSchema is the config's `tracing` block. */
export const tracingSchema = z.strictObject({
  endpoint: z.string().optional().describe(
    'OTLP/HTTP endpoint (base URL): spans go to ENDPOINT/v1/traces. Default $OTEL_EXPORTER_OTLP_ENDPOINT ' +
    '($OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is taken as the full URL). Tracing is off when none of them is set; read at start only.'),
  serviceName: z.string().min(1).default('infergate').describe('service.name of the spans; $OTEL_SERVICE_NAME wins over it.'),
  sampleRatio: z.coerce.number().min(0).max(1).default(1).describe(
    'Share of new traces recorded (0..1). A client\'s traceparent decides for its own trace: sampled (flag 01) is recorded, 00 is not.'),
  exportDelayMs: duration.prefault('5s').describe('How long finished spans wait to be sent together (the batch span processor\'s delay).'),
}).describe('OpenTelemetry tracing over OTLP/HTTP: a span per request, with child spans for body read, transform, batch wait, each backend attempt and the shadow call.');

export type TracingConfig = z.infer<typeof tracingSchema>;

/** SpanAttributes are a span's attributes. */
export type SpanAttributes = Record<string, string | number | boolean>;

/** SpanKind says which side of a call a span is: the gateway serving, calling a server, or inside. */
export type SpanKind = 'server' | 'client' | 'internal';

/** TraceSpan is one span as the request path sees it. */
export interface TraceSpan {
  /** child starts a span under this one; `links` ties it to other traces' spans (the other requests of a batch). */
  child(name: string, kind?: SpanKind, attributes?: SpanAttributes, links?: readonly TraceSpan[]): TraceSpan;
  set(key: string, value: string | number | boolean): void;
  /** end ends the span; with `err` it is marked failed. Later calls do nothing. */
  end(err?: unknown): void;
  /** The W3C trace context headers (traceparent, tracestate) naming this span as the caller. */
  headers(): Record<string, string>;
}

/** Tracing is a started tracer. */
export interface Tracing {
  /** startRequest starts a request's server span, under the trace context in `headers` when it is valid. */
  startRequest(name: string, headers: IncomingHttpHeaders | Record<string, string>, attributes: SpanAttributes): TraceSpan;
  /** shutdown sends the spans not yet sent and stops. */
  shutdown(): Promise<void>;
}

/** tracing is the running tracer, or undefined when tracing is off (the only check the hot path makes). */
export let tracing: Tracing | undefined;

/** TracingSettings are what otel.ts is started with, the config and the OTEL_* variables resolved. */
export interface TracingSettings {
  /** Full URL of the traces endpoint; undefined leaves it to the exporter's reading of the environment. */
  url: string | undefined;
  serviceName: string;
  sampleRatio: number;
  exportDelayMs: number;
}

/**
 * tracingSettings says whether tracing is on, and with what: the config's block over the
 * standard variables (OTEL_SDK_DISABLED and OTEL_TRACES_EXPORTER=none turn it off).
 */
export function tracingSettings(config: TracingConfig, env: Record<string, string | undefined>): TracingSettings | undefined {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return undefined;
  if (env.OTEL_TRACES_EXPORTER?.trim().toLowerCase() === 'none') return undefined;
  const base = config.endpoint ?? nonEmpty(env.OTEL_EXPORTER_OTLP_ENDPOINT);
  const full = nonEmpty(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
  if (config.endpoint === undefined && base === undefined && full === undefined) return undefined;
  // OTLP/HTTP: a base endpoint gets the signal's path appended; a signal-specific one is used as is.
  const url = config.endpoint !== undefined || full === undefined ? `${base!.replace(/\/+$/, '')}/v1/traces` : full;
  const delay = Number(env.OTEL_BSP_SCHEDULE_DELAY);
  return {
    url,
    serviceName: nonEmpty(env.OTEL_SERVICE_NAME) ?? config.serviceName,
    sampleRatio: config.sampleRatio,
    exportDelayMs: Number.isFinite(delay) && delay >= 0 && env.OTEL_BSP_SCHEDULE_DELAY?.trim() !== '' ? delay : config.exportDelayMs,
  };
}

/** startTracing turns tracing on when the config or the environment asks for it; says whether it did. */
export async function startTracing(config: TracingConfig, env: Record<string, string | undefined> = process.env): Promise<boolean> {
  const settings = tracingSettings(config, env);
  if (settings === undefined) return false;
  const { createTracing } = await import('./otel.ts');
  tracing = createTracing(settings);
  return true;
}

/** stopTracing sends what is left and turns tracing off. */
export async function stopTracing(): Promise<void> {
  const t = tracing;
  tracing = undefined;
  await t?.shutdown();
}

/** spanned ends `span` when `work` settles, failed when it rejects, and gives work's outcome. */
export function spanned<T>(span: TraceSpan, work: Promise<T>): Promise<T> {
  return work.then((value) => { span.end(); return value; }, (err: unknown) => { span.end(err); throw err; });
}

/**
 * derive copies `base` with `over` on top, keeping its prototype and accessors (a call context's
 * logger is made on first read; a spread would make it at once, or lose it).
 */
export function derive<T extends object>(base: T, over: Partial<T>): T {
  const out = Object.create(Object.getPrototypeOf(base) as object | null, Object.getOwnPropertyDescriptors(base)) as T;
  for (const [key, value] of Object.entries(over)) Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  return out;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}
