// metrics.ts — every infergate_* metric is defined here and nowhere else (prom-client, and the
// hot path's four from series.ts, registered in the same registry).

import { createRequire } from 'node:module';
import type * as PromClient from 'prom-client';
import { CounterSeries, GaugeSeries, HistogramSeries } from './series.ts';

// The four classes, each from its own file: prom-client's index also loads Summary, the
// Pushgateway, the cluster aggregator and the default metrics (with @opentelemetry/api), about
// 30 ms of a cold start that the first answer does not need. The default metrics come at the
// first scrape (collectProcessMetrics).
const load = createRequire(import.meta.url);
const Registry = load('prom-client/lib/registry') as typeof PromClient.Registry;
const Counter = load('prom-client/lib/counter') as typeof PromClient.Counter;
const Gauge = load('prom-client/lib/gauge') as typeof PromClient.Gauge;
const Histogram = load('prom-client/lib/histogram') as typeof PromClient.Histogram;

export const registry = new Registry();

let processMetrics = false;
/**
 * collectProcessMetrics adds prom-client's process_* and nodejs_* metrics to the registry, once.
 * GET /metrics calls it before its first answer rather than the start (~20 ms of this thread, on
 * a cold start's path to its first answer): the event-loop lag and GC series count from then on.
 */
export function collectProcessMetrics(): void {
  if (processMetrics) return;
  processMetrics = true;
  (load('prom-client/lib/defaultMetrics') as typeof PromClient.collectDefaultMetrics)({ register: registry });
}

const latencyBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

// The four every request touches are series.ts's (found by label values, no key string per call).
export const requestsTotal = new CounterSeries({
  name: 'infergate_requests_total',
  help: 'Requests answered, by frontend, model, target and status code.',
  labelNames: ['frontend', 'model', 'target', 'code'] as const,
  registers: [registry],
});

export const requestDuration = new HistogramSeries({
  name: 'infergate_request_duration_seconds',
  help: 'Time from request received to response written, by frontend and model.',
  labelNames: ['frontend', 'model'] as const,
  buckets: latencyBuckets,
  registers: [registry],
});

export const backendDuration = new HistogramSeries({
  name: 'infergate_backend_duration_seconds',
  help: 'Time of one backend call, by backend, target and outcome.',
  labelNames: ['backend', 'target', 'outcome'] as const,
  buckets: latencyBuckets,
  registers: [registry],
});

export const transformDuration = new Histogram({
  name: 'infergate_transform_seconds',
  help: 'Time of one transform step on one request, by model, step (from the config), phase (preprocess, postprocess) and outcome (ok, error).',
  labelNames: ['model', 'step', 'phase', 'outcome'] as const,
  buckets: latencyBuckets,
  registers: [registry],
});

export const streamDuration = new Histogram({
  name: 'infergate_stream_duration_seconds',
  help: 'Time a streamed answer took from its first byte to its end, by backend, target and outcome (ok, error: an idle gap, a failure, a client that left).',
  labelNames: ['backend', 'target', 'outcome'] as const,
  buckets: [0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
  registers: [registry],
});

export const streamBytes = new Counter({
  name: 'infergate_stream_bytes_total',
  help: 'Bytes of streamed answers relayed to clients, by backend and target.',
  labelNames: ['backend', 'target'] as const,
  registers: [registry],
});

export const timeToFirstToken = new Histogram({
  name: 'infergate_time_to_first_token_seconds',
  help: 'OpenAI-style streams: time from the call to the first chunk with text, by backend and target.',
  labelNames: ['backend', 'target'] as const,
  buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  registers: [registry],
});

export const interTokenLatency = new Histogram({
  name: 'infergate_inter_token_latency_seconds',
  help: 'OpenAI-style streams: time between two chunks with text, by backend and target.',
  labelNames: ['backend', 'target'] as const,
  buckets: [0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1],
  registers: [registry],
});

export const tokensOut = new Counter({
  name: 'infergate_tokens_out_total',
  help: 'OpenAI-style streams: chunks with text relayed (one token each, as vLLM, TGI and llama.cpp send them), by backend and target.',
  labelNames: ['backend', 'target'] as const,
  registers: [registry],
});

export const inFlight = new GaugeSeries({
  name: 'infergate_in_flight_requests',
  help: 'Requests being served, by frontend.',
  labelNames: ['frontend'] as const,
  registers: [registry],
});

export const bufferedBytes = new Gauge({
  name: 'infergate_buffered_response_bytes',
  help: 'Bytes of backend answers held in memory now, against server.maxBufferedBytes.',
  registers: [registry],
});

export const bufferRefusals = new Counter({
  name: 'infergate_buffer_refusals_total',
  help: 'Calls refused with 503 buffers_full: their answer did not fit in server.maxBufferedBytes.',
  registers: [registry],
});

export const targetReady = new Gauge({
  name: 'infergate_target_ready',
  help: '1 when the target is ready, 0 otherwise.',
  labelNames: ['model', 'target'] as const,
  registers: [registry],
});

export const batchRows = new Histogram({
  name: 'infergate_batch_rows',
  help: 'Rows per backend call made by the batcher, by target.',
  labelNames: ['target'] as const,
  buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024],
  registers: [registry],
});

export const queueDelay = new Histogram({
  name: 'infergate_queue_delay_seconds',
  help: 'Time a request waited in the batch queue, by target.',
  labelNames: ['target'] as const,
  buckets: latencyBuckets,
  registers: [registry],
});

export const queueRows = new Gauge({
  name: 'infergate_queue_rows',
  help: 'Rows waiting in the batch queue, by target.',
  labelNames: ['target'] as const,
  registers: [registry],
});

export const batchCostModel = new Gauge({
  name: 'infergate_batch_cost_seconds',
  help: 'Fitted backend cost model t(n) = a + b·n, by target and coefficient (a, b).',
  labelNames: ['target', 'coefficient'] as const,
  registers: [registry],
});

export const breakerState = new Gauge({
  name: 'infergate_breaker_state',
  help: 'Circuit breaker state by target: 0 closed, 1 half-open, 2 open.',
  labelNames: ['target'] as const,
  registers: [registry],
});

export const retriesTotal = new Counter({
  name: 'infergate_retries_total',
  help: 'Retries made and refused by the budget, by target and outcome.',
  labelNames: ['target', 'outcome'] as const,
  registers: [registry],
});

export const adaptiveLimitGauge = new Gauge({
  name: 'infergate_adaptive_concurrency_limit', help: 'Current adaptive concurrency limit per target.', labelNames: ['target'], registers: [registry],
});

export const shedTotal = new Counter({
  name: 'infergate_shed_total',
  help: 'Requests refused at once to protect a backend or the gateway, by reason.',
  labelNames: ['target', 'reason'] as const,
  registers: [registry],
});

export const shadowRequests = new Counter({
  name: 'infergate_shadow_requests_total',
  help: 'Shadow copies by model and outcome (sent, dropped, failed).',
  labelNames: ['model', 'outcome'] as const,
  registers: [registry],
});

export const shadowAgreement = new Gauge({
  name: 'infergate_shadow_agreement_ratio',
  help: 'Share of shadow predictions that agree with the primary, by model.',
  labelNames: ['model'] as const,
  registers: [registry],
});

export const shadowMaxAbsDiff = new Gauge({
  name: 'infergate_shadow_max_abs_diff',
  help: 'Largest absolute difference between shadow and primary values seen, by model.',
  labelNames: ['model'] as const,
  registers: [registry],
});

export const shadowLatencyDiff = new Gauge({
  name: 'infergate_shadow_latency_diff_seconds',
  help: 'Mean of shadow latency minus primary latency over the last 1,024 compared calls, by model (negative = shadow faster).',
  labelNames: ['model'] as const,
  registers: [registry],
});

export const rollbacksTotal = new Counter({
  name: 'infergate_rollbacks_total',
  help: 'Canary targets rolled back automatically, by model, target and reason.',
  labelNames: ['model', 'target', 'reason'] as const,
  registers: [registry],
});

export const reloadsTotal = new Counter({
  name: 'infergate_config_reloads_total',
  help: 'Config reloads by outcome (applied, rejected).',
  labelNames: ['outcome'] as const,
  registers: [registry],
});

export const processRestarts = new Counter({
  name: 'infergate_backend_process_restarts_total',
  help: 'Restarts of supervised backend processes, by backend.',
  labelNames: ['backend'] as const,
  registers: [registry],
});

export const graphStepCalls = new Counter({
  name: 'infergate_graph_step_calls_total',
  help: 'Calls a graph model made to its step models, by graph model, step model and outcome (ok, failed; dropped: an ensemble member that failed and was left out of the answer).',
  labelNames: ['model', 'step', 'outcome'] as const,
  registers: [registry],
});

export const graphStepDuration = new Histogram({
  name: 'infergate_graph_step_duration_seconds',
  help: 'Time of one step call of a graph model (the step model\'s whole path), by graph model and step model.',
  labelNames: ['model', 'step'] as const,
  buckets: latencyBuckets,
  registers: [registry],
});

export const payloadEvents = new Counter({
  name: 'infergate_payload_events_total',
  help: 'Payload log events (CloudEvents of request and response bodies), by sink (http, file) and outcome (sent; failed: the sink refused, errored or timed out; dropped: the queue was full).',
  labelNames: ['sink', 'outcome'] as const,
  registers: [registry],
});

export const payloadQueue = new Gauge({
  name: 'infergate_payload_queue_events',
  help: 'Payload log events waiting to be written to the sink.',
  registers: [registry],
});

export const modelLoadSeconds = new Histogram({
  name: 'infergate_model_load_seconds',
  help: 'Time to load one model on a backend that loads models itself (onnx: sessions and warm-up), by backend, model and outcome (ok, failed); models loaded at run time (SageMaker multi-model) are model="_runtime".',
  labelNames: ['backend', 'model', 'outcome'] as const,
  buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
  registers: [registry],
});

export const modelMemoryBytes = new Gauge({
  name: 'infergate_model_memory_bytes',
  help: 'Memory the loaded models hold, as the backend estimates it (onnx: file size plus workerMemory, times workers), by backend and model; models loaded at run time are summed under model="_runtime".',
  labelNames: ['backend', 'model'] as const,
  registers: [registry],
});

export const modelEvictions = new Counter({
  name: 'infergate_model_evictions_total',
  help: 'Models loaded at run time that were unloaded to make room for another (least recently used first).',
  registers: [registry],
});

// One series per process (the revision it runs), so the label stays bounded; joining on it
// tells a Cloud Run or Knative rollout's revisions apart in any other series.
export const revisionInfo = new Gauge({
  name: 'infergate_revision_info',
  help: 'Always 1; the revision label is the running revision (K_REVISION on Cloud Run and Knative)',
  labelNames: ['revision'] as const,
  registers: [registry],
});
