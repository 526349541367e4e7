// onnx.ts — issue 3's benchmark. The same MLP (128-2048-2048-2048-10, ~8.7 M weights, written by
// backends/onnx/build-models.ts into a temp folder) run two ways at batch 1 and 32:
//   - inProcess: a plain loop of onnxruntime-node session.run on this thread (intra-op 1);
//   - gateway: Vertex {"instances"} requests to the gateway's onnx backend (1 worker, intra-op
//     1), two requests in flight (wrk) so the worker never idles, JSON both ways.
// Figures: rows/s each way and their ratio (target ≥ 0.9 at batch 32), and the event-loop
// delay p99 while inferences run (target ≤ 5 ms): the gateway's from its /metrics when the
// real gateway runs, the stand-in server's own otherwise; the in-process loop's for contrast.
// Runnable alone: node bench/onnx.ts   (BENCH_SECONDS per run; BENCH_GATEWAY=inprocess forces
// the stand-in: an HTTP server in this process that parses JSON and calls the onnx backend.)

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import pino from 'pino';
import { buildMlp } from '../backends/onnx/build-models.ts';
import { onnx } from '../src/backends/onnx/onnx.ts';
import { parseJson, stringifyJson } from '../src/codecs/json.ts';
import { frontends } from '../src/frontends/index.ts';
import type { CallContext } from '../src/types.ts';
import { startGateway } from '../test/support/gateway.ts';
import { wrkLoad } from './support/wrk.ts';

const sizes = [128, 2048, 2048, 2048, 10];
const batches = [1, 32];

interface Target { url: string; kind: string; loopDelayP99Ms(): Promise<number | undefined>; stop(): Promise<unknown> }

function rows(n: number, seed: number): number[][] {
  return Array.from({ length: n }, (_, i) => Array.from({ length: sizes[0]! }, (_, j) => ((i * 31 + j * 7 + seed) % 97) / 97));
}

async function inProcess(path: string, batch: number, ms: number): Promise<{ rowsPerSec: number; loopDelayP99Ms: number }> {
  const session = await ort.InferenceSession.create(path, { intraOpNumThreads: 1, interOpNumThreads: 1, extra: { session: { intra_op: { allow_spinning: '0' } } } });
  const input = new ort.Tensor('float32', Float32Array.from(rows(batch, 1).flat()), [batch, sizes[0]!]);
  await session.run({ input });
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  let n = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < ms) {
    await session.run({ input });
    n++;
  }
  const elapsed = performance.now() - t0;
  h.disable();
  await session.release();
  return { rowsPerSec: (n * batch * 1000) / elapsed, loopDelayP99Ms: h.percentile(99) / 1e6 };
}

// Closed loop with wrk (C, a fraction of a core), `inFlight` connections so the worker never
// idles: a Node client here would take the CPU the gateway and its worker need on 2 cores.
// One checked call first: the answer has one prediction per row.
async function throughput(url: string, batch: number, ms: number, inFlight = 2): Promise<{ rowsPerSec: number; errors: number }> {
  const body = stringifyJson({ instances: rows(batch, 0) });
  const res = await fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
  const doc = parseJson(Buffer.from(await res.arrayBuffer())) as { predictions?: unknown[] };
  if (res.status !== 200 || doc.predictions?.length !== batch) throw new Error(`the gateway answered ${res.status} with ${doc.predictions?.length} predictions for ${batch} rows`);
  const r = await wrkLoad(url, { body, durationS: Math.max(1, Math.round(ms / 1000)), connections: inFlight });
  return { rowsPerSec: r.rps * batch, errors: r.errors + r.non2xx };
}

async function realGateway(repo: string): Promise<Target> {
  const yaml = stringifyJson({
    frontends: { vertex: { model: 'mlp' } },
    backends: { local: { type: 'onnx', modelRepository: repo } },
    models: { mlp: { targets: [{ backend: 'local' }] } },
  });
  const gw = await startGateway(yaml, { env: { AIP_PREDICT_ROUTE: '/predict' } });
  return {
    url: `${gw.url}/predict`, kind: 'gateway',
    loopDelayP99Ms: async () => {
      const text = await (await fetch(`${gw.adminUrl}/metrics`)).text();
      // prom-client samples the loop every 10 ms and its histogram holds whole intervals
      // (an idle loop reads ≈ 10 ms): the delay is what lies beyond the interval.
      const m = /^nodejs_eventloop_lag_p99_seconds\s+(\S+)/m.exec(text);
      return m === null ? undefined : Math.max(0, Number(m[1]) * 1000 - 10);
    },
    stop: () => gw.stop(),
  };
}

// The stand-in until the gateway serves Vertex: JSON in, backend, JSON out, in this process.
async function standIn(repo: string): Promise<Target> {
  const backend = onnx.create('local', onnx.schema.parse({ type: 'onnx', modelRepository: repo }), { log: pino({ level: 'silent' }) });
  await backend.start();
  const model = backend.model('mlp');
  const h = monitorEventLoopDelay({ resolution: 1 });
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const doc = parseJson(Buffer.concat(chunks)) as { instances: unknown[] };
    const out = await model.infer({ instances: doc.instances }, { signal: new AbortController().signal } as CallContext);
    res.setHeader('content-type', 'application/json');
    res.end(stringifyJson({ predictions: out.predictions }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  h.enable();
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}/predict`, kind: 'stand-in (backend in this process, no gateway)',
    loopDelayP99Ms: async () => h.percentile(99) / 1e6,
    stop: async () => { h.disable(); server.close(); await backend.close(); },
  };
}

/** runOnnxBench runs both ways at batch 1 and 32 and returns the figures. */
export async function runOnnxBench(seconds = Number(process.env.BENCH_SECONDS ?? 5)): Promise<Record<string, unknown>> {
  const repo = mkdtempSync(join(tmpdir(), 'onnx-bench-'));
  mkdirSync(join(repo, 'mlp', '1'), { recursive: true });
  const path = join(repo, 'mlp', '1', 'model.onnx');
  writeFileSync(path, buildMlp(sizes));
  const useReal = process.env.BENCH_GATEWAY !== 'inprocess' && 'vertex' in frontends;
  const target = useReal ? await realGateway(repo) : await standIn(repo);
  const results: Record<string, unknown> = { model: `MLP ${sizes.join('-')}`, gateway: target.kind, secondsPerRun: seconds };
  try {
    await target.loopDelayP99Ms(); // a scrape resets the histogram: start and model load are left out
    for (const batch of batches) {
      const direct = await inProcess(path, batch, seconds * 1000);
      await throughput(target.url, batch, 500); // warm connections and the worker
      const via = await throughput(target.url, batch, seconds * 1000);
      results[`batch${batch}`] = {
        inProcessRowsPerSec: Math.round(direct.rowsPerSec), gatewayRowsPerSec: Math.round(via.rowsPerSec),
        ratio: Number((via.rowsPerSec / direct.rowsPerSec).toFixed(3)), errors: via.errors,
        inProcessLoopDelayP99Ms: Number(direct.loopDelayP99Ms.toFixed(2)),
      };
    }
    const eld = await target.loopDelayP99Ms();
    results.gatewayLoopDelayP99Ms = eld === undefined ? 'not exported' : Number(eld.toFixed(2));
    results.targets = { ratioAtBatch32: '≥ 0.9', loopDelayP99Ms: '≤ 5' };
  } finally {
    await target.stop();
    rmSync(repo, { recursive: true, force: true });
  }
  return results;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(JSON.stringify(await runOnnxBench(), null, 2));
}
