// ab.ts — A/B of two gateways on one route, in one run: each a checkout (this one, or another
// commit's tree) with its own NODE_OPTIONS, the proxy bench's config, the same echo backend.
// wrk loads A and B at the same time, AB_ROUNDS times; CPU µs per request of each gateway process
// is the figure (steadier than req/s on a shared machine), with req/s beside it.
// Runnable alone: node bench/ab.ts [predict|raw|rows64]
//   rows64: the translation bench's 64-row path instead (64 instances of 16 numbers to its v2 stub
//   through a `triton` backend, AB_BINARY=1 for binary tensors), 4 connections to each side
//   AB_B_BARE=1: side B is the bare Node proxy (support/bare-proxy.ts; JSON both ways on predict,
//   bytes on raw) on the same echo backend: the gateway against the floor with both loaded at
//   once, so a machine that slows or speeds up between runs falls on both alike
//   AB_B_DIR=/tmp/base (a tree of the other commit, e.g. `git archive HEAD~1 | tar -x -C /tmp/base`
//   with node_modules linked into it), AB_A_NODE_OPTIONS / AB_B_NODE_OPTIONS, AB_ROUNDS=4, BENCH_SECONDS=2
// Each order is run in turn, both sides started afresh (AB_ORDERS=1: A first only): the side
// started and loaded second reads cheaper even with the same tree on both (3% on one machine,
// 13% on another), and the geometric mean of the two orders' ratios cancels that.

import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import { cpuTicks } from './support/cpu.ts';
import { startNodeServer } from './support/processes.ts';
import { wrkLoad } from './support/wrk.ts';
import { startBenchPath } from './support/proxy-config.ts';

type Start = typeof import('../test/support/gateway.ts').startGateway;

const rows64 = process.argv[2] === 'rows64';
const route = process.argv[2] === 'raw' ? '/raw/predict' : '/predict';
const seconds = Number(process.env.BENCH_SECONDS ?? 2);
const rounds = Number(process.env.AB_ROUNDS ?? 4);
const here = fileURLToPath(new URL('..', import.meta.url));
const sides = [
  { name: 'A', dir: process.env.AB_A_DIR ?? here, nodeOptions: process.env.AB_A_NODE_OPTIONS ?? '' },
  { name: 'B', dir: process.env.AB_B_DIR ?? here, nodeOptions: process.env.AB_B_NODE_OPTIONS ?? '' },
];
const bareB = process.env.AB_B_BARE === '1';
if (bareB && rows64) throw new Error('AB_B_BARE=1 measures the proxy bench\'s path only');
if (bareB) sides[1] = { name: 'B', dir: 'bench/support/bare-proxy.ts', nodeOptions: '' };
const orders = process.env.AB_ORDERS === '1' ? 1 : 2;
const { backend, config, body, connections } = await startBenchPath(rows64, process.env.AB_BINARY === '1');
type Side = (typeof sides)[number];
interface Running { url: string; pid: number; stop: () => Promise<unknown> }

async function start(s: Side): Promise<Running> {
  if (s === sides[1] && bareB) {
    const bare = await startNodeServer(new URL('./support/bare-proxy.ts', import.meta.url).href, [String(backend.port), route === '/predict' ? 'json' : 'raw']);
    return { url: `http://127.0.0.1:${bare.port}`, pid: bare.pid, stop: bare.stop };
  }
  const { startGateway } = (await import(`${s.dir}/test/support/gateway.ts`)) as { startGateway: Start };
  const gw = await startGateway(config, { env: { NODE_OPTIONS: s.nodeOptions } });
  return { url: gw.url, pid: gw.process.pid!, stop: () => gw.stop() };
}

// User-mode ticks alone: the gateway's JavaScript and GC, without the kernel's share of its
// socket writes, which on a shared machine varies with how busy the readers are.
const userTicks = (pid: number): number => Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[11]);

interface Measured { us: number; userUs: number; rps: number[] }

// measure starts the two sides in this order (the first started and loaded first), loads both at
// once for every round, and gives each side's CPU µs per request, in the order given.
async function measure(order: Side[]): Promise<Measured[]> {
  const gateways: Running[] = [];
  for (const s of order) gateways.push(await start(s));
  const totals = order.map(() => ({ ticks: 0, user: 0, requests: 0, rps: [] as number[] }));
  try {
    for (const gw of gateways) await wrkLoad(`${gw.url}${route}`, { body, durationS: 1, connections });
    // Both loaded at once, each round: whatever else the machine runs then falls on both alike.
    for (let round = 0; round < rounds; round++) {
      const before = gateways.map((gw) => ({ all: cpuTicks([gw.pid]), user: userTicks(gw.pid) }));
      const results = await Promise.all(gateways.map((gw) => wrkLoad(`${gw.url}${route}`, { body, durationS: seconds, connections })));
      results.forEach((r, i) => {
        const pid = gateways[i]!.pid;
        if (r.non2xx > 0 || r.errors > 0) throw new Error(`${order[i]!.name}: ${r.non2xx} non-2xx, ${r.errors} socket errors`);
        totals[i]!.ticks += cpuTicks([pid]) - before[i]!.all;
        totals[i]!.user += userTicks(pid) - before[i]!.user;
        totals[i]!.requests += r.rps * seconds;
        totals[i]!.rps.push(r.rps);
      });
    }
  } finally {
    await Promise.all(gateways.map((g) => g.stop()));
  }
  return totals.map((t) => ({ us: (t.ticks * 10_000) / t.requests, userUs: (t.user * 10_000) / t.requests, rps: t.rps }));
}

// One ratio per order; their geometric mean cancels what the position adds (see the header).
const ratios: Array<{ all: number; user: number }> = [];
try {
  for (let o = 0; o < orders; o++) {
    const order = o === 0 ? [sides[0]!, sides[1]!] : [sides[1]!, sides[0]!];
    const m = await measure(order);
    const of = (s: Side): Measured => m[order.indexOf(s)]!;
    console.log(`order ${order.map((s) => s.name).join(', ')} (the first started and loaded first):`);
    for (const s of sides) {
      const r = of(s);
      console.log(`  ${s.name} ${route} ${Math.round(r.us)} µs CPU/req (user ${Math.round(r.userUs)}), req/s ${r.rps.join(' ')}  (${s.dir} ${s.nodeOptions})`);
    }
    const ratio = { all: of(sides[1]!).us / of(sides[0]!).us, user: of(sides[1]!).userUs / of(sides[0]!).userUs };
    ratios.push(ratio);
    console.log(`  B/A CPU per request: ${ratio.all.toFixed(3)}, user CPU only: ${ratio.user.toFixed(3)}`);
  }
} finally {
  await backend.stop();
}
if (ratios.length === 2) {
  const mean = (k: 'all' | 'user'): number => Math.sqrt(ratios[0]![k] * ratios[1]![k]);
  // The second side's CPU reads f times its own: the first order's ratio is t·f, the second's t/f.
  const f = Math.sqrt(ratios[0]!.all / ratios[1]!.all);
  const position = `${Math.abs((f - 1) * 100).toFixed(1)}% ${f < 1 ? 'cheaper' : 'dearer'}`;
  console.log(`B/A CPU per request, both orders: ${mean('all').toFixed(3)}, user CPU only: ${mean('user').toFixed(3)} (the side loaded second read ${position})`);
}
