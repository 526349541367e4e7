// proxy.ts — issue 2's benchmark: the gateway against going direct to the same backend, and the
// gateway's raw passthrough against nginx (one worker, upstream keepalive) on the same route,
// beside two Node columns: the bare Node proxy (support/bare-proxy.ts, the floor for a Node
// gateway: JSON parsed and written both ways, or bytes relayed) and @fastify/http-proxy.
// Each figure is a ratio taken in one run on this machine, measured with wrk (one thread,
// BENCH_CONNECTIONS connections, default 32), which leaves the cores to the servers.
// Tracing's cost: a second gateway, the same config, exporting every request's spans over
// OTLP/HTTP to a receiver (test/support/fake-otlp.ts, decoding and discarding them), against the
// first with tracing off.
// BENCH_ROUNDS=N measures every path N times, round after round (each path BENCH_SECONDS a
// round), and gives each path's median round: the VM's speed drifts over minutes (the bare
// proxy's CPU per request moved 52 → 147 µs within a day), and one pass measures the gateway
// and the bare proxy a minute apart.
// Runnable alone: node bench/proxy.ts   (BENCH_SECONDS=5 BENCH_CONNECTIONS=1 BENCH_ROUNDS=3 to vary)

import { freePort } from '../test/support/ports.ts';
import { startFakeOtlp } from '../test/support/fake-otlp.ts';
import { startGateway } from '../test/support/gateway.ts';
import { startNginx, startNodeServer } from './support/processes.ts';
import { cpuTicksSplit } from './support/cpu.ts';
import { wrkLoad } from './support/wrk.ts';
import { proxyBenchConfig } from './support/proxy-config.ts';

export interface LoadResult { rps: number; p50: number; p99: number; errors: number; non2xx: number }

/** load drives one URL with wrk (the guard and routing benches use it; see support/wrk.ts for why not a Node client). */
export function load(url: string, body: string, durationS: number, connections = 32): Promise<LoadResult> {
  return wrkLoad(url, { body, durationS, connections });
}

/** runProxyBench measures direct, gateway (parsed predict) and passthrough vs nginx. */
export async function runProxyBench(durationS = Number(process.env.BENCH_SECONDS ?? 5),
  connections = Number(process.env.BENCH_CONNECTIONS ?? 32), rounds = Number(process.env.BENCH_ROUNDS ?? 1)): Promise<Record<string, unknown>> {
  const backend = await startNodeServer(new URL('./support/echo-backend.ts', import.meta.url).href);
  const nginxPort = await freePort();
  const nginx = await startNginx(nginxPort, backend.port);
  const bare = await startNodeServer(new URL('./support/bare-proxy.ts', import.meta.url).href, [String(backend.port), 'json']);
  const bareRaw = await startNodeServer(new URL('./support/bare-proxy.ts', import.meta.url).href, [String(backend.port), 'raw']);
  const fastify = await startNodeServer(new URL('./support/fastify-proxy.ts', import.meta.url).href, [String(backend.port)]);
  const config = proxyBenchConfig(backend.port);
  const gw = await startGateway(config);
  const otlp = await startFakeOtlp({ keep: false });
  const traced = await startGateway(config, { env: { OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url, OTEL_BSP_SCHEDULE_DELAY: '200' } });
  // ~200 bytes: 8 rows of 4 features, a typical small tabular request.
  const body = JSON.stringify({ instances: Array.from({ length: 8 }, (_, i) => [5.1 + i, 3.5, 1.4, 0.2]) });
  const run = (url: string, seconds = durationS): Promise<LoadResult> => wrkLoad(url, { body, durationS: seconds, connections });
  // CPU µs per request of one process over a run: steadier than req/s on a VM whose cores are
  // stolen from minute to minute, and it says where the time goes (gateway vs backend).
  const gwPid = gw.process.pid!;
  // Its user-mode part apart: the kernel's share (socket writes) is alike for every Node path.
  const measured = async (url: string, pid = gwPid): Promise<LoadResult & { cpuUsPerRequest: number; userUsPerRequest: number }> => {
    const before = cpuTicksSplit([pid]);
    const r = await run(url);
    const after = cpuTicksSplit([pid]);
    const perRequest = (ticks: number): number => Math.round((ticks * 10_000) / Math.max(1, r.rps * durationS));
    return { ...r, cpuUsPerRequest: perRequest(after.user + after.system - before.user - before.system), userUsPerRequest: perRequest(after.user - before.user) };
  };
  try {
    const paths = {
      direct: () => measured(`http://127.0.0.1:${backend.port}/predict`, backend.pid),
      gateway: () => measured(`${gw.url}/predict`, gwPid),
      bareNodeProxy: () => measured(`http://127.0.0.1:${bare.port}/predict`, bare.pid),
      passthrough: () => measured(`${gw.url}/raw/predict`, gwPid),
      bareNodeProxyRaw: () => measured(`http://127.0.0.1:${bareRaw.port}/predict`, bareRaw.pid),
      nginx: () => run(`http://127.0.0.1:${nginx.port}/predict`),
      fastifyHttpProxy: () => measured(`http://127.0.0.1:${fastify.port}/predict`, fastify.pid),
      gatewayTraced: () => measured(`${traced.url}/predict`, traced.process.pid!),
    };
    // Warm-up, every path alike: JIT and pooled connections.
    for (const url of [`${gw.url}/predict`, `${gw.url}/raw/predict`, `${traced.url}/predict`, `http://127.0.0.1:${bare.port}/predict`,
      `http://127.0.0.1:${bareRaw.port}/predict`, `http://127.0.0.1:${fastify.port}/predict`]) await run(url, 1);
    const seen: Record<string, Array<LoadResult & { cpuUsPerRequest?: number; userUsPerRequest?: number }>> = {};
    for (let r = 0; r < rounds; r++) {
      for (const [name, measure] of Object.entries(paths)) (seen[name] ??= []).push(await measure());
    }
    const median = <T extends LoadResult>(list: T[]): T => [...list].sort((a, b) => a.rps - b.rps)[Math.floor(list.length / 2)]!;
    const direct = median(seen.direct!), gateway = median(seen.gateway!), passthrough = median(seen.passthrough!);
    const gatewayTraced = median(seen.gatewayTraced!) as LoadResult & { cpuUsPerRequest: number };
    const viaNginx = median(seen.nginx!), bareJson = median(seen.bareNodeProxy!), bareBytes = median(seen.bareNodeProxyRaw!);
    const viaFastify = median(seen.fastifyHttpProxy!);
    return {
      tool: `wrk -t1 -c${connections} -d${durationS}s`,
      rounds,
      ...(rounds > 1 ? {
        rpsEachRound: Object.fromEntries(Object.entries(seen).map(([name, list]) => [name, list.map((x) => Math.round(x.rps))])),
        // The same round's two figures, measured seconds apart.
        gatewayOverBareNodeProxyEachRound: seen.gateway!.map((g, i) => round(g.rps / seen.bareNodeProxy![i]!.rps)),
        passthroughOverBareNodeProxyRawEachRound: seen.passthrough!.map((g, i) => round(g.rps / seen.bareNodeProxyRaw![i]!.rps)),
        // The same as CPU per request (bare's over the gateway's, so higher is better here too):
        // each process's own cost, less moved by what else held the cores that second.
        bareOverGatewayCpuEachRound: seen.gateway!.map((g, i) => round(seen.bareNodeProxy![i]!.cpuUsPerRequest! / g.cpuUsPerRequest!)),
        bareOverGatewayUserCpuEachRound: seen.gateway!.map((g, i) => round(seen.bareNodeProxy![i]!.userUsPerRequest! / g.userUsPerRequest!)),
      } : {}),
      bodyBytes: body.length,
      direct, gateway, passthrough, nginx: viaNginx, bareNodeProxy: bareJson, bareNodeProxyRaw: bareBytes, fastifyHttpProxy: viaFastify,
      gatewayTraced, spansExported: otlp.received,
      ratios: {
        gatewayOverDirect: round(gateway.rps / direct.rps),
        passthroughOverNginx: round(passthrough.rps / viaNginx.rps),
        gatewayOverNginx: round(gateway.rps / viaNginx.rps),
        gatewayOverBareNodeProxy: round(gateway.rps / bareJson.rps),
        passthroughOverBareNodeProxyRaw: round(passthrough.rps / bareBytes.rps),
        gatewayOverFastify: round(gateway.rps / viaFastify.rps),
        tracedOverUntraced: round(gatewayTraced.rps / gateway.rps),
        tracedCpuOverUntraced: round(gatewayTraced.cpuUsPerRequest / (gateway as { cpuUsPerRequest: number }).cpuUsPerRequest),
      },
      note: 'Each path: its median round by req/s (rounds > 1). cpuUsPerRequest: CPU of the one process measured (backend for direct, gateway, bare proxy, fastify), per request answered; userUsPerRequest: its user-mode part (the rest is the kernel\'s, mostly socket writes). bareNodeProxy is the floor for a Node gateway (bench/support/bare-proxy.ts), not a product; fastifyHttpProxy relays bytes without parsing them. ' +
        'gatewayTraced: tracing on, every request sampled, spans exported over OTLP/HTTP.',
    };
  } finally {
    await bare.stop();
    await bareRaw.stop();
    await fastify.stop();
    await gw.stop();
    await traced.stop();
    await otlp.close();
    await nginx.stop();
    await backend.stop();
  }
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

if (import.meta.main) {
  console.log(JSON.stringify(await runProxyBench(), null, 2));
}
