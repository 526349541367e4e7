// run.ts — `npm run fuzz`: FUZZ_RUNS (default 10,000) hostile requests at a gateway serving the
// bundled ONNX model; prints the seed so a failure can be replayed with FUZZ_SEED=…
import fc from 'fast-check';
import { startGateway } from '../support/gateway.ts';
import { checkAnswer, hostileRequestArb, sendRaw } from './hostile.ts';
import { fuzzConfig } from './config.ts';

export async function fuzzGateway(runs: number, seed: number): Promise<{ runs: number; failures: string[]; statuses: Record<string, number>; maxMs: number }> {
  const gw = await startGateway(fuzzConfig);
  const statuses: Record<string, number> = {};
  const failures: string[] = [];
  let maxMs = 0;
  try {
    const samples = fc.sample(hostileRequestArb, { numRuns: runs, seed });
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < samples.length) {
        const req = samples[next++]!;
        const a = await sendRaw(gw.port, req.text);
        maxMs = Math.max(maxMs, a.ms);
        statuses[String(a.status ?? 'closed')] = (statuses[String(a.status ?? 'closed')] ?? 0) + 1;
        const problem = checkAnswer(a, 1000, req);
        if (problem !== undefined && failures.length < 20) failures.push(`${req.description}: ${problem}`);
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    if (gw.process.exitCode !== null) failures.push(`the gateway exited with ${gw.process.exitCode}`);
    const ok = await fetch(`${gw.url}/predict`, { method: 'POST', body: '{"instances": [[5.1,3.5,1.4,0.2]]}' });
    if (ok.status !== 200) failures.push(`a valid request after the run got ${ok.status}`);
  } finally {
    await gw.stop();
  }
  return { runs, failures, statuses, maxMs: Math.round(maxMs) };
}

if (import.meta.main) {
  const runs = Number(process.env.FUZZ_RUNS ?? 10_000);
  const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
  console.log(`fuzz: ${runs} requests, seed ${seed} (replay with FUZZ_SEED=${seed})`);
  const result = await fuzzGateway(runs, seed);
  console.log(JSON.stringify(result, null, 2));
  process.exitCode = result.failures.length === 0 ? 0 : 1;
}
