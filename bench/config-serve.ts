// config-serve.ts — issue 14's reload figure through the real process: `infergate serve` of a
// 20,000-model config over one ready http backend (bench/support/echo-backend.ts), then a
// POST /admin/reload of the same models with a new timeoutMs while this process asks
// /v2/health/live in a loop, one request at a time. Reports the time from spawn to ready, the
// gateway's RSS before and after the reload, the reload's wall time and the slowest liveness
// answer during it (wall time: on shared cores it includes waits for a core).
// Runnable alone: node bench/config-serve.ts

import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startNodeServer } from './support/processes.ts';

const mainFile = fileURLToPath(new URL('../src/main.ts', import.meta.url));

/** runConfigServeBench serves `models` models, reloads them and measures liveness meanwhile. */
export async function runConfigServeBench(models = Number(process.env.BENCH_MODELS ?? 20_000)): Promise<Record<string, unknown>> {
  const backend = await startNodeServer(new URL('./support/echo-backend.ts', import.meta.url).href);
  const dir = mkdtempSync(join(tmpdir(), 'infergate-config-serve-'));
  const file = join(dir, 'big.yaml');
  const textOf = (timeout: string): string => ['server: { port: 0, adminPort: 0, host: 127.0.0.1, adminHost: 127.0.0.1, logLevel: info }',
    'frontends: { kserve: {} }', 'backends:', `  b: { type: http, url: "http://127.0.0.1:${backend.port}" }`, 'models:',
    ...Array.from({ length: models }, (_, i) => `  m${i}: { timeoutMs: ${timeout}, targets: [ { backend: b } ] }`)].join('\n') + '\n';
  writeFileSync(file, textOf('10s'));
  const started = performance.now();
  const child = spawn(process.execPath, [mainFile, 'serve', '--config', file], { stdio: ['ignore', 'pipe', 'inherit'] });
  const rssMB = (): number => Math.round(Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? 0) / 1024);
  try {
    const { port, adminPort } = await new Promise<{ port: number; adminPort: number }>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const line = out.split('\n').find((l) => l.includes('"listening"'));
        if (line !== undefined) resolve(JSON.parse(line) as { port: number; adminPort: number });
      });
      child.once('exit', (code) => reject(new Error(`the gateway exited with ${code}`)));
    });
    child.stdout!.resume();
    for (;;) {
      const r = await fetch(`http://127.0.0.1:${port}/v2/health/ready`).catch(() => undefined);
      await r?.arrayBuffer();
      if (r?.status === 200) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const readyMs = performance.now() - started;
    const rssReady = rssMB();
    writeFileSync(file, textOf('20s'));
    let reloaded = false;
    const reloadStarted = performance.now();
    const reload = fetch(`http://127.0.0.1:${adminPort}/admin/reload`, { method: 'POST' }).then(async (r) => {
      await r.arrayBuffer();
      reloaded = true;
      return r.status;
    });
    let probes = 0;
    let slowest = 0;
    while (!reloaded) {
      const asked = performance.now();
      await (await fetch(`http://127.0.0.1:${port}/v2/health/live`)).arrayBuffer();
      slowest = Math.max(slowest, performance.now() - asked);
      probes++;
    }
    const status = await reload;
    if (status !== 200) throw new Error(`the reload answered ${status}`);
    return {
      models, readyMs: Math.round(readyMs), rssReadyMB: rssReady, reloadMs: Math.round(performance.now() - reloadStarted),
      livenessProbes: probes, slowestLivenessMs: Math.round(slowest), rssAfterReloadMB: rssMB(),
      note: 'wall times; liveness asked one request at a time during POST /admin/reload',
    };
  } finally {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    await backend.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  console.log(JSON.stringify(await runConfigServeBench(), null, 2));
}
