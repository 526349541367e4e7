// batching.ts — issue 5's benchmark, through the real gateway process (test/support/gateway.ts:
// Vertex frontend → batcher → guard → http backend). The backend is a STAND-IN with a known
// cost, t(n) = a + b·n (a = 10 ms, b = 0.1 ms), serving one batch at a time like a GPU
// (bench/support/cost-backend.ts), driven by clients each sending one row, open loop
// (bench/load.ts: Poisson arrivals, latency counted from the due time).
// Modes: no batching; Triton-style fixed delay (maxQueueDelayMs 2); work-conserving; adaptive.
// Per mode: a 10% → 90% → 10% load step (per-phase p99, settle time), then a sweep of offered
// loads from 5% of unbatched capacity up to 1.1× the mode's capacity (the last point is
// saturation: goodput vs the ceiling N/(a + N·b)). Batched modes run with the defaults, which
// give maxConcurrentBatches 2: one batch runs at the backend while the next one travels, so the
// backend does not idle for the gateway round trip between batches; one extra run measures
// saturation with 1 slot (the default before).
// Runnable alone: node bench/batching.ts   (≈ 2.5 min; BENCH_SCALE multiplies every run length;
// writes bench/results/batching.json, which bench/chart.ts turns into bench/charts/.)

import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { createBatcher, type BatchingConfig } from '../src/batching/batcher.ts';
import { silentLogger } from '../src/observe/log.ts';
import type { Infer } from '../src/types.ts';
import { startGateway } from '../test/support/gateway.ts';
import { openLoop, type OpenLoopResult, type Phase } from './load.ts';
import { startNodeServer, type Proc } from './support/processes.ts';

const A = 10;
const B = 0.1;
const N = 32;
const TIMEOUT_MS = 2000;
const unbatchedCapacity = 1000 / (A + B); // ≈ 99 rows/s
const ceiling = (N * 1000) / (A + N * B); // ≈ 2,424 rows/s
const scale = Number(process.env.BENCH_SCALE ?? 1);

export type Mode = 'none' | 'fixed' | 'workConserving' | 'adaptive';
const modes: Record<Mode, Partial<BatchingConfig> | undefined> = {
  none: undefined,
  // Each mode with the defaults: maxConcurrentBatches is left at its default (2).
  fixed: { maxBatchSize: N, maxQueueDelayMs: 2 },
  workConserving: { maxBatchSize: N },
  adaptive: { maxBatchSize: N, adaptive: true },
};

// Offered loads (rows/s): 5% and 20% of unbatched capacity, then up towards each ceiling.
const unbatchedLoads = [5, 20, 50, 80];
const batchedLoads = [5, 20, 50, 100, 300, 800, 1500, 2000, 2250];

/** Point is one offered load's figures (latencies in ms, rates per second). */
export interface Point {
  load: number; offered: number; goodput: number; p50: number; p99: number; errors: number;
  statuses: Record<string, number>; backendMeanBatch: number;
}

// Enough requests for a p99 at low rates, without making the whole run pass 3 minutes.
function runMs(rate: number): number {
  return scale * (rate <= 5 ? 8000 : rate <= 20 ? 5000 : 2000);
}

/** runBatchingBench runs every mode against the same stand-in backend and returns the figures. */
export async function runBatchingBench(): Promise<Record<string, unknown>> {
  const started = performance.now();
  const loadBefore = loadavg()[0]!;
  const backend = await startNodeServer(new URL('./support/cost-backend.ts', import.meta.url).href, [String(A), String(B)]);
  const results: Partial<Record<Mode, { step: unknown; sweep: Point[] }>> = {};
  let oneSlot: Point | undefined;
  try {
    for (const mode of Object.keys(modes) as Mode[]) {
      const capacity = mode === 'none' ? unbatchedCapacity : ceiling;
      const gw = await startReal(backend, modes[mode]);
      try {
        await run(gw.url, 50, 1000); // warm-up: connections, JIT, the cost fit
        const phaseMs = scale * 1500;
        const phases: Phase[] = [0.1, 0.9, 0.1].map((f) => ({ rate: f * capacity, durationMs: phaseMs }));
        const step = await run(gw.url, phases);
        const sweep: Point[] = [];
        for (const load of [...(mode === 'none' ? unbatchedLoads : batchedLoads), 1.1 * capacity]) {
          const saturation = load > capacity;
          sweep.push(await point(gw.url, backend, load, saturation ? 3000 * scale : runMs(load)));
        }
        results[mode] = {
          step: {
            phases: step.phases!.map((p) => ({ rate: round(p.rate), goodput: p.goodput, p50: p.p50, p99: p.p99, errors: p.errors })),
            settledMs: settleTimes(step, phaseMs),
            withinDeadline: step.phases!.every((p) => p.p99 < TIMEOUT_MS && p.errors === 0),
          },
          sweep,
        };
      } finally {
        await gw.stop();
      }
      console.error(`  ${mode}: ${JSON.stringify(results[mode])}`);
    }
    // The same work-conserving batcher with one slot: the backend idles for each round trip.
    const gw = await startReal(backend, { ...modes.workConserving, maxConcurrentBatches: 1 });
    try {
      await run(gw.url, 50, 1000);
      oneSlot = await point(gw.url, backend, 1.1 * ceiling, 3000 * scale);
    } finally {
      await gw.stop();
    }
  } finally {
    await backend.stop();
  }
  return {
    machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version, note: 'shared with other work', loadAverage1m: { before: round(loadBefore), after: round(loadavg()[0]!) } },
    backend: { a: A, b: B, maxBatchSize: N, maxConcurrentBatches: 'default (2)', timeoutMs: TIMEOUT_MS, note: 'stand-in HTTP backend with a known cost, one batch at a time' },
    unbatchedCapacity: round(unbatchedCapacity), ceiling: round(ceiling),
    idleOverheadUs: await idleOverhead(),
    modes: results,
    workConservingOneSlotSaturation: oneSlot,
    wallSeconds: round((performance.now() - started) / 1000),
  };
}

const body = (i: number): string => JSON.stringify({ instances: [[i, 1]] });
const check = (i: number, text: string): boolean => (JSON.parse(text) as { predictions: number[][] }).predictions[0]![0] === 2 * i;

function run(url: string, rate: number | Phase[], durationMs?: number): Promise<OpenLoopResult> {
  return openLoop({ url: `${url}/predict`, rate, durationMs, body, check, sloMs: TIMEOUT_MS, drainMs: TIMEOUT_MS + 500 });
}

async function point(url: string, backend: Proc, load: number, ms: number): Promise<Point> {
  const before = await backendStats(backend);
  const r = await run(url, load, ms);
  const after = await backendStats(backend);
  return {
    load: round(load), offered: r.offered, goodput: r.goodput, p50: r.p50, p99: r.p99, errors: r.errors, statuses: r.statuses,
    backendMeanBatch: round((after.rows - before.rows) / Math.max(1, after.calls - before.calls)),
  };
}

// idleOverhead measures, in-process and without HTTP noise, what the batcher adds to a lone
// request on an idle backend: submit → answered with an instant `next`, batched vs direct (µs).
async function idleOverhead(calls = 5000): Promise<Record<string, number>> {
  const next: Infer = async (req) => ({ predictions: req.instances });
  const ctx = { requestId: '', signal: new AbortController().signal, deadline: Infinity, forward: {}, headers: {}, log: silentLogger, model: 'm' };
  const time = async (infer: Infer, n = calls): Promise<number[]> => {
    const out: number[] = [];
    for (let i = 0; i < n; i++) {
      const t = performance.now();
      await infer({ instances: [[i, 1]] }, ctx);
      out.push((performance.now() - t) * 1000);
      if (i % 64 === 0) await new Promise((r) => setTimeout(r, 0)); // idle gaps, as at low load
    }
    return out.sort((x, y) => x - y);
  };
  const q = (xs: number[], p: number): number => round(xs[Math.ceil(p * xs.length) - 1]!);
  const config = { maxBatchSize: N, maxQueueDelayMs: 0, maxConcurrentBatches: 1, maxQueueRows: 4096, adaptive: false };
  const direct = await time(next);
  const workConserving = await time(createBatcher(config, { target: 'idle', log: silentLogger }).stage(next));
  const adaptive = await time(createBatcher({ ...config, adaptive: true }, { target: 'idle2', log: silentLogger }).stage(next));
  // A fixed delay holds every lone request for its whole delay: 300 calls show it.
  const fixed = await time(createBatcher({ ...config, maxQueueDelayMs: 2 }, { target: 'idle3', log: silentLogger }).stage(next), 300);
  return {
    fixedP50: q(fixed, 0.5), fixedP99: q(fixed, 0.99),
    directP50: q(direct, 0.5), directP99: q(direct, 0.99),
    workConservingP50: q(workConserving, 0.5), workConservingP99: q(workConserving, 0.99),
    adaptiveP50: q(adaptive, 0.5), adaptiveP99: q(adaptive, 0.99),
  };
}

// settleTimes: per phase, how long after it began until every later window's p99 stays within
// 1.5× (+2 ms) of the median window p99 over the phase's second half.
function settleTimes(r: OpenLoopResult, phaseMs: number): number[] {
  const windowMs = r.series[1]?.tMs ?? 250;
  return [0, 1, 2].map((k) => {
    const windows = r.series.filter((w) => w.tMs >= k * phaseMs && w.tMs < (k + 1) * phaseMs && w.ok > 0);
    const tail = windows.filter((w) => w.tMs >= k * phaseMs + phaseMs / 2).map((w) => w.p99).sort((x, y) => x - y);
    const bound = 1.5 * (tail[Math.floor(tail.length / 2)] ?? 0) + 2;
    let settled = 0;
    for (const w of windows) if (w.p99 > bound) settled = w.tMs - k * phaseMs + windowMs;
    return settled;
  });
}

async function backendStats(backend: Proc): Promise<{ calls: number; rows: number; busyMs: number }> {
  return (await (await fetch(`http://127.0.0.1:${backend.port}/stats`)).json()) as { calls: number; rows: number; busyMs: number };
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

async function startReal(backend: Proc, batching: Partial<BatchingConfig> | undefined): Promise<{ url: string; stop(): Promise<unknown> }> {
  const gw = await startGateway(`
server: { logLevel: warn }
frontends: { vertex: { model: m } }
backends: { cost: { type: http, url: "http://127.0.0.1:${backend.port}", predictPath: /predict } }
models:
  m:
    timeoutMs: ${TIMEOUT_MS}
    ${batching === undefined ? '' : `batching: ${JSON.stringify(batching)}`}
    targets: [ { backend: cost } ]
`);
  return { url: gw.url, stop: () => gw.stop() };
}

if (import.meta.main) {
  const results = await runBatchingBench();
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  writeFileSync(new URL('./results/batching.json', import.meta.url), `${JSON.stringify(results, null, 2)}\n`);
  console.log(JSON.stringify(results, null, 2));
}
