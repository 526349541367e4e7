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
// Side B reads about 3 % cheaper than A even with the same tree on both (0.968 and 0.974 on one
// machine, 10 rounds of 3 s): run both orders (AB_A_DIR=x, then AB_B_DIR=x) and trust a change
// only where the two ratios agree beyond that.

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
const { backend, config, body, connections } = await startBenchPath(rows64, process.env.AB_BINARY === '1');
if (bareB) sides[1] = { name: 'B', dir: 'bench/support/bare-proxy.ts', nodeOptions: '' };
const gateways = await Promise.all(sides.map(async (s, i) => {
  if (i === 1 && bareB) {
    const bare = await startNodeServer(new URL('./support/bare-proxy.ts', import.meta.url).href, [String(backend.port), route === '/predict' ? 'json' : 'raw']);
    return { url: `http://127.0.0.1:${bare.port}`, pid: bare.pid, stop: bare.stop };
  }
  const { startGateway } = (await import(`${s.dir}/test/support/gateway.ts`)) as { startGateway: Start };
  const gw = await startGateway(config, { env: { NODE_OPTIONS: s.nodeOptions } });
  return { url: gw.url, pid: gw.process.pid!, stop: () => gw.stop() };
}));
const totals = sides.map(() => ({ ticks: 0, user: 0, requests: 0, rps: [] as number[] }));
// User-mode ticks alone: the gateway's JavaScript and GC, without the kernel's share of its
// socket writes, which on a shared machine varies with how busy the readers are.
const userTicks = (pid: number): number => Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[11]);
try {
  for (const gw of gateways) await wrkLoad(`${gw.url}${route}`, { body, durationS: 1, connections });
  // Both loaded at once, each round: whatever else the machine runs then falls on both alike.
  for (let round = 0; round < rounds; round++) {
    const before = gateways.map((gw) => ({ all: cpuTicks([gw.pid]), user: userTicks(gw.pid) }));
    const results = await Promise.all(gateways.map((gw) => wrkLoad(`${gw.url}${route}`, { body, durationS: seconds, connections })));
    results.forEach((r, i) => {
      const pid = gateways[i]!.pid;
      if (r.non2xx > 0 || r.errors > 0) throw new Error(`${sides[i]!.name}: ${r.non2xx} non-2xx, ${r.errors} socket errors`);
      totals[i]!.ticks += cpuTicks([pid]) - before[i]!.all;
      totals[i]!.user += userTicks(pid) - before[i]!.user;
      totals[i]!.requests += r.rps * seconds;
      totals[i]!.rps.push(r.rps);
    });
  }
} finally {
  await Promise.all(gateways.map((g) => g.stop()));
  await backend.stop();
}
const us = totals.map((t) => (t.ticks * 10_000) / t.requests);
const userUs = totals.map((t) => (t.user * 10_000) / t.requests);
sides.forEach((s, i) => console.log(`${s.name} ${route} ${Math.round(us[i]!)} µs CPU/req (user ${Math.round(userUs[i]!)}), req/s ${totals[i]!.rps.join(' ')}  (${s.dir} ${s.nodeOptions})`));
console.log(`B/A CPU per request: ${(us[1]! / us[0]!).toFixed(3)}, user CPU only: ${(userUs[1]! / userUs[0]!).toFixed(3)}`);
