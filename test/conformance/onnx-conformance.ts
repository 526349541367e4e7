// onnx-conformance.ts — runs the ONNX backend test data (Debian libonnx-testdata, node/ models)
// through the gateway's POST /v2/models/{m}/infer and compares every output with what
// onnxruntime-node gives in-process for the same inputs: exact for integers, booleans and
// strings, 1e-6 relative for floats. Prints loaded / matched / skipped with reason.
//   node test/conformance/onnx-conformance.ts --all          every model (npm run conformance)
//   node test/conformance/onnx-conformance.ts test_add ...   named models
//   --via backend   skip HTTP and call the onnx backend in-process (no frontend needed)

import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import pino from 'pino';
import { onnx } from '../../src/backends/onnx/onnx.ts';
import { fromOrtTensor, toOrtTensor } from '../../src/backends/onnx/ort-tensor.ts';
import { parseJson, stringifyJson } from '../../src/codecs/json.ts';
import { toJsonValues } from '../../src/tensors/datatype.ts';
import type { Tensor } from '../../src/tensors/tensor.ts';
import type { CallContext } from '../../src/types.ts';
import { startGateway } from '../support/gateway.ts';
import { readGraphIo, readTensorProto } from './tensor-proto.ts';

/** dataRoot is where libonnx-testdata installs the node/ models. */
export const dataRoot = '/usr/share/libonnx-testdata/data/node';

/** Case is one model with its first data set, ready to compare. */
interface Case { name: string; inputs: Tensor[]; expected: Tensor[] }

/** ConformanceReport counts what happened to every model. */
export interface ConformanceReport {
  total: number;
  loaded: number;
  matched: number;
  mismatched: Array<{ model: string; reason: string }>;
  skipped: Array<{ model: string; reason: string }>;
}

// Flat JSON values of a tensor (NaN and ±Infinity become null in JSON, so compare as such).
const jsonOf = (t: Tensor): unknown[] => toJsonValues(t.datatype, t.data);
const notFinite = (t: Tensor): boolean => (t.datatype.startsWith('FP') ? jsonOf(t).some((v) => typeof v === 'number' && !Number.isFinite(v)) : false);

(globalThis as { Float16Array?: unknown }).Float16Array = undefined; // see worker.ts: keep FP16 as raw bits

// prepare runs one model in-process; undefined with a reason when it cannot be compared.
async function prepare(name: string): Promise<Case | string> {
  const dir = join(dataRoot, name);
  // Random operators draw from a generator that the gateway's warm-up run already advanced.
  // (Models named *_random are deterministic operators on random test data: they are compared.)
  if (/bernoulli/i.test(name)) return 'random output: the warm-up run advances the generator';
  const io = readGraphIo(join(dir, 'model.onnx'));
  if (io.unsupported !== undefined) return `input or output ${io.unsupported}`;
  const set = join(dir, 'test_data_set_0');
  if (!existsSync(set)) return 'no test_data_set_0';
  let inputs: Tensor[];
  try {
    inputs = io.inputs.map((n, i) => readTensorProto(join(set, `input_${i}.pb`), n));
  } catch (err) {
    return `inputs cannot be read: ${(err as Error).message}`;
  }
  if (inputs.some(notFinite)) return 'an input holds NaN or Infinity, which v2 JSON cannot carry';
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(join(dir, 'model.onnx'), { logSeverityLevel: 4 });
  } catch (err) {
    return `does not load in-process: ${firstLine(err)}`;
  }
  try {
    const feeds = Object.fromEntries(inputs.map((t) => [t.name, toOrtTensor(ort.Tensor, t)]));
    const result = await session.run(feeds);
    return { name, inputs, expected: io.outputs.map((n) => fromOrtTensor(n, result[n] as ort.Tensor)) };
  } catch (err) {
    return `does not run in-process: ${firstLine(err)}`;
  } finally {
    await session.release();
  }
}

/** compare says why two outputs differ, or undefined when they match. */
export function compare(want: Tensor, got: { name?: unknown; datatype?: unknown; shape?: unknown; data?: unknown }): string | undefined {
  if (got.datatype !== want.datatype) return `${want.name}: datatype ${String(got.datatype)}, want ${want.datatype}`;
  if (JSON.stringify(got.shape) !== JSON.stringify(want.shape)) return `${want.name}: shape ${JSON.stringify(got.shape)}, want ${JSON.stringify(want.shape)}`;
  const a = jsonOf(want);
  const b = (Array.isArray(got.data) ? got.data.flat(Infinity) : []) as unknown[];
  if (a.length !== b.length) return `${want.name}: ${b.length} values, want ${a.length}`;
  const float = want.datatype.startsWith('FP');
  for (let i = 0; i < a.length; i++) {
    const x = a[i], y = b[i];
    if (float && typeof x === 'number') {
      if (!Number.isFinite(x) ? y === null || Object.is(x, y) : typeof y === 'number' && (x === y || Math.abs(x - y) <= 1e-6 * Math.abs(x))) continue;
    } else if (typeof x === 'bigint' || typeof y === 'bigint' ? String(x) === String(y) : JSON.stringify(x) === JSON.stringify(y)) continue;
    return `${want.name}[${i}]: ${String(y)}, want ${String(x)}`;
  }
  return undefined;
}

type Send = (c: Case) => Promise<Array<Record<string, unknown>>>;

// viaGateway starts the real gateway over a repository of links to the cases' models.
async function viaGateway(repo: string, cases: Case[]): Promise<{ send: Send; stop(): Promise<unknown> }> {
  const models = Object.fromEntries(cases.map((c) => [c.name, { targets: [{ backend: 'local' }] }]));
  const yaml = stringifyJson({ frontends: { kserve: {} }, backends: { local: { type: 'onnx', modelRepository: repo } }, models });
  const gw = await startGateway(yaml, { timeoutMs: 120_000 });
  const send: Send = async (c) => {
    const body = stringifyJson({ inputs: c.inputs.map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape, data: jsonOf(t) })) });
    const res = await fetch(`${gw.url}/v2/models/${c.name}/infer`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
    const doc = parseJson(Buffer.from(await res.arrayBuffer()), { what: 'gateway answer', maxDepth: 256 }) as { outputs?: Array<Record<string, unknown>>; error?: string };
    if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${doc.error ?? ''}`);
    return doc.outputs ?? [];
  };
  return { send, stop: () => gw.stop() };
}

// viaBackend calls the onnx backend in this process (JSON round trip kept out).
async function viaBackend(repo: string): Promise<{ send: Send; stop(): Promise<unknown> }> {
  const backend = onnx.create('local', onnx.schema.parse({ type: 'onnx', modelRepository: repo }), { log: pino({ level: 'silent' }) });
  await backend.start();
  const ctx = { signal: new AbortController().signal } as CallContext;
  const send: Send = async (c) => {
    const res = await backend.model(c.name).infer({ inputs: c.inputs }, ctx);
    return (res.outputs ?? []).map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape, data: jsonOf(t) }));
  };
  return { send, stop: () => backend.close() };
}

/** runConformance compares the named models (all of node/ when omitted), chunk models per gateway start. */
export async function runConformance(names?: string[], options: { via?: 'gateway' | 'backend'; chunk?: number; log?: (s: string) => void } = {}): Promise<ConformanceReport> {
  const all = names ?? readdirSync(dataRoot).filter((n) => existsSync(join(dataRoot, n, 'model.onnx'))).sort();
  const report: ConformanceReport = { total: all.length, loaded: 0, matched: 0, mismatched: [], skipped: [] };
  const cases: Case[] = [];
  for (const name of all) {
    const c = await prepare(name);
    if (typeof c === 'string') report.skipped.push({ model: name, reason: c });
    else cases.push(c);
  }
  report.loaded = cases.length;
  const chunk = options.chunk ?? 40;
  for (let start = 0; start < cases.length; start += chunk) {
    const part = cases.slice(start, start + chunk);
    const repo = mkdtempSync(join(tmpdir(), 'onnx-conformance-'));
    for (const c of part) {
      mkdirSync(join(repo, c.name, '1'), { recursive: true });
      symlinkSync(join(dataRoot, c.name, 'model.onnx'), join(repo, c.name, '1', 'model.onnx'));
    }
    const server = options.via === 'backend' ? await viaBackend(repo) : await viaGateway(repo, part);
    try {
      for (const c of part) {
        try {
          const outputs = await server.send(c);
          const why = c.expected.map((w) => compare(w, outputs.find((o) => o.name === w.name) ?? {})).find((r) => r !== undefined);
          if (why === undefined) report.matched++;
          else report.mismatched.push({ model: c.name, reason: why });
        } catch (err) {
          report.mismatched.push({ model: c.name, reason: (err as Error).message });
        }
      }
    } finally {
      await server.stop();
      rmSync(repo, { recursive: true, force: true });
    }
    options.log?.(`${Math.min(start + chunk, cases.length)}/${cases.length} compared`);
  }
  return report;
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).replace(/\x1b\[[0-9;]*m/g, '').split('\n')[0]!.slice(0, 200);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const via = args.includes('--via') ? args[args.indexOf('--via') + 1] as 'gateway' | 'backend' : 'gateway';
  const named = args.filter((a, i) => !a.startsWith('--') && args[i - 1] !== '--via');
  const report = await runConformance(args.includes('--all') || named.length === 0 ? undefined : named, { via, log: (s) => console.error(s) });
  const reasons = new Map<string, number>();
  for (const s of report.skipped) {
    const key = s.reason.replace(/"[^"]*"/g, '"…"').replace(/:.*$/, '');
    reasons.set(key, (reasons.get(key) ?? 0) + 1);
  }
  console.log(`models: ${report.total}  loaded in-process: ${report.loaded}  matched via ${via}: ${report.matched}  mismatched: ${report.mismatched.length}  skipped: ${report.skipped.length}`);
  for (const [reason, n] of [...reasons].sort((a, b) => b[1] - a[1])) console.log(`  skipped ${n}: ${reason}`);
  for (const m of report.mismatched) console.log(`  MISMATCH ${m.model}: ${m.reason}`);
  if (args.includes('--verbose')) for (const s of report.skipped) console.log(`  skip ${s.model}: ${s.reason}`);
  process.exitCode = report.mismatched.length === 0 ? 0 : 1;
}
