// run.ts — `npm run bench`: runs every scenario in one go and writes bench/results/latest.json.
// Pick scenarios with arguments: node bench/run.ts proxy batching

import { mkdirSync, writeFileSync } from 'node:fs';

const scenarios: Record<string, () => Promise<unknown>> = {
  proxy: async () => (await import('./proxy.ts')).runProxyBench(),
  lowload: async () => (await import('./low-load.ts')).runLowLoadBench(),
  config: async () => (await import('./config-build.ts')).runConfigBuildBench(),
  batching: async () => (await import('./batching.ts')).runBatchingBench(),
  onnx: async () => (await import('./onnx.ts')).runOnnxBench(),
  translation: async () => (await import('./translation.ts')).runTranslationBench(),
  guard: async () => (await import('./guard.ts')).runGuardBench(),
  routing: async () => (await import('./routing.ts')).runRoutingBench(),
  slowloris: async () => (await import('./slowloris.ts')).runSlowlorisBench(),
  transform: async () => (await import('./transform.ts')).runTransformBench(),
  streaming: async () => (await import('./streaming.ts')).runStreamingBench(),
  storage: async () => (await import('./storage.ts')).runStorageBench(),
  grpc: async () => (await import('./grpc.ts')).runGrpcBench(),
  multiModel: async () => (await import('./multi-model.ts')).runMultiModelBench(),
  coldstart: async () => (await import('./coldstart.ts')).runColdStartBench(),
  concurrency: async () => (await import('./concurrency.ts')).runConcurrencyBench(),
  imageSize: async () => (await import('./image-size.ts')).imageBytes(),
};

const wanted = process.argv.slice(2).length > 0 ? process.argv.slice(2) : Object.keys(scenarios);
const results: Record<string, unknown> = { machine: { cpus: (await import('node:os')).cpus().length, node: process.version }, at: new Date().toISOString() };
for (const name of wanted) {
  const run = scenarios[name];
  if (run === undefined) {
    console.error(`unknown scenario ${name}; known: ${Object.keys(scenarios).join(', ')}`);
    process.exitCode = 2;
    continue;
  }
  console.error(`== ${name}`);
  try {
    results[name] = await run();
  } catch (err) {
    results[name] = { error: (err as Error).message };
  }
  console.log(JSON.stringify({ [name]: results[name] }, null, 2));
}
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
writeFileSync(new URL('./results/latest.json', import.meta.url), `${JSON.stringify(results, null, 2)}\n`);
