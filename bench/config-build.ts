// config-build.ts — issue 14's figure: building a config of 20,000 models (850 KB of YAML, one
// line per model). CPU milliseconds of this process (steadier than wall time on shared cores)
// for reading and validating the file, and for building the gateway from it, beside the yaml
// library's parse alone (what reading cost before plain-yaml.ts). Median of BENCH_ROUNDS (5).
// Then the heap the config and the built gateway hold (after a full GC), and a reload of the
// same models (each with a new timeoutMs) the way `serve` does one: read on a worker thread,
// built in slices, health-polled, swapped; its longest event-loop block is the largest gap of
// a 1 ms interval timer while it runs (wall time: on shared cores it includes waits for a core).
// Runnable alone: node bench/config-build.ts

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { parse } from 'yaml';
import { Gateway } from '../src/gateway.ts';
import { loadOffThread } from '../src/gateway/config-worker.ts';
import { loadPlugins } from '../src/gateway/plugins.ts';
import { silentLogger } from '../src/observe/log.ts';
import { loadConfigFile } from '../src/schema.ts';

// A full GC on demand, for the heap figures (the bench runs without --expose-gc).
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** runConfigBuildBench times reading and building a 20,000-model config, and a reload of it. */
export async function runConfigBuildBench(models = 20_000, rounds = Number(process.env.BENCH_ROUNDS ?? 5)): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), 'infergate-config-'));
  const file = join(dir, 'big.yaml');
  const textOf = (timeout: string): string => ['frontends: { kserve: {} }', 'backends:', '  b: { type: http, url: http://127.0.0.1:9 }', 'models:',
    ...Array.from({ length: models }, (_, i) => `  m${i}: { ${timeout === '' ? '' : `timeoutMs: ${timeout}, `}targets: [ { backend: b } ] }`)].join('\n') + '\n';
  const text = textOf('');
  writeFileSync(file, text);
  const cpu = async (f: () => unknown): Promise<number> => {
    const start = process.cpuUsage();
    await f();
    const d = process.cpuUsage(start);
    return (d.user + d.system) / 1000;
  };
  const heapMB = (): number => { gc(); return process.memoryUsage().heapUsed / 2 ** 20; };
  const samples: Record<'yamlLibraryParse' | 'readAndValidate' | 'build', number[]> = { yamlLibraryParse: [], readAndValidate: [], build: [] };
  const heap = { configMB: [] as number[], gatewayMB: [] as number[] };
  let reload: Record<string, unknown> = {};
  try {
    for (let r = 0; r < rounds; r++) {
      samples.yamlLibraryParse.push(await cpu(() => parse(text)));
      const base = heapMB();
      let config: ReturnType<typeof loadConfigFile> | undefined;
      samples.readAndValidate.push(await cpu(() => { config = loadConfigFile(file); }));
      await loadPlugins(config!); // the http backend's and kserve's modules, once (not part of the build)
      const read = heapMB();
      let gateway: Gateway | undefined;
      samples.build.push(await cpu(() => { gateway = new Gateway(config!, { log: silentLogger }); }));
      heap.configMB.push(read - base);
      heap.gatewayMB.push(heapMB() - read);
      await gateway!.close();
    }
    reload = await reloadOnce(file, textOf);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const median = (xs: number[]) => Math.round(xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!);
  const out = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, median(v)]));
  return { models, bytes: text.length, cpuMs: out, readAndBuildMs: out.readAndValidate! + out.build!,
    heapAfterBuildMB: { config: median(heap.configMB), gateway: median(heap.gatewayMB) }, reload,
    note: 'CPU ms of one process, median of rounds; yamlLibraryParse is the yaml library alone on the same text (the reader before plain-yaml.ts). ' +
      'heapAfterBuildMB: heap held by the validated config and by the built gateway (after a full GC). reload: wall ms, and the longest gap of a 1 ms timer while it ran.' };
}

// reloadOnce starts a gateway on the file and reloads it with every model's timeoutMs changed.
async function reloadOnce(file: string, textOf: (timeout: string) => string): Promise<Record<string, unknown>> {
  const gateway = new Gateway(loadConfigFile(file), { log: silentLogger, reloadConfig: () => loadOffThread(file) });
  try {
    await gateway.start();
    writeFileSync(file, textOf('20s'));
    let last = performance.now();
    let longest = 0;
    const timer = setInterval(() => {
      const now = performance.now();
      longest = Math.max(longest, now - last);
      last = now;
    }, 1);
    const started = performance.now();
    const result = await gateway.reload();
    const ms = performance.now() - started;
    clearInterval(timer);
    if (!result.ok) throw new Error(`the reload failed: ${result.error}`);
    return { ms: Math.round(ms), longestBlockMs: Math.round(longest), models: Object.keys(gateway.config.models).length };
  } finally {
    await gateway.close();
  }
}

if (import.meta.main) {
  console.log(JSON.stringify(await runConfigBuildBench(), null, 2));
}
