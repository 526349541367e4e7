// rollback.ts — watches a canary target against the primary over a sliding window and drops the
// canary's weight to 0 when it is worse beyond the thresholds (error rate ratio, p99 ratio),
// until a reload changes this model. Optional promotion does the opposite for a canary that stays
// healthy. The window is ten time slices per target, each a count, an error count and a
// log-scale latency histogram (buckets 10 % wide), so memory and the cost of a check do not grow with traffic.

import type { Logger } from 'pino';
import { z } from 'zod';
import { duration } from '../config/units.ts';
import { isTargetFault } from '../errors.ts';
import { rollbacksTotal } from '../observe/metrics.ts';
import type { ModelStageDeps, Stage, StagePlugin, TargetWeights } from '../types.ts';

/** rollbackSchema is a model's `rollback` block. */
export const rollbackSchema = z.strictObject({
  canary: z.string().optional().describe('Target name watched; default the target with the smallest weight.'),
  primary: z.string().optional().describe('Target it is compared with; default the target with the largest weight other than the canary.'),
  minRequests: z.coerce.number().int().min(1).default(100).describe('Calls each of the two needs in the window before they are compared.'),
  maxErrorRateRatio: z.coerce.number().min(1).default(2).describe('Canary error rate above this multiple of the primary\'s → rolled back.'),
  maxP99Ratio: z.coerce.number().min(1).default(2).describe('Canary p99 latency above this multiple of the primary\'s → rolled back.'),
  windowMs: duration.prefault('60s').describe('Sliding window over which both are measured.'),
  errorRateFloor: z.coerce.number().min(0).max(1).default(0.01).describe('The primary\'s error rate counts as at least this, so a few canary errors against a faultless primary do not trip it.'),
  latencyFloorMs: duration.prefault('5ms').describe('The primary\'s p99 counts as at least this, so jitter on sub-millisecond answers does not trip it.'),
  promote: z.strictObject({
    afterRequests: z.coerce.number().int().min(1).describe('Canary calls within the thresholds after which it takes all the traffic.'),
  }).optional().describe('The opposite direction: a canary that stays healthy replaces the primary.'),
}).describe('Canary auto-rollback: the canary\'s weight drops to 0 when it is worse than the primary beyond the thresholds, until a reload changes this model.');

export type RollbackConfig = z.infer<typeof rollbackSchema>;

/** rollback is the stage plugin of a model's `rollback` block. */
export const rollback = {
  name: 'rollback',
  schema: { model: { rollback: rollbackSchema.optional() } },
  create(config, deps) {
    if (config.rollback === undefined) return undefined;
    return createRollback(config.rollback, deps.targets, deps.weights, { model: deps.model, log: deps.log });
  },
} satisfies StagePlugin<{ rollback?: RollbackConfig }, ModelStageDeps>;

/** RollbackOptions name the model and, for tests, the clock. */
export interface RollbackOptions {
  model: string;
  log: Logger;
  /** Milliseconds; default performance.now. */
  now?: () => number;
}

/** Rollback is the watcher of one model's canary. */
export interface Rollback {
  /** stage wraps the split: it sees which target answered (ctx.target), how and how fast. */
  stage: Stage;
  status(): Record<string, unknown>;
}

const slices = 10;
const bucketBase = Math.log(1.1);
const minLatencyMs = 0.05;
const buckets = 160; // 0.05 ms × 1.1^160 ≈ 200 s

interface Slice { id: number; count: number; errors: number; hist: Uint32Array }
interface WindowFigures { count: number; errors: number; errorRate: number; p99Ms: number | null }

/**
 * createRollback watches the canary among `targets` and changes `weights`; with fewer than two
 * targets it watches nothing. The schema has checked that a named canary or primary exists.
 */
export function createRollback(config: RollbackConfig, targets: ReadonlyArray<{ name: string; weight: number }>, weights: TargetWeights,
  opts: RollbackOptions): Rollback {
  const now = opts.now ?? (() => performance.now());
  const byWeight = [...targets].sort((a, b) => a.weight - b.weight);
  const canary = config.canary ?? byWeight[0]?.name;
  const primary = config.primary ?? [...byWeight].reverse().find((t) => t.name !== canary)?.name;
  const active = canary !== undefined && primary !== undefined && canary !== primary;
  const sliceMs = Math.max(1, config.windowMs / slices);
  const windows = new Map<string, Slice[]>();
  if (active) for (const name of [canary, primary]) windows.set(name, Array.from({ length: slices }, () => ({ id: -1, count: 0, errors: 0, hist: new Uint32Array(buckets) })));
  const checkEvery = Math.max(1, Math.ceil(config.minRequests / 20));
  let canaryCalls = 0;
  let healthyCalls = 0;
  let state: 'watching' | 'rolledBack' | 'promoted' | 'inactive' = active ? 'watching' : 'inactive';
  let decision: Record<string, unknown> | undefined;

  const observe = (target: string | undefined, failed: boolean, ms: number): void => {
    if (state !== 'watching' || target === undefined) return;
    const ring = windows.get(target);
    if (ring === undefined) return;
    const id = Math.floor(now() / sliceMs);
    const slice = ring[id % slices]!;
    if (slice.id !== id) { slice.id = id; slice.count = 0; slice.errors = 0; slice.hist.fill(0); }
    slice.count++;
    if (failed) slice.errors++;
    else slice.hist[bucketOf(ms)]!++;
    if (target !== canary) return;
    canaryCalls++;
    // A failing canary is checked at once; otherwise every few calls, to keep the cost flat.
    if (failed || canaryCalls % checkEvery === 0) check();
  };

  const check = (): void => {
    const c = figures(windows.get(canary!)!, now(), sliceMs);
    const p = figures(windows.get(primary!)!, now(), sliceMs);
    if (c.count < config.minRequests || p.count < config.minRequests) return;
    const errorRatio = c.errorRate / Math.max(p.errorRate, config.errorRateFloor);
    const p99Ratio = c.p99Ms === null ? null : c.p99Ms / Math.max(p.p99Ms ?? 0, config.latencyFloorMs);
    const reason = errorRatio > config.maxErrorRateRatio ? 'error_rate' : p99Ratio !== null && p99Ratio > config.maxP99Ratio ? 'p99' : undefined;
    const figuresNow = { canary: c, primary: p, errorRateRatio: round(errorRatio), p99Ratio: p99Ratio === null ? null : round(p99Ratio) };
    if (reason !== undefined) {
      state = 'rolledBack';
      const why = reason === 'error_rate'
        ? `error rate ${pct(c.errorRate)} vs ${pct(p.errorRate)} on ${primary} (ratio ${round(errorRatio)} > ${config.maxErrorRateRatio})`
        : `p99 ${round(c.p99Ms!)} ms vs ${round(p.p99Ms ?? 0)} ms on ${primary} (ratio ${round(p99Ratio!)} > ${config.maxP99Ratio})`;
      decision = { reason, why, at: new Date().toISOString(), ...figuresNow };
      weights.set(canary!, 0, `rolled back: ${why}`);
      rollbacksTotal.inc({ model: opts.model, target: canary!, reason });
      opts.log.warn({ model: opts.model, target: canary, reason, ...figuresNow }, `canary ${canary} rolled back: ${why}`);
      return;
    }
    healthyCalls = canaryCalls;
    if (config.promote !== undefined && healthyCalls >= config.promote.afterRequests) {
      state = 'promoted';
      const total = targets.reduce((sum, t) => sum + weights.get(t.name), 0);
      const why = `healthy over ${healthyCalls} calls`;
      decision = { reason: 'promoted', why, at: new Date().toISOString(), ...figuresNow };
      weights.set(canary!, total, `promoted: ${why}`);
      weights.set(primary!, 0, `replaced by ${canary}: ${why}`);
      opts.log.info({ model: opts.model, target: canary, ...figuresNow }, `canary ${canary} promoted: ${why}`);
    }
  };

  return {
    stage: (next) => async (req, ctx) => {
      const started = now();
      try {
        const res = await next(req, ctx);
        observe(ctx.target, false, now() - started);
        return res;
      } catch (err) {
        if (isTargetFault(err)) observe(ctx.target, true, now() - started);
        throw err;
      }
    },
    status: () => ({
      canary: canary ?? null, primary: primary ?? null, state, canaryCalls,
      thresholds: { minRequests: config.minRequests, maxErrorRateRatio: config.maxErrorRateRatio, maxP99Ratio: config.maxP99Ratio, windowMs: config.windowMs },
      ...(active && state === 'watching' ? { window: { canary: figures(windows.get(canary!)!, now(), sliceMs), primary: figures(windows.get(primary!)!, now(), sliceMs) } } : {}),
      ...(decision !== undefined ? { decision } : {}),
    }),
  };
}

function figures(ring: Slice[], at: number, sliceMs: number): WindowFigures {
  const current = Math.floor(at / sliceMs);
  let count = 0;
  let errors = 0;
  const hist = new Uint32Array(buckets);
  for (const s of ring) {
    if (s.id < 0 || s.id <= current - slices) continue;
    count += s.count;
    errors += s.errors;
    for (let i = 0; i < buckets; i++) hist[i]! += s.hist[i]!;
  }
  return { count, errors, errorRate: count === 0 ? 0 : errors / count, p99Ms: percentile(hist, 0.99) };
}

function bucketOf(ms: number): number {
  if (!(ms > minLatencyMs)) return 0;
  return Math.min(buckets - 1, Math.ceil(Math.log(ms / minLatencyMs) / bucketBase));
}

// percentile gives the upper bound of the bucket holding the q-quantile (null when empty).
function percentile(hist: Uint32Array, q: number): number | null {
  let total = 0;
  for (const n of hist) total += n;
  if (total === 0) return null;
  const rank = Math.ceil(q * total);
  let seen = 0;
  for (let i = 0; i < buckets; i++) {
    seen += hist[i]!;
    if (seen >= rank) return minLatencyMs * Math.exp(i * bucketBase);
  }
  return minLatencyMs * Math.exp((buckets - 1) * bucketBase);
}

function pct(x: number): string {
  return `${Math.round(x * 1000) / 10}%`;
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
