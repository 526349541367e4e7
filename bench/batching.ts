// batching.ts — issue 5's benchmark. A stand-in backend with a known cost, t(n) = a + b·n
// (a = 10 ms, b = 0.1 ms), serving one batch at a time like a GPU (bench/support/cost-backend.ts),
// is driven through the gateway by many clients each sending one row, open loop (bench/load.ts).
// Modes: no batching; Triton-style fixed delay (maxQueueDelayMs 2); work-conserving; adaptive.
// Figures: goodput at saturation vs the ceiling N/(a + N·b); p50/p99 added over unbatched at 5%
// and 20% of unbatched capacity; a 10% → 90% → 10% load step (per-phase p99, settle time).
// Runnable alone: node bench/batching.ts   (BENCH_SECONDS scales every run; BENCH_GATEWAY=
// inprocess forces the stand-in gateway below, used until the real gateway can serve /predict.)

import { createServer } from 'node:http';
import { Pool } from 'undici';
import { createBatcher } from '../src/batching/batcher.ts';
import type { BatchingConfig } from '../src/config/schema.ts';
import { GatewayError, toGatewayError } from '../src/errors.ts';
import { silentLogger } from '../src/observe/log.ts';
import type { InferRequest, InferResponse } from '../src/tensors/tensor.ts';
import type { Infer } from '../src/types.ts';
import { openLoop, type OpenLoopResult } from './load.ts';
import { startNodeServer, type Proc } from './support/processes.ts';

const A = 10;
const B = 0.1;
const N = 32;
const TIMEOUT_MS = 2000;
const unbatchedCapacity = 1000 / (A + B); // ≈ 99 rows/s
const ceiling = (N * 1000) / (A + N * B); // ≈ 2,424 rows/s

type Mode = 'none' | 'fixed' | 'workConserving' | 'adaptive';
const modes: Record<Mode, Partial<BatchingConfig> | undefined> = {
  none: undefined,
  fixed: { maxBatchSize: N, maxQueueDelayMs: 2 },
  workConserving: { maxBatchSize: N },
  adaptive: { maxBatchSize: N, adaptive: true },
};

interface Gateway { url: string; kind: string; stop(): Promise<unknown> }

/** runBatchingBench runs every mode against the same stand-in backend and returns the figures. */
export async function runBatchingBench(seconds = Number(process.env.BENCH_SECONDS ?? 8)): Promise<Record<string, unknown>> {
  const backend = await startNodeServer(new URL('./support/cost-backend.ts', import.meta.url).href, [String(A), String(B)]);
  const useReal = process.env.BENCH_GATEWAY !== 'inprocess' && await realGatewayCanServe();
  const body = (i: number): string => JSON.stringify({ instances: [[i, 1]] });
  const check = (i: number, text: string): boolean => (JSON.parse(text) as { predictions: number[][] }).predictions[0]![0] === 2 * i;
  const results: Record<string, Record<string, unknown>> = {};
  try {
    for (const [mode, batching] of Object.entries(modes) as Array<[Mode, Partial<BatchingConfig> | undefined]>) {
      const gw = useReal ? await startReal(backend, batching) : await startInProcess(backend, batching);
      const url = `${gw.url}/predict`;
      const run = (rate: number | Array<{ rate: number; durationMs: number }>, durationMs?: number): Promise<OpenLoopResult> =>
        openLoop({ url, rate, durationMs, body, check, sloMs: TIMEOUT_MS });
      try {
        await run(50, 1000); // warm-up: connections, JIT, the cost fit
        const low5 = await run(0.05 * unbatchedCapacity, seconds * 2000);
        const low20 = await run(0.2 * unbatchedCapacity, seconds * 1000);
        const capacity = mode === 'none' ? unbatchedCapacity : ceiling;
        const before = await backendStats(backend);
        const saturation = await run(1.1 * capacity, seconds * 750);
        const after = await backendStats(backend);
        const calls = after.calls - before.calls;
        await new Promise((r) => setTimeout(r, 2500)); // let the overload drain
        const phaseMs = Math.max(2000, seconds * 400);
        const step = await run([0.1, 0.9, 0.1].map((f) => ({ rate: f * capacity, durationMs: phaseMs })));
        results[mode] = {
          gateway: gw.kind,
          low5: brief(low5), low20: brief(low20),
          saturation: {
            ...brief(saturation), goodputOverCeiling: round(saturation.goodput / capacity),
            // Backend side, including the drain after the run: mean rows per call, and busy share.
            backendMeanBatch: round((after.rows - before.rows) / Math.max(1, calls)),
            backendBusyMs: round(after.busyMs - before.busyMs),
          },
          step: {
            phases: step.phases!.map((p) => ({ rate: round(p.rate), p50: p.p50, p99: p.p99, errors: p.errors, goodput: p.goodput })),
            settledMs: settleTimes(step, phaseMs),
            withinDeadline: step.phases!.every((p) => p.p99 < TIMEOUT_MS && p.errors === 0),
          },
        };
      } finally {
        await gw.stop();
      }
      console.error(`  ${mode}: ${JSON.stringify(results[mode])}`);
    }
  } finally {
    await backend.stop();
  }
  const none = results.none as { low5: Brief; low20: Brief; saturation: Brief };
  const added = (mode: Mode, load: 'low5' | 'low20'): { p50: number; p99: number } => {
    const r = results[mode] as Record<string, Brief>;
    return { p50: round(r[load]!.p50 - none[load].p50), p99: round(r[load]!.p99 - none[load].p99) };
  };
  const batched: Mode[] = ['fixed', 'workConserving', 'adaptive'];
  return {
    idleOverheadUs: await idleOverhead(),
    backend: { a: A, b: B, maxBatchSize: N, note: 'stand-in HTTP backend with a known cost, one batch at a time' },
    unbatchedCapacity: round(unbatchedCapacity), ceiling: round(ceiling),
    modes: results,
    addedOverUnbatchedMs: Object.fromEntries(batched.map((m) => [m, { low5: added(m, 'low5'), low20: added(m, 'low20') }])),
    saturationGain: Object.fromEntries(batched.map((m) => [m, round((results[m]!.saturation as Brief).goodput / none.saturation.goodput)])),
  };
}

// idleOverhead measures, in-process and without HTTP noise, what the batcher adds to a lone
// request on an idle backend: submit → answered with an instant `next`, batched vs direct (µs).
async function idleOverhead(calls = 5000): Promise<Record<string, number>> {
  const next: Infer = async (req) => ({ predictions: req.instances });
  const ctx = { requestId: '', signal: new AbortController().signal, deadline: Infinity, forward: {}, headers: {}, log: silentLogger, model: 'm' };
  const time = async (infer: Infer): Promise<number[]> => {
    const out: number[] = [];
    for (let i = 0; i < calls; i++) {
      const t = performance.now();
      await infer({ instances: [[i, 1]] }, ctx);
      out.push((performance.now() - t) * 1000);
      if (i % 64 === 0) await new Promise((r) => setTimeout(r, 0)); // idle gaps, as at low load
    }
    return out.sort((x, y) => x - y);
  };
  const q = (xs: number[], p: number): number => round(xs[Math.ceil(p * xs.length) - 1]!);
  const direct = await time(next);
  const workConserving = await time(createBatcher({ maxBatchSize: N, maxQueueDelayMs: 0, maxConcurrentBatches: 1, maxQueueRows: 4096, adaptive: false }, { target: 'idle', log: silentLogger }).stage(next));
  const adaptive = await time(createBatcher({ maxBatchSize: N, maxQueueDelayMs: 0, maxConcurrentBatches: 1, maxQueueRows: 4096, adaptive: true }, { target: 'idle2', log: silentLogger }).stage(next));
  return {
    directP50: q(direct, 0.5), directP99: q(direct, 0.99),
    workConservingP50: q(workConserving, 0.5), workConservingP99: q(workConserving, 0.99),
    adaptiveP50: q(adaptive, 0.5), adaptiveP99: q(adaptive, 0.99),
  };
}

interface Brief { offered: number; goodput: number; p50: number; p99: number; errors: number; statuses: Record<string, number> }

function brief(r: OpenLoopResult): Brief {
  return { offered: r.offered, goodput: r.goodput, p50: r.p50, p99: r.p99, errors: r.errors, statuses: r.statuses };
}

// settleTimes: per phase, how long after it began until every later window's p99 stays within
// 1.5× (+2 ms) of the p99 over the phase's second half.
function settleTimes(r: OpenLoopResult, phaseMs: number): number[] {
  return [0, 1, 2].map((k) => {
    const windows = r.series.filter((w) => w.tMs >= k * phaseMs && w.tMs < (k + 1) * phaseMs && w.ok > 0);
    const tail = windows.filter((w) => w.tMs >= k * phaseMs + phaseMs / 2).map((w) => w.p99).sort((x, y) => x - y);
    const bound = 1.5 * (tail[Math.floor(tail.length / 2)] ?? 0) + 2;
    let settled = 0;
    for (const w of windows) if (w.p99 > bound) settled = w.tMs - k * phaseMs + (r.series[1]?.tMs ?? 250);
    return settled;
  });
}

async function backendStats(backend: Proc): Promise<{ calls: number; rows: number; busyMs: number }> {
  return (await (await fetch(`http://127.0.0.1:${backend.port}/stats`)).json()) as { calls: number; rows: number; busyMs: number };
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

async function realGatewayCanServe(): Promise<boolean> {
  try {
    const [{ frontends }, { backends }] = await Promise.all([import('../src/frontends/index.ts'), import('../src/backends/index.ts')]);
    return 'vertex' in frontends && 'http' in backends;
  } catch {
    return false;
  }
}

async function startReal(backend: Proc, batching: Partial<BatchingConfig> | undefined): Promise<Gateway> {
  const { startGateway } = await import('../test/support/gateway.ts');
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
  return { url: gw.url, kind: 'gateway', stop: () => gw.stop() };
}

async function startInProcess(backend: Proc, batching: Partial<BatchingConfig> | undefined): Promise<Gateway> {
  const proc = await startNodeServer(import.meta.url, ['--serve', String(backend.port), JSON.stringify(batching ?? null)]);
  return { url: `http://127.0.0.1:${proc.port}`, kind: 'in-process stand-in (batcher + undici, no frontend/guard)', stop: () => proc.stop() };
}

// serveInProcess is the stand-in gateway: POST /predict {"instances"} → batcher → HTTP backend.
async function serveInProcess(backendPort: number, batching: Partial<BatchingConfig> | null): Promise<void> {
  const pool = new Pool(`http://127.0.0.1:${backendPort}`, { connections: 64, pipelining: 1 });
  const direct: Infer = async (req, ctx) => {
    const res = await pool.request({
      method: 'POST', path: '/predict', signal: ctx.signal, headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ instances: req.instances }),
    });
    const text = await res.body.text();
    if (res.statusCode !== 200) throw new GatewayError('backend_error', `backend answered ${res.statusCode}`);
    return JSON.parse(text) as InferResponse;
  };
  const config: BatchingConfig | undefined = batching === null ? undefined
    : { maxBatchSize: 32, maxQueueDelayMs: 0, maxConcurrentBatches: 1, maxQueueRows: 4096, adaptive: false, ...batching };
  const infer = config === undefined ? direct : createBatcher(config, { target: 'cost', log: silentLogger }).stage(direct);
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const aborter = new AbortController();
      res.on('close', () => { if (!res.writableFinished) aborter.abort(new GatewayError('client_closed', 'client went away')); });
      const timer = setTimeout(() => aborter.abort(new GatewayError('deadline_exceeded', 'deadline passed')), TIMEOUT_MS);
      const ctx = { requestId: '', signal: aborter.signal, deadline: performance.now() + TIMEOUT_MS, forward: {}, headers: req.headers, log: silentLogger, model: 'm' };
      Promise.resolve().then(() => infer(JSON.parse(Buffer.concat(chunks).toString()) as InferRequest, ctx)).then((out) => {
        const text = JSON.stringify({ predictions: out.predictions });
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)) }).end(text);
      }, (err) => {
        const e = toGatewayError(err);
        const headers: Record<string, string> = { 'content-type': 'application/json' };
        if (e.retryAfter !== undefined) headers['retry-after'] = String(e.retryAfter);
        if (!res.headersSent) res.writeHead(e.status, headers).end(JSON.stringify(e));
      }).finally(() => clearTimeout(timer));
    });
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => {
    const addr = server.address();
    process.stdout.write(`${JSON.stringify({ port: typeof addr === 'object' && addr ? addr.port : 0 })}\n`);
  });
  process.on('SIGTERM', () => process.exit(0));
}

if (import.meta.main) {
  const serve = process.argv.indexOf('--serve');
  if (serve > 0) await serveInProcess(Number(process.argv[serve + 1]), JSON.parse(process.argv[serve + 2]!) as Partial<BatchingConfig> | null);
  else console.log(JSON.stringify(await runBatchingBench(), null, 2));
}
