// soak.ts — `npm run soak` (not in CI; reliability.md R17): SOAK_REQUESTS (default 10^6) mixed
// requests at a gateway serving the bundled ONNX iris model (batched) and an http echo backend:
// 70 % valid, 20 % bad (each a 4xx), 5 % client-chosen model names and versions (random
// strings: unknown models, unpinned versions, and versions of a model open to any), 5 % aborted
// by the client (mid-flight or mid-body). Every
// SOAK_CHECK requests (default 10^5) traffic pauses, the gateway is made to run a full GC and
// report heapUsed and its active resources (a preload module answering SIGUSR2, so the gateway
// carries no debug hook of its own). Passes when the heap slope after warm-up (the first
// checkpoint) is < 1 MB per 10^5 requests, the active handles return to their baseline, and
// the /metrics series count and RSS stay flat however many names clients made up.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { startGateway, type RunningGateway } from '../test/support/gateway.ts';
import { startNodeServer } from './support/processes.ts';

const total = Number(process.env.SOAK_REQUESTS ?? 1_000_000);
const every = Number(process.env.SOAK_CHECK ?? 100_000);
const concurrency = Number(process.env.SOAK_CONCURRENCY ?? 32);

// The probe runs inside the gateway process (NODE_OPTIONS --import): on SIGUSR2 it collects
// garbage and prints one JSON line that the launcher captures with the gateway's own output.
const probeSource = `
process.on('SIGUSR2', () => {
  for (let i = 0; i < 3; i++) globalThis.gc();
  const counts = {};
  for (const r of process.getActiveResourcesInfo()) counts[r] = (counts[r] ?? 0) + 1;
  const m = process.memoryUsage();
  process.stderr.write(JSON.stringify({ message: 'heap-probe', seq: ++globalThis.__probeSeq, heapUsed: m.heapUsed, rss: m.rss, external: m.external, resources: counts }) + '\\n');
});
globalThis.__probeSeq = 0;
`;

interface Probe { seq: number; heapUsed: number; rss: number; external: number; resources: Record<string, number> }

const iris = (x: number): string => JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], data: [5.1, 3.5, 1.4, x] }] });
const bad: Array<{ path: string; body: string; method?: string; headers?: Record<string, string> }> = [
  { path: '/predict', body: '{"instances": [[1,2]' },
  { path: '/predict', body: `{"instances":${'['.repeat(100)}${']'.repeat(100)}}` },
  { path: '/v2/models/nope/infer', body: iris(0.2) },
  { path: '/v2/models/iris/infer', body: JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 3], data: [1, 2, 3] }] }) },
  { path: '/v2/models/iris/infer', body: JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1000000000, 4], data: [1, 2, 3, 4] }] }) },
  { path: '/predict', body: `{"instances":[["${'x'.repeat(70 * 1024)}"]]}` },
  { path: '/predict', body: '', method: 'GET' },
  { path: '/predict', body: '{"instances":[[1,2]]}', headers: { 'x-infergate-target': 'nope' } },
  { path: '/v2/models/iris/infer', body: '{"inputs":[{"name":"input","datatype":"FP32","shape":[1,4],"data":[1e999,1,2,3]}]}' },
  { path: '/v2/models/..%2f/infer', body: '{}' },
];

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'infergate-soak-'));
  const probeFile = join(dir, 'heap-probe.mjs');
  writeFileSync(probeFile, probeSource);
  const echo = await startNodeServer(new URL('./support/echo-backend.ts', import.meta.url).href);
  let gw: RunningGateway | undefined;
  try {
    gw = await startGateway(`
server: { maxBodyBytes: 64kb, logLevel: warn }
frontends:
  vertex: { model: web, predictRoute: /predict, healthRoute: /health }
  kserve: {}
backends:
  local: { type: onnx, modelRepository: backends/onnx }
  echo: { type: http, url: "http://127.0.0.1:${echo.port}" }
models:
  iris: { timeoutMs: 5000, batching: { maxBatchSize: 16, maxQueueDelayMs: 1 }, targets: [ { backend: local } ] }
  web: { timeoutMs: 5000, targets: [ { backend: echo } ] }
  open: { timeoutMs: 5000, targets: [ { backend: echo, versions: any, maxVersions: 8 } ] }
`, { env: { NODE_OPTIONS: `--expose-gc --import=${probeFile}` } });
    const running = gw;
    const probe = async (): Promise<Probe> => {
      await new Promise((r) => setTimeout(r, 300));
      const n = (running.logs().match(/"heap-probe"/g) ?? []).length;
      running.process.kill('SIGUSR2');
      const line = await running.waitForLog(new RegExp(`"heap-probe","seq":${n + 1},`), 10_000);
      return JSON.parse(line) as Probe;
    };

    const baseline = await probe();
    const statuses: Record<string, number> = {};
    const count = (k: string): void => { statuses[k] = (statuses[k] ?? 0) + 1; };
    const checkpoints: Array<{ requests: number; heapUsedMb: number; rssMb: number; externalMb: number; handles: number; series: number }> = [];
    // The gateway's own series; scraped on a connection that closes after, so the scrape leaves
    // no socket behind for the handle count.
    const series = (): Promise<number> => new Promise((resolve, reject) => {
      get(`${running.adminUrl}/metrics`, { agent: false, headers: { connection: 'close' } }, (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (c: string) => { text += c; }).on('end', () => resolve(text.split('\n').filter((l) => l.startsWith('infergate_')).length));
      }).on('error', reject);
    });
    await series(); // the first scrape adds the admin route's own series
    const started = performance.now();
    let sent = 0;
    for (let done = 0; done < total; done += every) {
      const pool = new Pool(running.url, { connections: concurrency, pipelining: 1 });
      const batchEnd = Math.min(total, done + every);
      const worker = async (): Promise<void> => {
        while (sent < batchEnd) {
          const i = sent++;
          const r = i % 100;
          try {
            if (r < 5) await abortOne(pool, running.port, i);
            else if (r < 10) {
              const made = `${(i * 2654435761 % 2 ** 32).toString(36)}${i}`;
              const pick = i % 4;
              const res = pick === 3
                ? await pool.request({ path: `/v2/models/iris/versions/${made}`, method: 'GET' })
                : await pool.request({
                  path: pick === 0 ? `/v2/models/${made}/infer` : pick === 1 ? `/v2/models/iris/versions/${made}/infer` : `/v2/models/open/versions/${made}/infer`,
                  method: 'POST', body: pick === 2 ? '{"inputs":[{"name":"x","datatype":"FP32","shape":[1,2],"data":[1,2]}]}' : iris(0.3), headers: { 'content-type': 'application/json' },
                });
              await res.body.dump();
              count(`made-up:${res.statusCode}`);
            } else if (r < 30) {
              const b = bad[i % bad.length]!;
              const res = await pool.request({ path: b.path, method: (b.method ?? 'POST') as 'POST', body: b.method === 'GET' ? undefined : b.body, headers: { 'content-type': 'application/json', ...b.headers } });
              await res.body.dump();
              count(String(res.statusCode));
            } else {
              const res = r % 2 === 0
                ? await pool.request({ path: '/v2/models/iris/infer', method: 'POST', body: iris((i % 7) / 10), headers: { 'content-type': 'application/json' } })
                : await pool.request({ path: '/predict', method: 'POST', body: `{"instances":[[${i % 13},2]]}`, headers: { 'content-type': 'application/json' } });
              await res.body.dump();
              count(String(res.statusCode));
            }
          } catch (err) {
            count(`error:${(err as { code?: string }).code ?? (err as Error).name}`);
          }
        }
      };
      await Promise.all(Array.from({ length: concurrency }, worker));
      await pool.close();
      const p = await probe();
      const handles = Object.values(p.resources).reduce((a, b) => a + b, 0);
      const n = await series();
      checkpoints.push({ requests: batchEnd, heapUsedMb: mb(p.heapUsed), rssMb: mb(p.rss), externalMb: mb(p.external), handles, series: n });
      process.stderr.write(`soak: ${batchEnd} requests, heapUsed ${mb(p.heapUsed)} MB, rss ${mb(p.rss)} MB, handles ${handles}, ${n} series, ${Math.round(batchEnd / ((performance.now() - started) / 1000))} req/s\n`);
    }
    // Idle long enough for keep-alive sockets (clients' and the backend pool's) to close.
    await new Promise((r) => setTimeout(r, 6000));
    const final = await probe();
    const afterWarmup = checkpoints.slice(1);
    const slope = afterWarmup.length >= 2 ? regression(afterWarmup.map((c) => c.requests / 100_000), afterWarmup.map((c) => c.heapUsedMb)) : NaN;
    const baseHandles = sum(baseline.resources);
    const finalHandles = sum(final.resources);
    const result = {
      requests: total, seconds: Math.round((performance.now() - started) / 1000), statuses,
      checkpoints,
      heapSlopeMbPer100k: Number.isNaN(slope) ? null : +slope.toFixed(3),
      heapGrowthAfterWarmupMb: afterWarmup.length > 0 ? +(afterWarmup.at(-1)!.heapUsedMb - checkpoints[0]!.heapUsedMb).toFixed(2) : null,
      handles: { baseline: baseline.resources, final: final.resources },
      seriesAfterWarmup: afterWarmup.length > 0 ? afterWarmup.at(-1)!.series - checkpoints[0]!.series : null,
      rssGrowthAfterWarmupMb: afterWarmup.length > 0 ? +(afterWarmup.at(-1)!.rssMb - checkpoints[0]!.rssMb).toFixed(2) : null,
      pass: {
        heap: Number.isNaN(slope) || slope < 1, handles: finalHandles <= baseHandles, gatewayAlive: running.process.exitCode === null,
        // Made-up names add no series after warm-up (a handful at most: a histogram bucket first hit late).
        series: afterWarmup.length === 0 || afterWarmup.at(-1)!.series - checkpoints[0]!.series <= 20,
        rss: afterWarmup.length === 0 || afterWarmup.at(-1)!.rssMb - checkpoints[0]!.rssMb < 64,
      },
    };
    console.log(JSON.stringify(result, null, 2));
    process.exitCode = Object.values(result.pass).every(Boolean) ? 0 : 1;
  } finally {
    await gw?.stop();
    await echo.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

// abortOne aborts a request in one of two ways: the client gives up mid-flight (fetch-style
// abort after 0–2 ms), or a raw client sends headers and half a body, then vanishes.
async function abortOne(pool: Pool, port: number, i: number): Promise<void> {
  if (i % 2 === 0) {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), i % 3);
    try {
      const res = await pool.request({ path: i % 4 === 0 ? '/v2/models/iris/infer' : '/predict', method: 'POST', body: i % 4 === 0 ? iris(0.1) : '{"instances":[[1,2]]}', signal: ac.signal, headers: { 'content-type': 'application/json' } });
      await res.body.dump();
    } catch { /* aborted, as intended */ }
    return;
  }
  await new Promise<void>((resolve) => {
    const s = connect(port, '127.0.0.1', () => {
      s.write('POST /predict HTTP/1.1\r\nhost: a\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{"instances":[[1,');
      setTimeout(() => { s.destroy(); resolve(); }, 1);
    });
    s.on('error', () => resolve());
  });
}

function regression(xs: number[], ys: number[]): number {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) { num += (xs[i]! - mx) * (ys[i]! - my); den += (xs[i]! - mx) ** 2; }
  return num / den;
}

const mb = (bytes: number): number => +(bytes / 2 ** 20).toFixed(2);
const sum = (r: Record<string, number>): number => Object.values(r).reduce((a, b) => a + b, 0);

await main();
