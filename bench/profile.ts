// profile.ts — where the gateway's time goes on one path: the gateway runs under `node --cpu-prof`
// with the proxy bench's config (Vertex front, echo backend), wrk loads one route, and the
// profile's self time is summed per function and per file, busiest first.
// Also prints CPU µs per request of the gateway over the loaded run (the profiler adds its own).
// Runnable alone: node bench/profile.ts [predict|raw|rows64]   (BENCH_SECONDS=5, PROFILE_TOP=30)
// rows64 is the translation bench's 64-row path instead: 64 instances of 16 numbers to the v2
// stub of bench/translation.ts through a `triton` backend (PROFILE_BINARY=1 for its binary
// tensors), 4 connections.

import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGateway } from '../test/support/gateway.ts';
import { cpuTicks } from './support/cpu.ts';
import { startNodeServer } from './support/processes.ts';
import { startBenchPath } from './support/proxy-config.ts';
import { wrkLoad } from './support/wrk.ts';

interface ProfileNode { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }
interface Profile { nodes: ProfileNode[]; startTime: number; samples: number[]; timeDeltas: number[] }

const rows64 = process.argv[2] === 'rows64';
const route = process.argv[2] === 'raw' ? '/raw/predict' : '/predict';
// PROFILE_BARE=1 profiles the bare Node proxy (support/bare-proxy.ts) on the same load instead: the floor's own profile.
const bare = process.env.PROFILE_BARE === '1';
// PROFILE_ALLOC=1: bytes allocated per function over the run (V8's sampling heap profiler, with
// the objects garbage collected since counted too), instead of CPU time. PROFILE_ALLOC=live: only
// the sampled objects still alive when sampling stops — what outlives its request.
// PROFILE_ALLOC=promoted: those not collected by a scavenge, alive or not — what each scavenge
// has to copy, and what fills the old space.
const allocMode = process.env.PROFILE_ALLOC;
const alloc = allocMode === '1' || allocMode === 'live' || allocMode === 'promoted';
const minorToo = allocMode === '1';
const majorToo = allocMode !== 'live';
const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const top = Number(process.env.PROFILE_TOP ?? 30);
const dir = mkdtempSync(join(tmpdir(), 'infergate-prof-'));
if (bare && rows64) throw new Error('PROFILE_BARE=1 profiles the proxy bench\'s path only');
const { backend, config, body, connections } = await startBenchPath(rows64, process.env.PROFILE_BINARY === '1');
const probeFile = join(dir, 'alloc-probe.mjs');
// In the profiled process: the first SIGUSR2 starts sampling, the second writes the profile.
writeFileSync(probeFile, `
import { Session } from 'node:inspector/promises';
import { writeFileSync } from 'node:fs';
const session = new Session();
session.connect();
let on = false;
process.on('SIGUSR2', async () => {
  if (!on) {
    on = true;
    await session.post('HeapProfiler.startSampling', { samplingInterval: 1024, includeObjectsCollectedByMajorGC: ${majorToo}, includeObjectsCollectedByMinorGC: ${minorToo} });
    process.stderr.write('{"message":"alloc-sampling"}\\n');
    return;
  }
  const { profile } = await session.post('HeapProfiler.stopSampling');
  writeFileSync(${JSON.stringify(join(dir, 'alloc.heapprofile'))}, JSON.stringify(profile));
  process.stderr.write('{"message":"alloc-written"}\\n');
});
`);
const profiled = alloc ? `--import=${probeFile}` : `--cpu-prof --cpu-prof-dir=${dir}`;
if (bare) process.env.NODE_OPTIONS = profiled;
const bareProxy = bare ? await startNodeServer(new URL('./support/bare-proxy.ts', import.meta.url).href, [String(backend.port), route === '/predict' ? 'json' : 'raw']) : undefined;
delete process.env.NODE_OPTIONS;
const gw = await startGateway(config, bare ? {} : { env: { NODE_OPTIONS: profiled } });
const url = bareProxy === undefined ? `${gw.url}${route}` : `http://127.0.0.1:${bareProxy.port}/predict`;
const pid = bareProxy?.pid ?? gw.process.pid!;
// The profile's clock is the monotonic one process.hrtime reads: only samples taken during the
// measured run count (not start-up, not the warm-up).
let requests = 1;
const measuredSpan = { from: 0, to: Infinity };
const monotonicUs = (): number => Number(process.hrtime.bigint() / 1000n);
try {
  await wrkLoad(url, { body, durationS: 1, connections });
  measuredSpan.from = monotonicUs();
  if (alloc) process.kill(pid, 'SIGUSR2');
  if (alloc) await new Promise((r) => setTimeout(r, 300));
  const before = cpuTicks([pid]);
  const r = await wrkLoad(url, { body, durationS: seconds, connections });
  measuredSpan.to = monotonicUs();
  if (alloc) {
    process.kill(pid, 'SIGUSR2');
    for (let i = 0; i < 100 && !existsSync(join(dir, 'alloc.heapprofile')); i++) await new Promise((r) => setTimeout(r, 100));
  }
  const us = ((cpuTicks([pid]) - before) * 10_000) / Math.max(1, r.rps * seconds);
  requests = r.rps * seconds;
  console.log(`${bare ? 'bare proxy ' : ''}${route}: ${r.rps} req/s, ${Math.round(us)} µs CPU per request (profiler on), non2xx ${r.non2xx}`);
} finally {
  await gw.stop();
  await bareProxy?.stop();
  await backend.stop();
}
if (alloc) {
  interface HeapNode { callFrame: ProfileNode['callFrame']; selfSize: number; children: HeapNode[] }
  const heap = JSON.parse(readFileSync(join(dir, 'alloc.heapprofile'), 'utf8')) as { head: HeapNode };
  rmSync(dir, { recursive: true, force: true });
  const bytes = new Map<string, number>();
  const owned = new Map<string, number>();
  let total = 0;
  const walk = (n: HeapNode, gateway: string | undefined): void => {
    const f = n.callFrame;
    const key = `${f.functionName || '(anonymous)'} ${f.url.replace(/^file:\/\/.*?\/(src|node_modules)\//, '$1/')}:${f.lineNumber + 1}`;
    const own = f.url.includes('/src/') ? key : gateway;
    total += n.selfSize;
    bytes.set(key, (bytes.get(key) ?? 0) + n.selfSize);
    owned.set(own ?? '(no gateway frame)', (owned.get(own ?? '(no gateway frame)') ?? 0) + n.selfSize);
    for (const c of n.children) walk(c, own);
  };
  walk(heap.head, undefined);
  const showBytes = (title: string, m: Map<string, number>): void => {
    console.log(`\n${title} (${Math.round(total / 2 ** 20)} MiB sampled)`);
    for (const [k, b] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${((100 * b) / total).toFixed(1).padStart(5)}%  ${k}`);
  };
  showBytes('bytes allocated per function', bytes);
  showBytes('bytes allocated, charged to the nearest gateway frame', owned);
  process.exit(0);
}
const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
if (file === undefined) throw new Error('the gateway wrote no profile');
const profile = JSON.parse(readFileSync(join(dir, file), 'utf8')) as Profile;
rmSync(dir, { recursive: true, force: true });

// Self time per node: each sample's delta belongs to the node sampled.
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const self = new Map<number, number>();
let at = profile.startTime;
profile.samples.forEach((id, i) => {
  at += profile.timeDeltas[i] ?? 0;
  if (at >= measuredSpan.from && at <= measuredSpan.to) self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
});
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const perFunction = new Map<string, number>();
const perFile = new Map<string, number>();
let busy = 0;
for (const [id, t] of self) {
  const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
  if (functionName === '(idle)' || functionName === '(program)') continue;
  busy += t;
  const where = url.replace(/^file:\/\/.*?\/(src|node_modules)\//, '$1/');
  const key = `${functionName || '(anonymous)'} ${where}:${lineNumber + 1}`;
  perFunction.set(key, (perFunction.get(key) ?? 0) + t);
  const fileKey = where.startsWith('node_modules/') ? where.split('/').slice(0, where.includes('/@') ? 3 : 2).join('/') : where || functionName;
  perFile.set(fileKey, (perFile.get(fileKey) ?? 0) + t);
}
const show = (title: string, m: Map<string, number>): void => {
  console.log(`\n${title} (share of busy time, ${Math.round(busy / 1000)} ms busy)`);
  for (const [k, t] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${((100 * t) / busy).toFixed(1).padStart(5)}% ${(t / requests).toFixed(1).padStart(6)} µs/req  ${k}`);
};
show('self time per function', perFunction);
show('self time per file', perFile);
// Each sample charged to the nearest gateway frame (src/) on its stack: what a gateway function
// costs with the Node and library code it calls; and the total (inclusive) time of each.
const owner = new Map<string, number>();
const inclusive = new Map<string, number>();
for (const [id, t] of self) {
  const seen = new Set<string>();
  let charged = false;
  for (let p: number | undefined = id; p !== undefined; p = parent.get(p)) {
    const f = byId.get(p)!.callFrame;
    if (!f.url.includes('/src/')) continue;
    const key = `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*\/src\//, 'src/')}:${f.lineNumber + 1}`;
    if (!charged) { owner.set(key, (owner.get(key) ?? 0) + t); charged = true; }
    if (!seen.has(key)) { seen.add(key); inclusive.set(key, (inclusive.get(key) ?? 0) + t); }
  }
  if (!charged) owner.set('(no gateway frame)', (owner.get('(no gateway frame)') ?? 0) + t);
}
show('self time charged to the nearest gateway frame', owner);
show('total time per gateway function', inclusive);
// PROFILE_CALLERS=writev,GatewayError: the call stacks (4 frames up) that spend those functions' self time.
for (const name of (process.env.PROFILE_CALLERS ?? '').split(',').filter(Boolean)) {
  const stacks = new Map<string, number>();
  for (const [id, t] of self) {
    if (byId.get(id)!.callFrame.functionName !== name) continue;
    const frames: string[] = [];
    for (let p = parent.get(id); p !== undefined && frames.length < Number(process.env.PROFILE_DEPTH ?? 4); p = parent.get(p)) {
      const f = byId.get(p)!.callFrame;
      frames.push(`${f.functionName || '(anonymous)'}@${f.url.split('/').pop()}:${f.lineNumber + 1}`);
    }
    const key = frames.join(' < ');
    stacks.set(key, (stacks.get(key) ?? 0) + t);
  }
  show(`callers of ${name}`, stacks);
}
