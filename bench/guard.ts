// guard.ts — issue 6's benchmark: gateway throughput with a target's breaker, retry budget and
// maxInFlight limit stages switched on (all healthy) against the same gateway without them. The
// deadline stage runs in both (every model path has one), so the ratio is the cost of the breaker,
// retry and limit stages. Two gateways, same echo backend, runs interleaved A B A B so drift on
// this shared machine hits both alike. Target: ratio ≥ 0.95. Runnable alone: node bench/guard.ts

import { fileURLToPath } from 'node:url';
import { startGateway, type RunningGateway } from '../test/support/gateway.ts';
import { load, type LoadResult } from './proxy.ts';
import { startNodeServer } from './support/processes.ts';

function config(backendPort: number, guarded: boolean): string {
  const guard = guarded
    ? `breaker: { volumeThreshold: 20, errorThresholdPercentage: 50, resetTimeoutMs: 5000 }
    retry: { attempts: 2, budgetPercent: 20 }`
    : '';
  return `
frontends: { vertex: { model: m, predictRoute: /predict, healthRoute: /health } }
backends: { echo: { type: http, url: "http://127.0.0.1:${backendPort}" } }
models:
  m:
    timeoutMs: 5000
    ${guard}
    targets: [ { backend: echo, name: echo${guarded ? ', maxInFlight: 10000' : ''} } ]
`;
}

function total(runs: LoadResult[]): { rps: number; p50: number; p99: number; errors: number; non2xx: number } {
  const n = runs.length;
  return {
    rps: round(runs.reduce((s, r) => s + r.rps, 0) / n),
    p50: round(runs.reduce((s, r) => s + r.p50, 0) / n),
    p99: round(runs.reduce((s, r) => s + r.p99, 0) / n),
    errors: runs.reduce((s, r) => s + r.errors, 0),
    non2xx: runs.reduce((s, r) => s + r.non2xx, 0),
  };
}

/** runGuardBench measures guarded vs unguarded gateway throughput against one healthy backend. */
export async function runGuardBench(durationS = Number(process.env.BENCH_SECONDS ?? 4), rounds = 3): Promise<Record<string, unknown>> {
  const backend = await startNodeServer(new URL('./support/echo-backend.ts', import.meta.url).href);
  let plain: RunningGateway | undefined;
  let guarded: RunningGateway | undefined;
  try {
    plain = await startGateway(config(backend.port, false));
    guarded = await startGateway(config(backend.port, true));
    const body = JSON.stringify({ instances: Array.from({ length: 8 }, (_, i) => [5.1 + i, 3.5, 1.4, 0.2]) });
    await load(`${plain.url}/predict`, body, 1);
    await load(`${guarded.url}/predict`, body, 1);
    const without: LoadResult[] = [];
    const withGuard: LoadResult[] = [];
    for (let i = 0; i < rounds; i++) {
      // Alternate which goes first, so neither always runs on a warmer machine.
      if (i % 2 === 0) {
        without.push(await load(`${plain.url}/predict`, body, durationS));
        withGuard.push(await load(`${guarded.url}/predict`, body, durationS));
      } else {
        withGuard.push(await load(`${guarded.url}/predict`, body, durationS));
        without.push(await load(`${plain.url}/predict`, body, durationS));
      }
    }
    const a = total(without);
    const b = total(withGuard);
    const ratio = round(b.rps / a.rps);
    return {
      durationS, rounds, connections: 32,
      without: a,
      withGuard: b,
      ratios: { guardedOverPlain: ratio },
      target: 0.95,
      pass: ratio >= 0.95,
    };
  } finally {
    await guarded?.stop();
    await plain?.stop();
    await backend.stop();
  }
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(JSON.stringify(await runGuardBench(), null, 2));
}
