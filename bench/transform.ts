// transform.ts — issue 15's benchmark: examples/image-classifier served two ways, side by side in
// one run, the same JPEGs (red, green, blue, mildly noisy; 224x224, and 1024x768 as a phone app
// would upload a photo) as Vertex {"instances": [{"b64": ...}]} bodies, resized to the model's
// 32x32 on both sides, at the same closed-loop concurrency (wrk, 4 connections):
//   - infergate: the example's config as shipped (its `transform` decodes, resizes to 32x32 and
//     normalizes each image, the ONNX backend runs the model, the labels step names the class);
//   - the seeds' way: bench/flask-image.py under gunicorn (2 sync workers), Pillow + numpy + Python
//     onnxruntime. onnxruntime is not a Debian package: it is installed from PyPI into a venv
//     (.tmp/bench-venv, beside Debian's Flask, Pillow and numpy) at bench time; if pip cannot
//     install it, the Flask app sends its tensor to infergate's ONNX backend instead (and that
//     gateway's CPU is counted on Flask's side), which the result says.
// Figures: requests per CPU-second of each server's process tree (/proc, every thread and child)
// and their ratio (target ≥ 3 for infergate); the transform's own cost per request: the steps'
// seconds from the gateway's /metrics where it exports them, and always the gateway's CPU per
// request beside the same model answering a ready v2 tensor without a transform; the event-loop
// delay p99 while transforms run (target ≤ 5 ms).
// Runnable alone: node bench/transform.ts   (BENCH_SECONDS per measured run, default 6)

import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { startGateway, startGatewayFromFile, type RunningGateway } from '../test/support/gateway.ts';
import { freePort } from '../test/support/ports.ts';
import { cpuTicks, processTree } from './support/cpu.ts';
import { wrkLoad } from './support/wrk.ts';

const example = fileURLToPath(new URL('../examples/image-classifier/', import.meta.url));
const venv = fileURLToPath(new URL('../.tmp/bench-venv/', import.meta.url));
const colours: Array<[string, number[]]> = [['red', [200, 50, 40]], ['green', [40, 180, 60]], ['blue', [30, 60, 210]]];
const connections = 4;

/** Size is one image size the bench sends: a thumbnail, and a photo as a phone app would upload it. */
interface Size { width: number; height: number; noise: number; quality: number }
const sizes: Size[] = [{ width: 224, height: 224, noise: 40, quality: 90 }, { width: 1024, height: 768, noise: 20, quality: 85 }];

interface Shot { label: string; body: string; bytes: number }

/** images makes one JPEG per colour at a size, with a fixed pseudo-random noise, as Vertex b64 bodies. */
async function images(size: Size): Promise<Shot[]> {
  let seed = 11;
  const rand = (): number => { seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0; return seed / 2 ** 32; };
  return Promise.all(colours.map(async ([label, rgb]) => {
    const px = Buffer.alloc(size.width * size.height * 3);
    for (let i = 0; i < px.length; i++) px[i] = Math.max(0, Math.min(255, Math.round(rgb[i % 3]! + (rand() - 0.5) * 2 * size.noise)));
    const jpeg = await sharp(px, { raw: { width: size.width, height: size.height, channels: 3 } }).jpeg({ quality: size.quality }).toBuffer();
    return { label, body: JSON.stringify({ instances: [{ b64: jpeg.toString('base64') }] }), bytes: jpeg.length };
  }));
}

interface Run { rps: number; p50Ms: number; p99Ms: number; failed: number; cpuSeconds: number; reqPerCpuSecond: number; cpuMsPerRequest: number }

// measure runs wrk for `seconds` after a 2 s warm-up and counts the CPU of the server's process
// tree meanwhile (the tree is listed again at the end: gunicorn may have replaced a worker).
async function measure(url: string, bodies: string[], seconds: number, pids: () => number[]): Promise<Run> {
  await wrkLoad(url, { body: bodies[0]!, bodies, durationS: 2, connections });
  const before = pids();
  const t0 = cpuTicks(before);
  const r = await wrkLoad(url, { body: bodies[0]!, bodies, durationS: seconds, connections });
  const after = pids();
  const cpuSeconds = (cpuTicks([...new Set([...before, ...after])]) - t0) / 100;
  const answered = r.rps * seconds;
  return {
    rps: r.rps, p50Ms: r.p50, p99Ms: r.p99, failed: r.errors + r.non2xx, cpuSeconds: round(cpuSeconds),
    reqPerCpuSecond: round(answered / Math.max(cpuSeconds, 0.01)), cpuMsPerRequest: round((cpuSeconds * 1000) / Math.max(answered, 1)),
  };
}

// checkLabels posts each image once and insists on its colour, so a run never measures errors.
async function checkLabels(url: string, shots: Shot[]): Promise<void> {
  for (const { label, body } of shots) {
    const res = await fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
    const text = await res.text();
    if (res.status !== 200 || !text.includes(`"${label}"`)) throw new Error(`${url} answered ${res.status} ${text.slice(0, 300)} for a ${label} image`);
  }
}

async function scrape(gw: RunningGateway): Promise<string> {
  return (await fetch(`${gw.adminUrl}/metrics`)).text();
}

// prom-client samples the loop every 10 ms and its histogram holds whole intervals (an idle loop
// reads ≈ 10 ms): the delay is what lies beyond the interval (as bench/onnx.ts reads it).
function loopDelayP99Ms(metrics: string): number | undefined {
  const m = /^nodejs_eventloop_lag_p99_seconds\s+(\S+)/m.exec(metrics);
  return m === null ? undefined : round(Math.max(0, Number(m[1]) * 1000 - 10));
}

// stepTotals reads the sum and count of every infergate_transform* histogram series in a scrape.
function stepTotals(metrics: string): Map<string, { sum: number; count: number }> {
  const out = new Map<string, { sum: number; count: number }>();
  const at = (key: string): { sum: number; count: number } => out.get(key) ?? out.set(key, { sum: 0, count: 0 }).get(key)!;
  for (const m of metrics.matchAll(/^(infergate_transform\w*)_(sum|count)(\{[^}]*\})?\s+(\S+)/gm)) at(`${m[1]}${m[3] ?? ''}`)[m[2] as 'sum' | 'count'] = Number(m[4]);
  return out;
}

// msPerCall gives each series' mean milliseconds per call between two scrapes.
function msPerCall(before: Map<string, { sum: number; count: number }>, after: Map<string, { sum: number; count: number }>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, a] of after) {
    const b = before.get(key) ?? { sum: 0, count: 0 };
    if (a.count > b.count) out[key.replace(/^infergate_transform_seconds/, '')] = round(((a.sum - b.sum) / (a.count - b.count)) * 1000, 3);
  }
  return out;
}

/** pythonWithOnnxruntime gives the venv's python once `import onnxruntime` works there, or why not. */
async function pythonWithOnnxruntime(): Promise<{ python?: string; why?: string }> {
  const python = `${venv}bin/python`;
  const run = (cmd: string, args: string[], timeoutMs: number): Promise<string | undefined> => new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs }, (err, _out, stderr) => resolve(err === null ? undefined : `${err.message} ${stderr}`.slice(-400)));
  });
  if (existsSync(python) && (await run(python, ['-c', 'import onnxruntime'], 30_000)) === undefined) return { python };
  mkdirSync(venv, { recursive: true });
  const made = await run('/usr/bin/python3', ['-m', 'venv', '--system-site-packages', venv], 120_000);
  if (made !== undefined) return { why: `venv: ${made}` };
  const installed = await run(`${venv}bin/pip`, ['install', '-q', 'onnxruntime'], 300_000);
  if (installed !== undefined) return { why: `pip install onnxruntime: ${installed}` };
  return { python };
}

async function startFlask(python: string, env: Record<string, string>): Promise<{ url: string; pids(): number[]; stop(): Promise<void> }> {
  const port = await freePort();
  const child: ChildProcess = spawn(python, ['-m', 'gunicorn', '-w', '2', '-b', `127.0.0.1:${port}`, '--chdir', fileURLToPath(new URL('.', import.meta.url)), 'flask-image:app'], {
    env: { ...process.env, MODEL: `${example}models/classifier/1/model.onnx`, LABELS: `${example}labels.txt`, ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  let up = false;
  for (let i = 0; i < 150 && !up && child.exitCode === null; i++) {
    up = await fetch(`http://127.0.0.1:${port}/health`).then((r) => r.ok, () => false);
    if (!up) await new Promise((r) => setTimeout(r, 100));
  }
  const stop = (): Promise<void> => new Promise((r) => {
    if (child.exitCode !== null) return r();
    child.once('exit', () => r());
    child.kill('SIGTERM');
  });
  if (!up) {
    await stop();
    throw new Error('the Flask app did not start (gunicorn, python3-flask, python3-pil and numpy are needed)');
  }
  return { url: `http://127.0.0.1:${port}/predict`, pids: () => processTree(child.pid!), stop };
}

// The same model with no transform, answering a ready NCHW tensor (v2 JSON): what the gateway
// spends on a request without the image's decoding and preprocessing.
async function startRawGateway(): Promise<RunningGateway> {
  return startGateway(`
server: { logLevel: warn }
frontends: { kserve: {} }
backends: { local: { type: onnx, modelRepository: ${JSON.stringify(`${example}models`)} } }
models: { classifier: { targets: [ { backend: local } ] } }
`);
}

function rawTensorBody(rgb: number[]): string {
  const mean = [0.485, 0.456, 0.406], std = [0.229, 0.224, 0.225];
  const data = Array.from({ length: 3 * 32 * 32 }, (_, i) => {
    const c = Math.floor(i / 1024);
    return Number(((rgb[c]! / 255 - mean[c]!) / std[c]!).toFixed(4));
  });
  return JSON.stringify({ inputs: [{ name: 'image', datatype: 'FP32', shape: [1, 3, 32, 32], data }] });
}

/** runTransformBench measures both ways at each image size and returns the figures. */
export async function runTransformBench(seconds = Number(process.env.BENCH_SECONDS ?? 6)): Promise<Record<string, unknown>> {
  const shots = await Promise.all(sizes.map(images));
  const name = (k: number): string => `${sizes[k]!.width}x${sizes[k]!.height}`;
  const result: Record<string, unknown> = {
    images: sizes.map((s, k) => `${name(k)} JPEGs (${shots[k]!.map((x) => `${x.label} ${x.bytes} B`).join(', ')})`).join('; ') + '; Vertex b64 instances, 1 per request',
    connections, secondsPerRun: seconds,
  };
  const infergate: Run[] = [];
  const gw = await startGatewayFromFile(`${example}config.yaml`);
  try {
    const url = `${gw.url}/predict`;
    for (const k of sizes.keys()) await checkLabels(url, shots[k]!);
    for (const k of sizes.keys()) {
      const before = stepTotals(await scrape(gw)); // a scrape also resets the loop-delay histogram
      infergate.push(await measure(url, shots[k]!.map((x) => x.body), seconds, () => processTree(gw.process.pid!)));
      const metrics = await scrape(gw);
      const steps = msPerCall(before, stepTotals(metrics));
      result[`infergate${name(k)}`] = {
        ...infergate[k], loopDelayP99Ms: loopDelayP99Ms(metrics) ?? 'not exported',
        transformMsPerCall: Object.keys(steps).length > 0 ? steps : 'no infergate_transform* histogram in /metrics',
      };
    }
  } finally {
    await gw.stop();
  }

  const raw = await startRawGateway();
  try {
    const url = `${raw.url}/v2/models/classifier/infer`;
    const rawRun = await measure(url, colours.map(([, rgb]) => rawTensorBody(rgb)), Math.max(3, Math.round(seconds / 2)), () => processTree(raw.process.pid!));
    result.rawTensorNoTransform = rawRun;
    result.transformCpuMsPerRequest = Object.fromEntries(sizes.map((_, k) => [name(k), round(infergate[k]!.cpuMsPerRequest - rawRun.cpuMsPerRequest)]));
  } finally {
    await raw.stop();
  }

  const py = await pythonWithOnnxruntime();
  let modelGateway: RunningGateway | undefined;
  let flaskEnv: Record<string, string> = {};
  if (py.python === undefined) {
    modelGateway = await startRawGateway();
    flaskEnv = { MODEL_URL: `${modelGateway.url}/v2/models/classifier/infer` };
    result.flaskModel = `infergate's ONNX backend over v2 JSON (Python onnxruntime could not be installed: ${py.why}); that gateway's CPU is counted on Flask's side`;
  } else {
    result.flaskModel = `Python onnxruntime in each gunicorn worker (${py.python})`;
  }
  try {
    const flask = await startFlask(py.python ?? '/usr/bin/python3', flaskEnv);
    try {
      for (const k of sizes.keys()) await checkLabels(flask.url, shots[k]!);
      const extra = modelGateway === undefined ? [] : [modelGateway.process.pid!];
      const ratios: Record<string, unknown> = {};
      for (const k of sizes.keys()) {
        const flaskRun = await measure(flask.url, shots[k]!.map((x) => x.body), seconds, () => [...flask.pids(), ...extra]);
        result[`flaskGunicorn${name(k)}`] = flaskRun;
        ratios[name(k)] = {
          reqPerCpuSecond: round(infergate[k]!.reqPerCpuSecond / Math.max(flaskRun.reqPerCpuSecond, 1e-9)),
          reqPerSecond: round(infergate[k]!.rps / Math.max(flaskRun.rps, 1e-9)),
        };
      }
      result.infergateOverFlask = ratios;
    } finally {
      await flask.stop();
    }
  } finally {
    await modelGateway?.stop();
  }
  result.targets = { reqPerCpuSecondRatio: '≥ 3', loopDelayP99Ms: '≤ 5' };
  return result;
}

function round(v: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(JSON.stringify(await runTransformBench(), null, 2));
}
