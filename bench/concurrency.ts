// concurrency.ts — how Cloud Run's (and Knative's) --concurrency, the requests one instance is
// sent at once, feeds the batcher: the gateway's ONNX backend (1 worker thread, intra-op 1)
// runs the MLP 128-2048-2048-2048-10 (backends/onnx/build-models.ts) with config/cloudrun.yaml's
// batching (maxBatchSize 64, work-conserving), and C closed-loop clients of one row each stand
// for C requests in flight, C = 1 … 80 (Cloud Run's default). Rows per second and latency per C,
// the same with batching off, and the mean batch the backend saw.
//   node bench/concurrency.ts          (BENCH_SECONDS per point, default 3; BENCH_LEVELS=1,8,64 picks C)

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildMlp } from '../backends/onnx/build-models.ts';
import { startGateway } from '../test/support/gateway.ts';

const sizes = [128, 2048, 2048, 2048, 10];
const levels = (process.env.BENCH_LEVELS ?? '1,2,4,8,16,32,64,80,128').split(',').map(Number);

function row(seed: number): number[] {
  return Array.from({ length: sizes[0]! }, (_, j) => ((seed * 31 + j * 7) % 97) / 97);
}

async function closedLoop(url: string, clients: number, ms: number): Promise<{ rowsPerSec: number; p50Ms: number; p99Ms: number; errors: number }> {
  const latencies: number[] = [];
  let errors = 0;
  const t0 = performance.now();
  const client = async (i: number): Promise<void> => {
    const body = JSON.stringify({ instances: [row(i)] });
    while (performance.now() - t0 < ms) {
      const s = performance.now();
      const res = await fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
      await res.arrayBuffer();
      if (res.status === 200) latencies.push(performance.now() - s);
      else errors++;
    }
  };
  await Promise.all(Array.from({ length: clients }, (_, i) => client(i)));
  latencies.sort((a, b) => a - b);
  const q = (p: number): number => Number((latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? 0).toFixed(1));
  return { rowsPerSec: Math.round((latencies.length * 1000) / (performance.now() - t0)), p50Ms: q(0.5), p99Ms: q(0.99), errors };
}

async function batchRows(adminUrl: string): Promise<{ sum: number; count: number }> {
  const text = await (await fetch(`${adminUrl}/metrics`)).text();
  const read = (name: string): number => text.split('\n').filter((l) => l.startsWith(name)).reduce((s, l) => s + Number(l.split(' ').at(-1)), 0);
  return { sum: read('infergate_batch_rows_sum'), count: read('infergate_batch_rows_count') };
}

/** runConcurrencyBench sweeps the requests in flight, batched and not. */
export async function runConcurrencyBench(seconds = Number(process.env.BENCH_SECONDS ?? 3)): Promise<Record<string, unknown>> {
  const repo = mkdtempSync(join(tmpdir(), 'concurrency-bench-'));
  mkdirSync(join(repo, 'mlp', '1'), { recursive: true });
  writeFileSync(join(repo, 'mlp', '1', 'model.onnx'), buildMlp(sizes));
  const results: Record<string, unknown> = { model: `MLP ${sizes.join('-')}`, secondsPerPoint: seconds, loadAverage: loadavg().map((x) => Number(x.toFixed(2))) };
  try {
    for (const [mode, batching] of [['batched', { maxBatchSize: 64, maxQueueDelayMs: 0, maxQueueRows: 4096 }], ['unbatched', undefined]] as const) {
      const gw = await startGateway(JSON.stringify({
        server: { logLevel: 'warn' },
        frontends: { vertex: { model: 'mlp', predictRoute: '/predict', healthRoute: '/health' } },
        backends: { local: { type: 'onnx', modelRepository: repo, workers: 1, intraOpThreads: 1 } },
        models: { mlp: { timeoutMs: 30_000, ...(batching === undefined ? {} : { batching }), targets: [{ backend: 'local' }] } },
      }));
      try {
        const url = `${gw.url}/predict`;
        await closedLoop(url, 4, 500); // warm the connections and the worker
        const points: Record<string, unknown> = {};
        for (const c of levels) {
          const before = await batchRows(gw.adminUrl);
          const r = await closedLoop(url, c, seconds * 1000);
          const after = await batchRows(gw.adminUrl);
          const batches = after.count - before.count;
          points[`c${c}`] = { ...r, ...(batches > 0 ? { meanBatchRows: Number(((after.sum - before.sum) / batches).toFixed(1)) } : {}) };
        }
        results[mode] = points;
      } finally {
        await gw.stop();
      }
    }
  } finally {
    rmSync(repo, { recursive: true, force: true });
  }
  return results;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) console.log(JSON.stringify(await runConcurrencyBench(), null, 2));
