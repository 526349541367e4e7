// trace.ts: when tracing is on (config endpoint or the standard OTEL_* variables) and with what;
// that the OpenTelemetry SDK is not even loaded when it is off (module resolution is watched with
// node:module's hooks); derive keeps a context's accessors.

import assert from 'node:assert/strict';
import { registerHooks } from 'node:module';
import { describe, it } from 'node:test';
import { tracingSchema, tracingSettings } from '../../src/observe/trace.ts';
import { startFakeOtlp } from '../support/fake-otlp.ts';

const defaults = tracingSchema.parse({});

describe('tracingSettings', () => {
  it('is off with neither a config endpoint nor OTEL_EXPORTER_OTLP_ENDPOINT', () => {
    assert.equal(tracingSettings(defaults, {}), undefined);
    assert.equal(tracingSettings(defaults, { OTEL_EXPORTER_OTLP_ENDPOINT: '  ' }), undefined);
  });

  it('takes OTEL_EXPORTER_OTLP_ENDPOINT as the base and appends /v1/traces; the traces variable as the full URL', () => {
    assert.equal(tracingSettings(defaults, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' })?.url, 'http://collector:4318/v1/traces');
    assert.equal(tracingSettings(defaults, { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://c:4318/custom' })?.url, 'http://c:4318/custom');
  });

  it('the config endpoint wins over the variables; OTEL_SERVICE_NAME wins over the config name', () => {
    const config = tracingSchema.parse({ endpoint: 'http://mine:4318', serviceName: 'from-config', sampleRatio: 0.25 });
    const s = tracingSettings(config, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://env:4318', OTEL_SERVICE_NAME: 'from-env' })!;
    assert.equal(s.url, 'http://mine:4318/v1/traces');
    assert.equal(s.serviceName, 'from-env');
    assert.equal(s.sampleRatio, 0.25);
    assert.equal(tracingSettings(config, {})!.serviceName, 'from-config');
  });

  it('OTEL_SDK_DISABLED=true and OTEL_TRACES_EXPORTER=none turn it off', () => {
    const env = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' };
    assert.equal(tracingSettings(defaults, { ...env, OTEL_SDK_DISABLED: 'TRUE' }), undefined);
    assert.equal(tracingSettings(defaults, { ...env, OTEL_TRACES_EXPORTER: 'none' }), undefined);
  });

  it('reads OTEL_BSP_SCHEDULE_DELAY, else the config delay', () => {
    const env = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' };
    assert.equal(tracingSettings(defaults, { ...env, OTEL_BSP_SCHEDULE_DELAY: '100' })!.exportDelayMs, 100);
    assert.equal(tracingSettings(defaults, env)!.exportDelayMs, 5000);
  });

  it('refuses a sample ratio outside 0..1', () => {
    assert.equal(tracingSchema.safeParse({ sampleRatio: 1.5 }).success, false);
    assert.equal(tracingSchema.safeParse({ sampleRatio: -0.1 }).success, false);
  });
});

describe('tracing off', () => {
  it('loads no @opentelemetry module; turning it on does', async () => {
    const resolved = [] as string[];
    const otlp = await startFakeOtlp();
    const hooks = registerHooks({
      resolve(specifier, context, next) {
        // prom-client reaches for @opentelemetry/api itself (exemplars), tracing or not: what
        // counts is src/ importing any of it, and the SDK's packages, from anywhere.
        const fromSrc = context.parentURL?.includes('/src/') === true && (specifier.includes('@opentelemetry') || specifier.endsWith('/otel.ts'));
        if (fromSrc || /^@opentelemetry\/(sdk-trace|exporter-trace-otlp-http|resources|core)$/.test(specifier)) resolved.push(specifier);
        return next(specifier, context);
      },
    });
    try {
      // The request path, with its stages, as the gateway loads it.
      await import('../../src/gateway.ts');
      const trace = await import('../../src/observe/trace.ts');
      assert.equal(await trace.startTracing(defaults, {}), false);
      assert.equal(trace.tracing, undefined);
      assert.equal(resolved.join(', '), '', 'nothing of OpenTelemetry is loaded while tracing is off');
      assert.equal(await trace.startTracing(defaults, { OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url }), true);
      assert.ok(resolved.some((s) => s.startsWith('@opentelemetry/sdk-trace')), `the SDK is loaded once on: ${resolved}`);
      const span = trace.tracing!.startRequest('GET /x', { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' }, {});
      const headers = span.child('backend call', 'client').headers();
      assert.match(headers.traceparent!, /^00-0af7651916cd43dd8448eb211c80319c-[0-9a-f]{16}-01$/, 'a child carries the client\'s trace id');
      span.end();
      await trace.stopTracing();
      assert.equal(trace.tracing, undefined);
      assert.deepEqual(otlp.spans.map((s) => s.name).sort(), ['GET /x'], 'stopping sends what had ended');
    } finally {
      hooks.deregister();
      await otlp.close();
    }
  });
});

describe('derive', () => {
  it('keeps accessors as accessors and sets the new fields', async () => {
    const { derive } = await import('../../src/observe/trace.ts');
    let made = 0;
    const base = { a: 1, get log() { made++; return 'logger'; } };
    const out = derive(base, { a: 2 });
    assert.equal(made, 0, 'the accessor is not read by the copy');
    assert.equal(out.a, 2);
    assert.equal(out.log, 'logger');
    assert.equal(base.a, 1);
  });
});
