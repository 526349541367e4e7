// streaming.ts — issue 16's benchmark: STREAMS concurrent chat completions streamed from the
// OpenAI-compatible fake (TOKENS tokens each at RATE tokens/s), read directly, through the
// gateway (frontends.openai → openai backend) and through nginx (proxy_buffering off), one after
// the other in one run; the streams of a round start spread over its first second. Per path: time to first token and the gap between tokens (p50, p99),
// and what each proxy adds over direct; for the gateway, CPU per streamed token and its RSS.
// Runnable alone: node bench/streaming.ts   (BENCH_STREAMS, BENCH_TOKENS override the sizes)

import { readFileSync } from 'node:fs';
import { cpuTicks } from './support/cpu.ts';
import { startNginx, startNodeServer } from './support/processes.ts';
import { startGateway } from '../test/support/gateway.ts';
import { freePort } from '../test/support/ports.ts';

const STREAMS = Number(process.env.BENCH_STREAMS ?? 200);
const TOKENS = Number(process.env.BENCH_TOKENS ?? 256);
const RATE = 50;
const STAGGER_MS = 1000;

interface PathFigures { streams: number; tokens: number; failed: number; ttftP50: number; ttftP99: number; itlP50: number; itlP99: number; seconds: number }

/** runStreamingBench runs the three paths and returns their figures and the gateway's cost. */
export async function runStreamingBench(): Promise<Record<string, unknown>> {
  const fake = await startNodeServer(new URL('./support/openai-server.ts', import.meta.url).href, [String(1000 / RATE), 'llm']);
  const gw = await startGateway(`
server: { maxConcurrentRequests: 4096, logLevel: warn }
frontends: { openai: {} }
backends: { llm: { type: openai, url: http://127.0.0.1:${fake.port} } }
models: { llm: { timeoutMs: 30s, targets: [ { backend: llm } ] } }
`);
  const nginx = await startNginx(await freePort(), fake.port, { buffering: false });
  try {
    const urls = [`http://127.0.0.1:${fake.port}`, gw.url, `http://127.0.0.1:${nginx.port}`];
    // Warm each path with a short round at full concurrency (its connections opened, JIT done).
    for (const url of urls) await runStreams(url, STREAMS, 4);
    const direct = await runStreams(urls[0]!);
    let rssMax = 0;
    const sampler = setInterval(() => { rssMax = Math.max(rssMax, rssOf(gw.process.pid!)); }, 100);
    const rssBefore = rssOf(gw.process.pid!);
    const ticks = cpuTicks([gw.process.pid!]);
    const gateway = await runStreams(gw.url);
    const cpuMs = (cpuTicks([gw.process.pid!]) - ticks) * 10;
    clearInterval(sampler);
    const viaNginx = await runStreams(`http://127.0.0.1:${nginx.port}`);
    const added = (p: PathFigures) => ({ ttftP50: round(p.ttftP50 - direct.ttftP50), itlP99: round(p.itlP99 - direct.itlP99) });
    return {
      streams: STREAMS, tokensPerStream: TOKENS, tokensPerSecond: RATE,
      direct, gateway, nginx: viaNginx,
      added: { gateway: added(gateway), nginx: added(viaNginx) },
      gatewayCpuUsPerToken: round((cpuMs * 1000) / Math.max(1, gateway.tokens)),
      gatewayRssMb: { before: round(rssBefore / 1e6), max: round(rssMax / 1e6) },
      targets: { ttftAddedP50Ms: '≤ 1', itlAddedP99Ms: '≤ 0.5' },
    };
  } finally {
    await nginx.stop();
    await gw.stop();
    await fake.stop();
  }
}

// runStreams opens `streams` streams at once and reads each to its end, timing its tokens.
async function runStreams(base: string, streams = STREAMS, perStream = TOKENS): Promise<PathFigures> {
  const ttft: number[] = [];
  const gaps: number[] = [];
  let tokens = 0;
  let failed = 0;
  const started = performance.now();
  // Streams start spread evenly over the first second, as users arrive, so the time to the
  // first token measures each call, not the queue of a burst of `streams` at the same instant.
  await Promise.all(Array.from({ length: streams }, async (_, i) => {
    await new Promise((r) => setTimeout(r, (i * STAGGER_MS) / streams));
    const t0 = performance.now();
    try {
      const res = await fetch(`${base}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'llm', messages: [{ role: 'user', content: 'go' }], max_tokens: perStream, stream: true }) });
      if (res.status !== 200) { failed++; await res.arrayBuffer(); return; }
      let last: number | undefined;
      let pending = '';
      const decoder = new TextDecoder();
      for await (const chunk of res.body!) {
        const now = performance.now();
        pending += decoder.decode(chunk, { stream: true });
        for (let end = pending.indexOf('\n\n'); end >= 0; end = pending.indexOf('\n\n')) {
          const event = pending.slice(0, end);
          pending = pending.slice(end + 2);
          if (!event.includes('"content":"') || event.includes('"content":""')) continue;
          tokens++;
          if (last === undefined) ttft.push(now - t0);
          else gaps.push(now - last);
          last = now;
        }
      }
    } catch {
      failed++;
    }
  }));
  return {
    streams, tokens, failed,
    ttftP50: pct(ttft, 0.5), ttftP99: pct(ttft, 0.99), itlP50: pct(gaps, 0.5), itlP99: pct(gaps, 0.99),
    seconds: round((performance.now() - started) / 1000),
  };
}

function pct(xs: number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return round(s[Math.min(s.length - 1, Math.floor(q * s.length))]!);
}

function round(x: number): number { return Math.round(x * 100) / 100; }

function rssOf(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m === null ? 0 : Number(m[1]) * 1024;
  } catch {
    return 0;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(JSON.stringify(await runStreamingBench(), null, 2));
