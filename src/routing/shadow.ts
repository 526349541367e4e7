// shadow.ts — copies a share of answered requests to a shadow target and compares the answers.
// The copy starts from setImmediate after the primary's promise has resolved, so the caller's
// continuation (writing the response) always runs first and the client never waits for, or
// sees, the shadow. Shadow calls get a context of their own (not the client's signal: a client
// leaving must not cut the comparison short) with the model's timeout, and their own
// concurrency cap: a copy that finds it full is dropped and counted, never queued.

import type { Logger } from 'pino';
import { z } from 'zod';
import { GatewayError, toGatewayError } from '../errors.ts';
import { shadowAgreement, shadowLatencyDiff, shadowMaxAbsDiff, shadowRequests } from '../observe/metrics.ts';
import { spanned } from '../observe/trace.ts';
import type { InferRequest, InferResponse } from '../tensors/tensor.ts';
import type { CallContext, Infer, ModelStageDeps, Stage, StagePlugin } from '../types.ts';
import { comparePredictions } from './compare.ts';

/** shadowSchema is a model's `shadow` block. */
export const shadowSchema = z.strictObject({
  backend: z.string().describe('Name of a backend under `backends` that receives the copies.'),
  model: z.string().optional().describe('Model name on the shadow backend; default the gateway model name.'),
  version: z.coerce.string().optional().describe('Model version on the shadow backend.'),
  percent: z.coerce.number().min(0).max(100).default(100).describe('Share of answered requests copied to the shadow (evenly spread, e.g. 10 = every tenth).'),
  maxInFlight: z.coerce.number().int().min(1).default(16).describe('Shadow calls at once; a copy that finds it full is dropped and counted.'),
  tolerance: z.coerce.number().min(0).default(1e-4).describe('Largest absolute difference for two numbers to agree.'),
  agreement: z.enum(['auto', 'values']).default('auto').describe(
    'When one prediction agrees: "auto" = same label (strings, booleans), same argmax (vectors of scores), scalars within tolerance; ' +
    '"values" = every number within tolerance. The largest absolute difference is reported either way.'),
}).describe('Copy a share of requests to a shadow target after answering and compare.');

export type ShadowConfig = z.infer<typeof shadowSchema>;

/** shadow is the stage plugin of a model's `shadow` block. */
export const shadow = {
  name: 'shadow',
  schema: { model: { shadow: shadowSchema.optional() } },
  create(config, deps) {
    const s = config.shadow;
    if (s === undefined) return undefined;
    // The schema has checked that the backend exists.
    const endpoint = deps.backends.get(s.backend)!.model(s.model ?? deps.model, s.version);
    return createShadow(s, endpoint.infer, { model: deps.model, log: deps.log, timeoutMs: deps.timeoutMs });
  },
} satisfies StagePlugin<{ shadow?: ShadowConfig }, ModelStageDeps>;

/** ShadowOptions are what the pipeline knows about the model. */
export interface ShadowOptions {
  model: string;
  log: Logger;
  /** Deadline of one shadow call; the pipeline passes the model's timeoutMs. Default 30 s. */
  timeoutMs?: number;
}

/** Shadow is a model's shadow stage with its counters. */
export interface Shadow {
  stage: Stage;
  status(): Record<string, unknown>;
  /** settled resolves when every scheduled or running shadow call has finished (tests, drain). */
  settled(): Promise<void>;
  /** close aborts running shadow calls and stops new ones. */
  close(): Promise<void>;
}

const latencyRing = 1024;

/** createShadow builds the shadow stage: wrap the model's path with `stage`. */
export function createShadow(config: ShadowConfig, shadow: Infer, opts: ShadowOptions): Shadow {
  const model = opts.model;
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const { tolerance, agreement, maxInFlight } = config;
  const counts = { sent: 0, dropped: 0, failed: 0, compared: 0, mismatched: 0, predictions: 0, agreed: 0 };
  let maxAbsDiff = 0;
  let share = 0;
  let inFlight = 0;
  let closed = false;
  let lastError: string | undefined;
  let lastMismatch: string | undefined;
  const diffs = new Float64Array(latencyRing);
  let diffCount = 0;
  let diffSum = 0;
  const pending = new Set<Promise<void>>();
  const closer = new AbortController();

  // picked spreads the share evenly (every tenth request at 10 %), so small runs are exact.
  const picked = (): boolean => {
    share += config.percent;
    if (share < 100) return false;
    share -= 100;
    return true;
  };

  const run = async (req: InferRequest, primary: InferResponse, parent: CallContext, primaryMs: number): Promise<void> => {
    if (closed) return;
    if (inFlight >= maxInFlight) {
      counts.dropped++;
      shadowRequests.inc({ model, outcome: 'dropped' });
      return;
    }
    inFlight++;
    counts.sent++;
    shadowRequests.inc({ model, outcome: 'sent' });
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new GatewayError('deadline_exceeded', `shadow call for ${model} took over ${timeoutMs} ms`)), timeoutMs);
    const stop = (): void => controller.abort(new GatewayError('draining', 'the shadow was closed'));
    closer.signal.addEventListener('abort', stop, { once: true });
    // Traced: the copy is a client span of the request's trace (after the request's own span ended).
    const span = parent.trace?.child('shadow call', 'client', { 'infergate.shadow.backend': config.backend });
    const ctx: CallContext = {
      requestId: parent.requestId, signal: controller.signal, deadline: performance.now() + timeoutMs,
      forward: span === undefined ? { ...parent.forward } : { ...parent.forward, ...span.headers() }, headers: parent.headers, log: parent.log, model: parent.model,
      trace: span,
    };
    const started = performance.now();
    try {
      const answer = await (span === undefined ? shadow(req, ctx) : spanned(span, shadow(req, ctx)));
      record(primary, answer, performance.now() - started - primaryMs);
    } catch (err) {
      const e = toGatewayError(err, 'shadow');
      counts.failed++;
      shadowRequests.inc({ model, outcome: 'failed' });
      // The first failure is worth a warning; after that the counters and status say it.
      if (lastError === undefined) opts.log.warn({ model, code: e.code, error: e.message }, 'shadow call failed');
      lastError = `${e.code}: ${e.message}`;
    } finally {
      clearTimeout(timer);
      closer.signal.removeEventListener('abort', stop);
      inFlight--;
    }
  };

  const record = (primary: InferResponse, answer: InferResponse, diffMs: number): void => {
    const cmp = comparePredictions(primary, answer, { tolerance, agreement });
    counts.compared++;
    counts.predictions += cmp.predictions;
    counts.agreed += cmp.agreed;
    if (cmp.mismatch !== undefined) {
      counts.mismatched++;
      shadowRequests.inc({ model, outcome: 'mismatched' });
      if (lastMismatch === undefined) opts.log.warn({ model, mismatch: cmp.mismatch }, 'shadow answer cannot be paired with the primary\'s');
      lastMismatch = cmp.mismatch;
    }
    if (cmp.maxAbsDiff > maxAbsDiff) maxAbsDiff = cmp.maxAbsDiff;
    const slot = diffCount % latencyRing;
    if (diffCount >= latencyRing) diffSum -= diffs[slot]!;
    diffs[slot] = diffMs;
    diffSum += diffMs;
    diffCount++;
    if (counts.predictions > 0) shadowAgreement.set({ model }, counts.agreed / counts.predictions);
    shadowMaxAbsDiff.set({ model }, maxAbsDiff);
    shadowLatencyDiff.set({ model }, diffSum / Math.min(diffCount, latencyRing) / 1000);
  };

  const schedule = (req: InferRequest, res: InferResponse, ctx: CallContext, primaryMs: number): void => {
    const done = new Promise<void>((resolve) => {
      setImmediate(() => { run(req, res, ctx, primaryMs).catch(() => undefined).finally(resolve); });
    });
    pending.add(done);
    void done.then(() => pending.delete(done));
  };

  return {
    stage: (next) => (req, ctx) => {
      const started = performance.now();
      return next(req, ctx).then((res) => {
        // Only rows and tensors are copied: a raw body's answer (streamed, or bytes) has no
        // predictions to compare, and a stream is never played twice.
        if (!closed && config.percent > 0 && res.answer === undefined && picked()) schedule(req, res, ctx, performance.now() - started);
        return res;
      });
    },
    status: () => {
      const n = Math.min(diffCount, latencyRing);
      const sorted = Array.from(diffs.subarray(0, n)).sort((a, b) => a - b);
      const at = (q: number): number | null => (n === 0 ? null : round(sorted[Math.min(n - 1, Math.floor(q * n))]!));
      return {
        backend: config.backend, model: config.model, version: config.version, percent: config.percent, maxInFlight, inFlight,
        ...counts,
        agreementRatio: counts.predictions === 0 ? null : round(counts.agreed / counts.predictions),
        maxAbsDiff,
        latencyDiffMs: { mean: n === 0 ? null : round(diffSum / n), p50: at(0.5), p99: at(0.99) },
        ...(lastError !== undefined ? { lastError } : {}),
        ...(lastMismatch !== undefined ? { lastMismatch } : {}),
      };
    },
    settled: async () => {
      while (pending.size > 0) await Promise.allSettled([...pending]);
    },
    close: async () => {
      closed = true;
      closer.abort();
      await Promise.allSettled([...pending]);
    },
  };
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
