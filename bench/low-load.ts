// low-load.ts — what a proxy adds when it is not busy: an open loop at BENCH_RATE req/s
// (default 20) for BENCH_REQUESTS requests (default 1,000) to the echo backend directly, through
// nginx, through the bare Node proxy and through the gateway's parsed Vertex path, one target at
// a time. p50 and p99 of each, and each one's p50 added over direct. Each path first serves the
// same closed-loop warm-up (BENCH_WARMUP requests, default 3,000, 4 at a time), so every process is
// compared warm, as after minutes of traffic: 1,000 requests at 20 req/s leave a JIT-compiled
// proxy's code half cold, which is a start-up cost, not the one this scenario measures.
// Runnable alone: node bench/low-load.ts   (BENCH_REQUESTS=200 for a short run)

import { Agent, request } from 'node:http';
import { freePort } from '../test/support/ports.ts';
import { startGateway } from '../test/support/gateway.ts';
import { startNginx, startNodeServer } from './support/processes.ts';

interface Latency { p50: number; p99: number; errors: number }

/** runLowLoadBench measures latency at a low, steady rate for each path in turn. */
export async function runLowLoadBench(rate = Number(process.env.BENCH_RATE ?? 20), requests = Number(process.env.BENCH_REQUESTS ?? 1000), warmup = Number(process.env.BENCH_WARMUP ?? 3000)): Promise<Record<string, unknown>> {
  const backend = await startNodeServer(new URL('./support/echo-backend.ts', import.meta.url).href);
  const nginx = await startNginx(await freePort(), backend.port);
  const bare = await startNodeServer(new URL('./support/bare-proxy.ts', import.meta.url).href, [String(backend.port), 'json']);
  const gw = await startGateway(`
server: { logLevel: warn }
frontends: { vertex: { model: m, predictRoute: /predict, healthRoute: /health } }
backends: { echo: { type: http, url: "http://127.0.0.1:${backend.port}", predictPath: /predict, healthPath: /health } }
models: { m: { targets: [ { backend: echo } ] } }
`);
  const body = JSON.stringify({ instances: [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]] });
  try {
    const targets = { direct: backend.port, nginx: nginx.port, bareNodeProxy: bare.port, gateway: Number(new URL(gw.url).port) };
    const out: Record<string, Latency> = {};
    for (const [name, port] of Object.entries(targets)) {
      await closedLoop(port, body, warmup, 4);
      await openLoop(port, body, rate, 20); // the open loop's own sockets
      out[name] = await openLoop(port, body, rate, requests);
    }
    const added = Object.fromEntries(Object.entries(out).filter(([n]) => n !== 'direct').map(([n, l]) => [n, round(l.p50 - out.direct!.p50)]));
    return { rate, requests, warmup, bodyBytes: body.length, latencyMs: out, p50AddedOverDirectMs: added,
      note: 'open loop: requests start on a fixed schedule whether or not the previous one answered; one keep-alive Node client measures every path alike.' };
  } finally {
    await gw.stop();
    await bare.stop();
    await nginx.stop();
    await backend.stop();
  }
}

// post sends the body to /predict and gives the answer's status once it is read (0 on an error).
function post(port: number, body: string, agent: Agent): Promise<number> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/predict', method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', () => resolve(0));
    req.end(body);
  });
}

// closedLoop sends `count` requests, `inFlight` at a time, answers unchecked: the warm-up.
async function closedLoop(port: number, body: string, count: number, inFlight: number): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: inFlight });
  let left = count;
  const lane = async () => {
    while (left-- > 0) await post(port, body, agent);
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
  agent.destroy();
}

// openLoop starts `count` requests `1000/rate` ms apart and times each one, in ms.
async function openLoop(port: number, body: string, rate: number, count: number): Promise<Latency> {
  const agent = new Agent({ keepAlive: true, maxSockets: 16 });
  const times: number[] = [];
  let errors = 0;
  const one = async (): Promise<void> => {
    const started = performance.now();
    if (await post(port, body, agent) === 200) times.push(performance.now() - started); else errors++;
  };
  const pending: Promise<void>[] = [];
  const start = performance.now();
  for (let i = 0; i < count; i++) {
    const wait = start + (i * 1000) / rate - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    pending.push(one());
  }
  await Promise.all(pending);
  agent.destroy();
  times.sort((a, b) => a - b);
  const at = (q: number) => round(times[Math.min(times.length - 1, Math.floor(q * times.length))] ?? NaN);
  return { p50: at(0.5), p99: at(0.99), errors };
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

if (import.meta.main) {
  console.log(JSON.stringify(await runLowLoadBench(), null, 2));
}
