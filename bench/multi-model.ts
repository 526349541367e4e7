// multi-model.ts — issue 18's benchmark: 50 ONNX models behind one gateway as a SageMaker
// multi-model endpoint, with a memory budget (dynamicModels.maxModelsMemory) for 10 of them, and
// invocations following a Zipf distribution over the 50 (s = 1.1: a few hot models, a long tail).
// The client acts as SageMaker does: POST /models/{m}/invoke; on 404 (not loaded) it loads the
// model (POST /models, which evicts the least recently used when the budget is full) and invokes
// again. Figures: the hit rate, p50/p99 of hits and of misses (404 + load + invoke), loads and
// evictions, and the gateway's RSS over time (from /proc, sampled every 500 ms).
// Runnable alone: node bench/multi-model.ts   (BENCH_SECONDS, BENCH_CONCURRENCY to vary)

import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildMlp } from '../backends/onnx/build-models.ts';
import { startGateway } from '../test/support/gateway.ts';
import { summarise } from './load.ts';

const models = 50;
const budgetFor = 10;
const zipfS = 1.1;
const sizes = [32, 256, 256, 4];

// zipf gives a sampler of ranks 0..n-1 with P(k) ∝ 1/(k+1)^s, from a seeded generator.
function zipf(n: number, s: number, seed: number): () => number {
  const weights = Array.from({ length: n }, (_, k) => 1 / (k + 1) ** s);
  const total = weights.reduce((a, w) => a + w, 0);
  const cdf: number[] = [];
  let acc = 0;
  for (const w of weights) cdf.push((acc += w / total));
  let state = seed >>> 0;
  const random = (): number => {
    // mulberry32
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return () => {
    const u = random();
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid]! < u) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

function rssBytes(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'));
  return Number(/(\d+)/.exec(line ?? '')?.[1] ?? 0) * 1024;
}

export async function runMultiModelBench(seconds = Number(process.env.BENCH_SECONDS ?? 30), concurrency = Number(process.env.BENCH_CONCURRENCY ?? 4)): Promise<Record<string, unknown>> {
  const root = mkdtempSync(join(tmpdir(), 'mme-bench-'));
  const empty = join(root, 'repository');
  mkdirSync(empty);
  const model = buildMlp(sizes);
  for (let i = 0; i < models; i++) {
    mkdirSync(join(root, `m${i}`, 'model'), { recursive: true });
    writeFileSync(join(root, `m${i}`, 'model', 'model.onnx'), model);
  }
  // The onnx backend's estimate of one loaded model: its file and one worker's own memory (workerMemory 32mb).
  const footprint = statSync(join(root, 'm0', 'model', 'model.onnx')).size + 32 * 1024 ** 2;
  const gw = await startGateway(`
server: { logLevel: warn }
frontends: { sagemaker: { multiModel: true } }
backends: { mme: { type: onnx, modelRepository: ${empty} } }
dynamicModels: { backend: mme, maxModelsMemory: ${footprint * budgetFor}, whenFull: evict }
models: {}
`);
  const pid = gw.process.pid!;
  const rss: Array<{ s: number; mb: number }> = [];
  const t0 = performance.now();
  const sampler = setInterval(() => { rss.push({ s: Math.round((performance.now() - t0) / 100) / 10, mb: Math.round(rssBytes(pid) / 1e5) / 10 }); }, 500);
  const body = JSON.stringify({ instances: [Array.from({ length: sizes[0]! }, (_, j) => (j % 7) / 7)] });
  const json = { 'content-type': 'application/json' };
  const hits: Array<{ latency: number; ok: boolean }> = [];
  const misses: Array<{ latency: number; ok: boolean }> = [];
  let loads = 0;
  let conflicts = 0;
  const pick = zipf(models, zipfS, 18);
  const until = performance.now() + seconds * 1000;
  const invoke = (name: string): Promise<Response> => fetch(`${gw.url}/models/${name}/invoke`, { method: 'POST', headers: json, body });
  try {
    await Promise.all(Array.from({ length: concurrency }, async () => {
      while (performance.now() < until) {
        const name = `m${pick()}`;
        const started = performance.now();
        let res = await invoke(name);
        if (res.status !== 404) {
          await res.arrayBuffer();
          hits.push({ latency: performance.now() - started, ok: res.ok });
          continue;
        }
        await res.arrayBuffer();
        // Not loaded: load it as SageMaker would (409: another caller is loading it), then invoke.
        const loaded = await fetch(`${gw.url}/models`, { method: 'POST', headers: json, body: JSON.stringify({ model_name: name, url: join(root, name, 'model') }) });
        await loaded.arrayBuffer();
        if (loaded.status === 200) loads++;
        else if (loaded.status === 409) {
          // Another caller is loading it: wait until GET /models/{name} lists it (bounded).
          conflicts++;
          for (let i = 0; i < 100 && (await fetch(`${gw.url}/models/${name}`).then(async (r) => { await r.arrayBuffer(); return r.status; })) === 404; i++) {
            await new Promise((r) => setTimeout(r, 20));
          }
        }
        res = await invoke(name);
        await res.arrayBuffer();
        misses.push({ latency: performance.now() - started, ok: res.ok });
      }
    }));
  } finally {
    clearInterval(sampler);
  }
  const metrics = await (await fetch(`${gw.adminUrl}/metrics`)).text();
  const evictions = Number(/^infergate_model_evictions_total (\d+)/m.exec(metrics)?.[1] ?? 0);
  await gw.stop();
  rmSync(root, { recursive: true, force: true });
  const total = hits.length + misses.length;
  return {
    models, budgetForModels: budgetFor, zipfS, concurrency, seconds, modelBytes: footprint,
    invocations: total, hitRate: total === 0 ? 0 : Math.round((hits.length / total) * 1000) / 1000,
    hits: summarise(hits), misses: summarise(misses), loads, loadConflicts: conflicts, evictions,
    rssMb: { min: Math.min(...rss.map((r) => r.mb)), max: Math.max(...rss.map((r) => r.mb)), last: rss.at(-1)?.mb, series: rss.filter((_, i) => i % 4 === 0) },
  };
}

if (import.meta.main) console.log(JSON.stringify(await runMultiModelBench(), null, 2));
