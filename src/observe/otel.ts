// otel.ts — the OpenTelemetry SDK behind trace.ts's span handle: a tracer provider with a
// parent-based ratio sampler, a batch span processor and the OTLP/HTTP exporter. Loaded by
// trace.ts with a dynamic import, only when tracing is on. Parents are passed explicitly (no
// context manager, no async hooks): every span the path makes names its parent.

import { ROOT_CONTEXT, SpanKind as OtelKind, SpanStatusCode, trace, type Context, type Link, type Span, type TextMapGetter, type TextMapSetter } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { defaultResource, detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, ParentBasedSampler, TraceIdRatioBasedSampler, TracerProvider } from '@opentelemetry/sdk-trace';
import { ATTR_ERROR_TYPE, ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import type { SpanAttributes, SpanKind, TraceSpan, Tracing, TracingSettings } from './trace.ts';

const kinds: Record<SpanKind, OtelKind> = { server: OtelKind.SERVER, client: OtelKind.CLIENT, internal: OtelKind.INTERNAL };

const propagator = new W3CTraceContextPropagator();
const getter: TextMapGetter<Record<string, unknown>> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => {
    const v = carrier[key];
    return typeof v === 'string' || Array.isArray(v) ? v as string | string[] : undefined;
  },
};
const setter: TextMapSetter<Record<string, string>> = { set: (carrier, key, value) => { carrier[key] = value; } };

/** createTracing starts the SDK with `settings`. */
export function createTracing(settings: TracingSettings): Tracing {
  const resource = defaultResource()
    .merge(resourceFromAttributes({ [ATTR_SERVICE_NAME]: settings.serviceName }))
    // OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME, as every OpenTelemetry SDK reads them.
    .merge(detectResources({ detectors: [envDetector] }));
  const exporter = new OTLPTraceExporter(settings.url === undefined ? {} : { url: settings.url });
  const provider = new TracerProvider({
    resource,
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(settings.sampleRatio) }),
    spanProcessors: [new BatchSpanProcessor({ exporter, scheduledDelayMillis: settings.exportDelayMs })],
  });
  const tracer = provider.getTracer('infergate');

  const wrap = (span: Span, context: Context): TraceSpan => {
    let ended = false;
    let ownContext: Context | undefined;
    const handle: TraceSpan = {
      child: (name, kind = 'internal', attributes, links) => {
        ownContext ??= trace.setSpan(context, span);
        const spanLinks: Link[] | undefined = links?.map((l) => ({ context: spanOf(l).spanContext() }));
        const child = tracer.startSpan(name, { kind: kinds[kind], ...(attributes === undefined ? {} : { attributes }), ...(spanLinks === undefined ? {} : { links: spanLinks }) }, ownContext);
        return wrap(child, ownContext);
      },
      set: (key, value) => { span.setAttribute(key, value); },
      end: (err) => {
        if (ended) return;
        ended = true;
        if (err !== undefined) {
          const code = (err as { code?: unknown }).code;
          span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message ?? String(err) });
          span.setAttribute(ATTR_ERROR_TYPE, typeof code === 'string' ? code : (err as Error).name ?? 'error');
        }
        span.end();
      },
      headers: () => {
        const out: Record<string, string> = {};
        propagator.inject(trace.setSpan(ROOT_CONTEXT, span), out, setter);
        return out;
      },
    };
    spans.set(handle, span);
    return handle;
  };

  return {
    startRequest: (name: string, headers: Record<string, unknown>, attributes: SpanAttributes) => {
      const parent = propagator.extract(ROOT_CONTEXT, headers, getter);
      return wrap(tracer.startSpan(name, { kind: OtelKind.SERVER, attributes }, parent), parent);
    },
    shutdown: () => provider.shutdown(),
  };
}

// The SDK span behind each handle this file made (links name other handles' spans).
const spans = new WeakMap<TraceSpan, Span>();

function spanOf(handle: TraceSpan): Span {
  const span = spans.get(handle);
  if (span === undefined) throw new Error('a span handle not made by this tracer');
  return span;
}
