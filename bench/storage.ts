// storage.ts — issue 21's figures: start-to-ready of a gateway whose onnx repository holds a
// large artifact on the local fake Cloud Storage (test/support/fake-gcs.ts), fetched with one
// part at a time against parallel ranged parts (cold cache), and from a filled cache (warm).
// Throughput is bytes over download time (from the gateway's own "downloaded model" line).
// Real object stores cap each connection's rate (GCS and S3 serve one stream at some tens to
// a hundred MB/s), which is what parallel parts get around: the fake caps each answer at
// BENCH_STREAM_MBPS (default 50; 0 = uncapped, where only the loopback and CPU limit it).
// Runnable alone: node bench/storage.ts   (BENCH_STORAGE_MB, default 1024; BENCH_PART_MB, default 32)

import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FakeGcs } from '../test/support/fake-gcs.ts';
import { startGateway } from '../test/support/gateway.ts';

interface Run { name: string; parallelParts: number; cache: 'cold' | 'warm'; startToReadyS: number; downloadS: number | null; mbPerS: number | null }

export async function runStorageBench(sizeMb = Number(process.env.BENCH_STORAGE_MB ?? 1024), streamMbps = Number(process.env.BENCH_STREAM_MBPS ?? 50),
  partMb = Number(process.env.BENCH_PART_MB ?? 32)): Promise<Record<string, unknown>> {
  const gcs = await new FakeGcs().listen();
  const work = mkdtempSync(join(tmpdir(), 'bench-storage-'));
  const size = Math.round(sizeMb * 1024 * 1024);
  // Random bytes: nothing along the way can compress them.
  const artifact = randomBytes(size);
  gcs.put('bench', 'repo/iris/1/model.onnx', readFileSync(fileURLToPath(new URL('../backends/onnx/iris/1/model.onnx', import.meta.url))));
  gcs.put('bench', 'repo/iris/weights.bin', artifact);
  // A per-answer rate cap: 256 KiB chunks, paced to streamMbps.
  if (streamMbps > 0) gcs.faults.slow = { chunkBytes: 256 * 1024, pauseMs: (256 / 1024 / streamMbps) * 1000 };
  const config = (cacheDir: string, parallelParts: number): string => `
server: { logLevel: info, drainDelaySeconds: 0 }
frontends: { kserve: {} }
storage: { cacheDir: ${JSON.stringify(cacheDir)}, parallelParts: ${parallelParts}, partBytes: ${partMb}mb, progressIntervalMs: 5s, gcs: { apiEndpoint: "${gcs.url}" } }
backends: { local: { type: onnx, modelRepository: "gs://bench/repo", warmup: false } }
models: { iris: { targets: [ { backend: local } ] } }
`;
  const runs: Run[] = [];
  const start = async (name: string, cacheDir: string, parallelParts: number, cache: 'cold' | 'warm'): Promise<void> => {
    const t0 = performance.now();
    const gw = await startGateway(config(cacheDir, parallelParts), { timeoutMs: 30 * 60_000 });
    const startToReadyS = (performance.now() - t0) / 1000;
    const line = gw.logs().split('\n').find((l) => l.includes('"message":"downloaded model'));
    await gw.stop();
    const doc = line === undefined ? undefined : JSON.parse(line) as { seconds: number; bytes: number };
    runs.push({
      name, parallelParts, cache, startToReadyS: +startToReadyS.toFixed(2),
      downloadS: doc === undefined ? null : doc.seconds, mbPerS: doc === undefined ? null : +(doc.bytes / 1024 / 1024 / doc.seconds).toFixed(1),
    });
    console.error(JSON.stringify(runs.at(-1)));
  };
  try {
    await start('sequential, cold cache', join(work, 'seq'), 1, 'cold');
    await start('parallel (8 parts), cold cache', join(work, 'par'), 8, 'cold');
    await start('warm cache', join(work, 'par'), 8, 'warm');
    return { artifactMb: sizeMb, streamCapMbPerS: streamMbps || 'none', partMb, runs };
  } finally {
    await gcs.close();
    rmSync(work, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(JSON.stringify(await runStorageBench(), null, 2));
