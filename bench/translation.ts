// translation.ts — issue 4's benchmark: a Vertex request (1 × 3 × 224 × 224 FP32, and 64 small
// rows) translated for a KServe v2 backend, v2 JSON vs the binary tensor extension.
//  1. In process, one thread: MB of Vertex request translated per CPU-second (the row scanner,
//     block → tensors, encode for the backend) and the answer's way back, beside JSON.parse alone
//     and the parse-first path the scanner replaced (`parsedPath`).
//  2. Over HTTP against the same stub v2 server: the gateway (Vertex frontend → triton backend,
//     one Node process) vs a Flask/gunicorn shim doing the same translation with numpy
//     (bench/flask-shim.py, 2 workers): req/s, and req per CPU-second of the translating
//     processes, which compares them "at the same CPU" on a machine whose cores are shared.
//     For the JSON cases also the floor for any Node gateway: the bare 20-line proxy
//     (support/bare-proxy.ts, JSON.parse and JSON.stringify both ways) relaying the very v2 JSON
//     body the gateway sends to the same stub, so it does no translation at all.
// Runnable alone: node bench/translation.ts   (BENCH_SECONDS sets the HTTP run length)

import { cpuTicks } from './support/cpu.ts';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import { blockToTensors, rowsToTensors, tensorsToPredictions } from '../src/codecs/instances.ts';
import { parseJson, stringifyJson } from '../src/codecs/json.ts';
import { scanRowsBody } from '../src/codecs/row-scanner.ts';
import { binaryRequestBody, decodeBinaryResponse, encodeBinaryRequest, encodeBinaryResponse } from '../src/codecs/v2-binary.ts';
import { inferRequestBytes } from '../src/codecs/v2-json-bytes.ts';
import { decodeInferResponse, stringifyInferRequest, stringifyInferResponse } from '../src/codecs/v2-json.ts';
import type { InferResponse, TensorSpec } from '../src/tensors/tensor.ts';
import { startGateway } from '../test/support/gateway.ts';
import { freePort } from '../test/support/ports.ts';
import { startNodeServer } from './support/processes.ts';
import { rowsBenchConfig } from './support/proxy-config.ts';

const image: TensorSpec = { name: 'x', datatype: 'FP32', shape: [-1, 3, 224, 224] };
const small: TensorSpec = { name: 'x', datatype: 'FP32', shape: [-1, 16] };
const answer1000: InferResponse = { modelName: 'm', outputs: [{ name: 'y', datatype: 'FP32', shape: [1, 1000], data: new Float32Array(1000).map((_, i) => i / 1000) }] };

// Pixel values as a normalising client sends them: 3 decimals.
/** vertexBody gives a Vertex body of `rows` instances of random 3-decimal numbers, each of rowShape. */
export function vertexBody(rows: number, rowShape: number[]): Buffer {
  let seed = 1;
  const rand = (): number => { seed = (seed * 16807) % 2147483647; return Math.round((seed / 2147483647) * 1000) / 1000; };
  const make = (dims: number[]): unknown => (dims.length === 0 ? rand() : Array.from({ length: dims[0]! }, () => make(dims.slice(1))));
  return Buffer.from(JSON.stringify({ instances: Array.from({ length: rows }, () => make(rowShape)) }));
}

// rate runs f for about ms milliseconds of this process's CPU time (after a warm-up) and gives
// calls per CPU-second: on a machine whose cores are shared, wall time would count the time
// other processes held the core.
function rate(f: () => unknown, ms = 1500): number {
  for (let i = 0; i < 3; i++) f();
  let n = 0;
  const start = process.cpuUsage();
  const spent = (): number => { const d = process.cpuUsage(start); return (d.user + d.system) / 1000; };
  while (spent() < ms) { f(); n++; }
  return n / (spent() / 1000);
}

// translateOnce is the gateway's path for a Vertex rows body to a Triton model: the rows scanned
// into a typed block (codecs/row-scanner.ts), typed for the input, encoded as the backend sends it
// (a large binary body as its parts, as backends/triton-http.ts hands it to undici).
function translateOnce(body: Buffer, spec: TensorSpec, binary: boolean): number {
  const req = { inputs: blockToTensors(scanRowsBody(body)!.block, [spec])! };
  if (binary) return bodyLength(binaryRequestBody(req, { binaryOutputs: true }).body);
  return inferRequestBytes(req).length;
}

// A large binary body is sent as its parts (the header, the tensor's own bytes), uncopied.
function bodyLength(body: Buffer | Uint8Array[]): number {
  return Array.isArray(body) ? body.reduce((n, p) => n + p.byteLength, 0) : body.length;
}

// translateParsed is the path before the row scanner (JSON.parse, rows → tensors, a JSON string),
// kept as a column so one run shows both.
function translateParsed(body: Buffer, spec: TensorSpec, binary: boolean): number {
  const doc = parseJson(body) as { instances: unknown[] };
  const req = { inputs: rowsToTensors(doc.instances, [spec]) };
  if (binary) return encodeBinaryRequest(req, { binaryOutputs: true }).body.length;
  return stringifyInferRequest(req).length;
}

/** measureCodecs gives MB/s per core of request translation, and answers/s of the way back. */
export function measureCodecs(): Record<string, unknown> {
  const cases = { image: { body: vertexBody(1, [3, 224, 224]), spec: image }, rows64: { body: vertexBody(64, [16]), spec: small } };
  const out: Record<string, unknown> = {};
  for (const [name, { body, spec }] of Object.entries(cases)) {
    const mb = body.length / 1e6;
    // Five interleaved rounds, median of each: one round of one path swings ±25% on this VM.
    const rounds: number[][] = [];
    for (let r = 0; r < 5; r++) {
      rounds.push([rate(() => JSON.parse(body.toString()), 600), rate(() => translateOnce(body, spec, false), 600), rate(() => translateOnce(body, spec, true), 600),
        rate(() => translateParsed(body, spec, false), 600), rate(() => translateParsed(body, spec, true), 600)]);
    }
    const median = (k: number): number => rounds.map((x) => x[k]!).sort((a, b) => a - b)[2]!;
    const [parse, json, binary, parsedJson, parsedBinary] = [median(0), median(1), median(2), median(3), median(4)];
    out[name] = {
      requestBytes: body.length,
      jsonParseOnlyMBps: round(parse * mb), jsonMBps: round(json * mb), binaryMBps: round(binary * mb),
      binaryOverJson: round(binary / json), jsonOverParseOnly: round(json / parse),
      parsedPath: { jsonMBps: round(parsedJson * mb), binaryMBps: round(parsedBinary * mb) },
    };
  }
  const jsonAnswer = Buffer.from(stringifyInferResponse(answer1000));
  const binAnswer = encodeBinaryResponse(answer1000, { binaryOutputs: true });
  const back = (res: InferResponse): number => stringifyJson({ predictions: tensorsToPredictions(res.outputs!) }).length;
  out.answer1000 = {
    jsonPerSecond: Math.round(rate(() => back(decodeInferResponse(parseJson(jsonAnswer), 'b')))),
    binaryPerSecond: Math.round(rate(() => back(decodeBinaryResponse(binAnswer.body, binAnswer.headerLength, 'b')))),
  };
  return out;
}

/** runTranslationBench runs both parts and returns their figures. */
export async function runTranslationBench(seconds = Number(process.env.BENCH_SECONDS ?? 8)): Promise<Record<string, unknown>> {
  const result: Record<string, unknown> = { codecs: measureCodecs() };
  const stub = await startChild(['--stub-v2']);
  const cases = { image: { model: 'image', body: vertexBody(1, [3, 224, 224]).toString() }, rows64: { model: 'rows', body: vertexBody(64, [16]).toString() } };
  const http: Record<string, unknown> = {};
  try {
    for (const [name, { model, body }] of Object.entries(cases)) {
      for (const binary of [false, true]) {
        const gw = await startGateway(rowsBenchConfig(stub.port, model, binary));
        let nodeRun: HttpRun;
        try {
          nodeRun = await measureHttp(`${gw.url}/predict`, body, seconds, [gw.process.pid!]);
        } finally {
          await gw.stop();
        }
        const flask = await startFlaskShim(`http://127.0.0.1:${stub.port}/v2/models/${model}/infer`, binary);
        let flaskRun: HttpRun;
        try {
          flaskRun = await measureHttp(`http://127.0.0.1:${flask.port}/predict`, body, seconds, flask.pids());
        } finally {
          await flask.stop();
        }
        const row: Record<string, unknown> = {
          requestBytes: body.length, infergate: nodeRun, flaskShim: flaskRun,
          reqPerSecondRatio: round(nodeRun.rps / Math.max(flaskRun.rps, 1e-9)),
          reqPerCpuSecondRatio: round(nodeRun.reqPerCpuSecond / Math.max(flaskRun.reqPerCpuSecond, 1e-9)),
          gatewayMBps: round((nodeRun.rps * body.length) / 1e6),
        };
        if (!binary) {
          const v2Body = inferRequestBytes({ inputs: blockToTensors(scanRowsBody(Buffer.from(body))!.block, [model === 'image' ? image : small])! });
          const bare = await startNodeServer(new URL('./support/bare-proxy.ts', import.meta.url).href, [String(stub.port), 'json']);
          let bareRun: HttpRun;
          try {
            bareRun = await measureHttp(`http://127.0.0.1:${bare.port}/v2/models/${model}/infer`, v2Body, seconds, [bare.pid], 4, '{"model_name":');
          } finally {
            await bare.stop();
          }
          Object.assign(row, {
            bareNodeProxy: bareRun,
            overBareProxyPerCpuSecond: round(nodeRun.reqPerCpuSecond / Math.max(bareRun.reqPerCpuSecond, 1e-9)),
            bareProxyOverFlaskPerCpuSecond: round(bareRun.reqPerCpuSecond / Math.max(flaskRun.reqPerCpuSecond, 1e-9)),
          });
        }
        http[`${name}-${binary ? 'binary' : 'json'}`] = row;
      }
    }
  } finally {
    await stub.stop();
  }
  result.http = http;
  return result;
}

interface HttpRun { rps: number; p50: number; p99: number; failed: number; cpuSeconds: number; reqPerCpuSecond: number }

// measureHttp runs a closed loop of `connections` clients for `seconds`, counting only 200
// answers that begin as expected (predictions, or a v2 answer for the bare proxy), and the CPU
// the translating processes used meanwhile.
async function measureHttp(url: string, body: string | Uint8Array, seconds: number, pids: number[], connections = 4, expect = '{"predictions":'): Promise<HttpRun> {
  const pool = new Pool(new URL(url).origin, { connections, pipelining: 1 });
  const path = new URL(url).pathname;
  const latencies: number[] = [];
  let failed = 0;
  const loop = async (until: number, record: boolean): Promise<void> => {
    while (performance.now() < until) {
      const started = performance.now();
      try {
        const res = await pool.request({ path, method: 'POST', body, headers: { 'content-type': 'application/json' } });
        const text = await res.body.text();
        const ok = res.statusCode === 200 && text.startsWith(expect);
        if (record) { if (ok) latencies.push(performance.now() - started); else failed++; }
      } catch {
        if (record) failed++;
      }
    }
  };
  await Promise.all(Array.from({ length: connections }, () => loop(performance.now() + 1000, false))); // warm-up
  const before = cpuTicks(pids);
  const start = performance.now();
  await Promise.all(Array.from({ length: connections }, () => loop(start + seconds * 1000, true)));
  const elapsed = (performance.now() - start) / 1000;
  const cpuSeconds = (cpuTicks(pids) - before) / 100;
  await pool.close();
  latencies.sort((a, b) => a - b);
  const pct = (q: number): number => round(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN);
  return {
    rps: round(latencies.length / elapsed), p50: pct(0.5), p99: pct(0.99), failed,
    cpuSeconds: round(cpuSeconds), reqPerCpuSecond: round(latencies.length / Math.max(cpuSeconds, 1e-9)),
  };
}

interface Child { port: number; pid: number; stop(): Promise<void> }

// startChild runs this file in a child mode; the child prints {"port": N} when it listens.
function startChild(args: string[]): Promise<Child> {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const stop = (): Promise<void> => new Promise((r) => {
    if (child.exitCode !== null) return r();
    child.once('exit', () => r());
    child.kill('SIGTERM');
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve({ port: (JSON.parse(out.split('\n')[0]!) as { port: number }).port, pid: child.pid!, stop });
    });
    child.once('exit', (code) => reject(new Error(`bench child ${args[0]} exited with ${code}`)));
  });
}

async function startFlaskShim(v2Url: string, binary: boolean): Promise<{ port: number; pids(): number[]; stop(): Promise<void> }> {
  const port = await freePort();
  const child: ChildProcess = spawn('gunicorn', ['-w', '2', '-b', `127.0.0.1:${port}`, '--chdir', fileURLToPath(new URL('.', import.meta.url)), 'flask-shim:app'], {
    env: { ...process.env, V2_URL: v2Url, BINARY: binary ? '1' : '0' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  let up = false;
  for (let i = 0; i < 100 && !up && child.exitCode === null; i++) {
    up = await fetch(`http://127.0.0.1:${port}/health`).then((r) => r.ok, () => false);
    if (!up) await new Promise((r) => setTimeout(r, 100));
  }
  if (!up) {
    child.kill('SIGTERM');
    throw new Error('the Flask shim did not start (gunicorn, python3-flask and numpy are needed)');
  }
  const pids = (): number[] => {
    const kids = readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    return [child.pid!, ...kids];
  };
  const stop = (): Promise<void> => new Promise((r) => { child.once('exit', () => r()); child.kill('SIGTERM'); });
  return { port, pids, stop };
}

function round(v: number): number { return Math.round(v * 100) / 100; }

// --- child modes: the stub v2 server and the translator, each its own process -------------

// serveStubV2 answers like Triton for two models, without computing: image (x [-1,3,224,224]
// → y [-1,1000]) and rows (x [-1,16] → y [-1,8]); the batch size is read from the request header.
// Its JSON answers print FP32 as Triton does (below); the gateway's own v2 writer prints shorter.
async function serveStubV2(): Promise<void> {
  const specs: Record<string, { input: number[]; output: number }> = { image: { input: [3, 224, 224], output: 1000 }, rows: { input: [16], output: 8 } };
  const answers = new Map<string, { json: string; bin: { body: Buffer; headerLength: number } }>();
  const answerFor = (model: string, rows: number): { json: string; bin: { body: Buffer; headerLength: number } } => {
    const key = `${model}/${rows}`;
    let a = answers.get(key);
    if (a === undefined) {
      const width = specs[model]!.output;
      const res: InferResponse = { modelName: model, outputs: [{ name: 'y', datatype: 'FP32', shape: [rows, width], data: new Float32Array(rows * width).map((_, i) => (i % 997) / 997) }] };
      // Triton writes an FP32 output in JSON widened to double (http_server.cc WriteDataToJson:
      // AppendDouble of each float), so 0.123f reads 0.12300000339746475: so does this stub.
      const json = JSON.stringify({ model_name: model, outputs: res.outputs!.map((o) => ({ name: o.name, datatype: o.datatype, shape: o.shape, data: Array.from(o.data as Float32Array) })) });
      a = { json, bin: encodeBinaryResponse(res, { binaryOutputs: true }) };
      answers.set(key, a);
    }
    return a;
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    let head = '';
    req.on('data', (c: Buffer) => { if (head.length < 512) head += c.toString('latin1', 0, 512); chunks.push(c); });
    req.on('end', () => {
      const m = /^\/v2\/models\/(image|rows)(\/config|\/ready)?$/.exec(req.url ?? '');
      if (req.method === 'GET') {
        if (m === null) return res.end();
        const spec = specs[m[1]!]!;
        if (m[2] === '/config') return res.end('{"max_batch_size": 64}');
        if (m[2] === '/ready') return res.end();
        return res.end(JSON.stringify({ name: m[1], platform: 'stub', inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, ...spec.input] }], outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, spec.output] }] }));
      }
      const model = /\/v2\/models\/(image|rows)\/infer/.exec(req.url ?? '')?.[1] ?? 'image';
      const rows = Number(/"shape":\s*\[\s*(\d+)/.exec(head)?.[1] ?? 1);
      const a = answerFor(model, rows);
      if (req.headers['inference-header-content-length'] !== undefined) {
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(a.bin.headerLength) });
        return res.end(a.bin.body);
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(a.json);
    });
  });
  server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ port: (server.address() as AddressInfo).port })));
}

if (process.argv.includes('--stub-v2')) await serveStubV2();
else if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify(await runTranslationBench(), null, 2));
}
