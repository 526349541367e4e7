// config-build.ts — issue 14's figure: building a config of 20,000 models (850 KB of YAML, one
// line per model). CPU milliseconds of this process (steadier than wall time on shared cores)
// for reading and validating the file, and for building the gateway from it, beside the yaml
// library's parse alone (what reading cost before plain-yaml.ts). Median of BENCH_ROUNDS (5).
// Runnable alone: node bench/config-build.ts

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { Gateway } from '../src/gateway.ts';
import { loadPlugins } from '../src/gateway/plugins.ts';
import { silentLogger } from '../src/observe/log.ts';
import { loadConfigFile } from '../src/schema.ts';

/** runConfigBuildBench times reading and building a 20,000-model config. */
export async function runConfigBuildBench(models = 20_000, rounds = Number(process.env.BENCH_ROUNDS ?? 5)): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), 'infergate-config-'));
  const file = join(dir, 'big.yaml');
  const text = ['frontends: { kserve: {} }', 'backends:', '  b: { type: http, url: http://127.0.0.1:9 }', 'models:',
    ...Array.from({ length: models }, (_, i) => `  m${i}: { targets: [ { backend: b } ] }`)].join('\n') + '\n';
  writeFileSync(file, text);
  const cpu = async (f: () => unknown): Promise<number> => {
    const start = process.cpuUsage();
    await f();
    const d = process.cpuUsage(start);
    return (d.user + d.system) / 1000;
  };
  const samples: Record<'yamlLibraryParse' | 'readAndValidate' | 'build', number[]> = { yamlLibraryParse: [], readAndValidate: [], build: [] };
  try {
    for (let r = 0; r < rounds; r++) {
      samples.yamlLibraryParse.push(await cpu(() => parse(text)));
      let config: ReturnType<typeof loadConfigFile> | undefined;
      samples.readAndValidate.push(await cpu(() => { config = loadConfigFile(file); }));
      await loadPlugins(config!); // the http backend's and kserve's modules, once (not part of the build)
      let gateway: Gateway | undefined;
      samples.build.push(await cpu(() => { gateway = new Gateway(config!, { log: silentLogger }); }));
      await gateway!.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const median = (xs: number[]) => Math.round(xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!);
  const out = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, median(v)]));
  return { models, bytes: text.length, cpuMs: out, readAndBuildMs: out.readAndValidate! + out.build!,
    note: 'CPU ms of one process, median of rounds; yamlLibraryParse is the yaml library alone on the same text (the reader before plain-yaml.ts).' };
}

if (import.meta.main) {
  console.log(JSON.stringify(await runConfigBuildBench(), null, 2));
}
