// slowloris.ts — issue 9's slow-client figure: the p99 latency of normal traffic (wrk, 8
// connections) through the gateway with and without 240 slowloris / slow-POST sockets held open
// by a separate attacker process (bench/support/slowloris.ts, sockets replaced as the gateway
// closes them: headersTimeoutMs 3 s, so they churn during the run). Target: p99 during the
// attack ≤ 1.2× the baseline. The attacker runs in its
// own process so its timers do not delay the measuring client, as they would in a test.
// Runnable alone: node bench/slowloris.ts   (BENCH_SECONDS per run, default 10)

import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startGateway } from '../test/support/gateway.ts';
import { startNodeServer } from './support/processes.ts';
import { wrkLoad, type WrkResult } from './support/wrk.ts';

export async function runSlowlorisBench(durationS = Number(process.env.BENCH_SECONDS ?? 10), rounds = 3): Promise<Record<string, unknown>> {
  const backend = await startNodeServer(new URL('./support/echo-backend.ts', import.meta.url).href);
  const gw = await startGateway(`
server: { logLevel: warn, headersTimeoutMs: 3s, requestTimeoutMs: 30s, bodyIdleTimeoutMs: 15s }
frontends: { vertex: { model: m, predictRoute: /predict, healthRoute: /health } }
backends: { echo: { type: http, url: "http://127.0.0.1:${backend.port}" } }
models: { m: { targets: [ { backend: echo } ] } }
`);
  const body = JSON.stringify({ instances: [[5.1, 3.5, 1.4, 0.2]] });
  const measure = (): Promise<WrkResult> => wrkLoad(`${gw.url}/predict`, { body, durationS, connections: 8 });
  const runs: Array<{ baseline: WrkResult; attacked: WrkResult; attacker: unknown }> = [];
  try {
    await wrkLoad(`${gw.url}/predict`, { body, durationS: 2, connections: 8 }); // warm-up
    for (let r = 0; r < rounds; r++) {
      const baseline = await measure();
      const attacker = spawn(process.execPath, [fileURLToPath(new URL('./support/slowloris.ts', import.meta.url)), String(gw.port), '240', '100'], { stdio: ['ignore', 'pipe', 'inherit'] });
      let last = '';
      attacker.stdout!.on('data', (d: Buffer) => { last = d.toString().trim().split('\n').at(-1) ?? last; });
      await new Promise((res) => setTimeout(res, 2000)); // every socket connected and dripping
      const attacked = await measure();
      attacker.kill('SIGKILL');
      await new Promise((res) => attacker.once('exit', res));
      runs.push({ baseline, attacked, attacker: last === '' ? undefined : JSON.parse(last) });
    }
    const ratios = runs.map((x) => +(x.attacked.p99 / x.baseline.p99).toFixed(2)).sort((a, b) => a - b);
    return {
      tool: `wrk -t1 -c8 -d${durationS}s`, attackerSockets: 240, rounds,
      runs: runs.map((x) => ({ baselineRps: x.baseline.rps, baselineP99: x.baseline.p99, attackedRps: x.attacked.rps, attackedP99: x.attacked.p99, attacker: x.attacker })),
      p99Ratios: ratios, medianP99Ratio: ratios[Math.floor(ratios.length / 2)], target: '≤ 1.2',
    };
  } finally {
    await gw.stop();
    await backend.stop();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(JSON.stringify(await runSlowlorisBench(), null, 2));
}
