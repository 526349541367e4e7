// coldstart.ts — process start to first 200 answer, as a scale-from-zero request on Cloud Run or
// Knative waits for it: the gateway is spawned, and a client posts a prediction every 2 ms until
// one answers 200. Three setups: the bundled iris default, a ~100 MB ONNX model (an MLP with
// random weights, written to a temp folder at bench time), and a spawned backend (an http
// backend whose model server the gateway starts itself). Each run is broken into the phases
// the gateway logs on its "started" line (node bootstrap, module load, config, build, listen,
// backends start) and, for ONNX, the model's load and warm-up.
//   node bench/coldstart.ts            (BENCH_RUNS=N runs per setup, default 5)
//   NODE_COMPILE_CACHE=DIR node bench/coldstart.ts   the image's setting (Dockerfile)

import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { buildMlp } from '../backends/onnx/build-models.ts';

const root = fileURLToPath(new URL('../', import.meta.url));
const main = join(root, 'src/main.ts');
const irisBody = JSON.stringify({ instances: [[5.1, 3.5, 1.4, 0.2]] });

interface Setup { name: string; config: string; body: string; path: string }
interface Run { firstAnswerMs: number; phases: Record<string, number>; model?: { loadMs: number; warmupMs: number } }

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => { const p = (s.address() as AddressInfo).port; s.close(() => resolve(p)); });
  });
}

function post(port: number, path: string, body: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'POST', agent: false, headers: { 'content-type': 'application/json' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', () => resolve(0));
    req.end(body);
  });
}

async function once(setup: Setup): Promise<Run> {
  const port = await freePort();
  const started = performance.now();
  const child = spawn(process.execPath, [main, 'serve', '--config', setup.config], {
    env: { ...process.env, PORT: String(port), INFERGATE_ADMIN_PORT: '0' }, stdio: ['ignore', 'pipe', 'pipe'], cwd: root,
  });
  let log = '';
  child.stdout!.on('data', (c: Buffer) => { log += c.toString(); });
  child.stderr!.on('data', (c: Buffer) => { log += c.toString(); });
  let firstAnswerMs = -1;
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`the gateway exited with ${child.exitCode}:\n${log}`);
      if (performance.now() - started > 120_000) throw new Error(`no 200 within 120 s:\n${log}`);
      if (await post(port, setup.path, setup.body) === 200) { firstAnswerMs = performance.now() - started; break; }
      await new Promise((r) => setTimeout(r, 2));
    }
    while (!log.includes('"message":"started"')) await new Promise((r) => setTimeout(r, 5));
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
  const lines = log.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, any>);
  const phases = lines.find((l) => l.message === 'started')!.startup as Record<string, number>;
  const loaded = lines.find((l) => typeof l.loadMs === 'number');
  return { firstAnswerMs, phases, ...(loaded === undefined ? {} : { model: { loadMs: loaded.loadMs, warmupMs: loaded.warmupMs } }) };
}

const median = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]!; };

function summary(runs: Run[]): Record<string, unknown> {
  const keys = Object.keys(runs[0]!.phases);
  const out: Record<string, unknown> = {
    firstAnswerMs: { median: Math.round(median(runs.map((r) => r.firstAnswerMs))), min: Math.round(Math.min(...runs.map((r) => r.firstAnswerMs))) },
    phasesMedianMs: Object.fromEntries(keys.map((k) => [k, median(runs.map((r) => r.phases[k]!))])),
  };
  if (runs[0]!.model !== undefined) {
    out.modelMedianMs = { load: median(runs.map((r) => r.model!.loadMs)), warmup: median(runs.map((r) => r.model!.warmupMs)) };
    // The target: the answer within the model's own load time + 200 ms.
    out.overModelLoadMs = Math.round(median(runs.map((r) => r.firstAnswerMs - r.model!.loadMs)));
  }
  return out;
}

/** runColdStartBench runs each setup BENCH_RUNS times and gives medians, minimums and phases. */
export async function runColdStartBench(runs = Number(process.env.BENCH_RUNS ?? 5)): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), 'coldstart-'));
  try {
    const config = (doc: Record<string, unknown>, name: string): string => { const f = join(dir, `${name}.yaml`); writeFileSync(f, stringify(doc)); return f; };
    // The bundled default as it ships, its admin port moved off 9090 (PORT and INFERGATE_ADMIN_PORT set per run).
    const iris = parse(readFileSync(join(root, 'config/default.yaml'), 'utf8')) as Record<string, any>;
    iris.server.adminPort = '${INFERGATE_ADMIN_PORT}';
    iris.backends.local.modelRepository = join(root, 'backends/onnx');
    // ~100 MB of FP32 weights: 256 → 5000 → 5000 → 10.
    mkdirSync(join(dir, 'repo', 'big', '1'), { recursive: true });
    const bigPath = join(dir, 'repo', 'big', '1', 'model.onnx');
    writeFileSync(bigPath, buildMlp([256, 5000, 5000, 10]));
    const big = {
      version: 'coldstart-big', server: { port: '${PORT}', adminPort: '${INFERGATE_ADMIN_PORT}' },
      frontends: { vertex: { model: 'big', predictRoute: '/predict', healthRoute: '/health' } },
      backends: { local: { type: 'onnx', modelRepository: join(dir, 'repo'), executionProviders: ['cpu'] } },
      models: { big: { targets: [{ backend: 'local' }] } },
    };
    const backendPort = await freePort();
    const spawned = {
      version: 'coldstart-spawned', server: { port: '${PORT}', adminPort: '${INFERGATE_ADMIN_PORT}' },
      frontends: { vertex: { model: 'm', predictRoute: '/predict', healthRoute: '/health' } },
      backends: {
        server: {
          type: 'http', url: `http://127.0.0.1:${backendPort}`, predictPath: '/predict', healthPath: '/health',
          spawn: { command: [process.execPath, join(root, 'bench/support/echo-backend.ts'), '{port}'] },
        },
      },
      models: { m: { targets: [{ backend: 'server' }] } },
    };
    const setups: Setup[] = [
      { name: 'iris', config: config(iris, 'iris'), body: irisBody, path: '/predict' },
      { name: 'onnx100mb', config: config(big, 'big'), body: JSON.stringify({ instances: [Array.from({ length: 256 }, () => 0.5)] }), path: '/predict' },
      { name: 'spawned', config: config(spawned, 'spawned'), body: irisBody, path: '/predict' },
    ];
    const results: Record<string, unknown> = {
      runsPerSetup: runs, compileCache: process.env.NODE_COMPILE_CACHE !== undefined,
      loadAverage: (await import('node:os')).loadavg().map((x) => Number(x.toFixed(2))), bigModelBytes: statSync(bigPath).size,
    };
    for (const setup of setups) {
      const all: Run[] = [];
      for (let i = 0; i < runs; i++) all.push(await once(setup));
      results[setup.name] = summary(all);
    }
    return results;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) console.log(JSON.stringify(await runColdStartBench(), null, 2));
