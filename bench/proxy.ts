// proxy.ts — issue 2's benchmark: the gateway against going direct to the same backend, and the
// gateway's raw passthrough against nginx (one worker, upstream keepalive) on the same route.
// Each figure is a ratio taken in one run on this machine. Runnable alone: node bench/proxy.ts

import autocannon from 'autocannon';
import { freePort } from '../test/support/ports.ts';
import { startGateway } from '../test/support/gateway.ts';
import { startNginx, startNodeServer } from './support/processes.ts';

export interface LoadResult { rps: number; p50: number; p99: number; errors: number; non2xx: number }

/** load runs autocannon against one URL and keeps the figures that matter. */
export async function load(url: string, body: string, durationS: number, connections = 32): Promise<LoadResult> {
  const r = await autocannon({
    url, method: 'POST', body, connections, duration: durationS, headers: { 'content-type': 'application/json' },
  });
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, errors: r.errors, non2xx: r.non2xx };
}

/** runProxyBench measures direct, gateway (parsed predict) and passthrough vs nginx. */
export async function runProxyBench(durationS = Number(process.env.BENCH_SECONDS ?? 8)): Promise<Record<string, unknown>> {
  const backend = await startNodeServer(new URL('./support/echo-backend.ts', import.meta.url).href);
  const nginxPort = await freePort();
  const nginx = await startNginx(nginxPort, backend.port);
  const gw = await startGateway(`
server: { logLevel: warn }
frontends:
  vertex: { model: m, predictRoute: /predict, healthRoute: /health, rawPredictRoute: /raw/predict, rawBackend: raw }
backends:
  echo: { type: http, url: "http://127.0.0.1:${backend.port}", predictPath: /predict, healthPath: /health }
  raw: { type: passthrough, url: "http://127.0.0.1:${backend.port}" }
models:
  m: { targets: [ { backend: echo } ] }
`);
  // ~200 bytes: 8 rows of 4 features, a typical small tabular request.
  const body = JSON.stringify({ instances: Array.from({ length: 8 }, (_, i) => [5.1 + i, 3.5, 1.4, 0.2]) });
  try {
    await load(`${gw.url}/predict`, body, 1); // warm-up
    const direct = await load(`http://127.0.0.1:${backend.port}/predict`, body, durationS);
    const gateway = await load(`${gw.url}/predict`, body, durationS);
    const passthrough = await load(`${gw.url}/raw/predict`, body, durationS);
    const viaNginx = await load(`http://127.0.0.1:${nginx.port}/predict`, body, durationS);
    return {
      bodyBytes: body.length,
      direct, gateway, passthrough, nginx: viaNginx,
      ratios: {
        gatewayOverDirect: round(gateway.rps / direct.rps),
        passthroughOverNginx: round(passthrough.rps / viaNginx.rps),
        gatewayOverNginx: round(gateway.rps / viaNginx.rps),
      },
    };
  } finally {
    await gw.stop();
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
