// grpc.ts — issue 19's benchmark: ModelInfer with a 150 KB FP32 tensor ([19200, 2], an ONNX
// identity model built by backends/onnx/build-models.ts into a temp folder) through the gateway
// to its onnx backend, three ways, against the same gateway process:
//   - grpc: inference.GRPCInferenceService/ModelInfer with raw_input_contents (a grpc-js client);
//   - restBinary: POST /v2/models/{m}/infer with Triton's binary tensor extension both ways;
//   - restJson: POST /v2/models/{m}/infer with v2 JSON both ways.
// Closed loop, `inFlight` calls at once, each answer checked for its size. The figure is calls
// per gateway CPU-second (the gateway's user+system time from /proc, its ONNX worker included):
// on a machine whose cores are shared that is steadier than calls per second, and it is the cost
// the protocol puts on the gateway. Target: grpc ≥ 1.5 × restJson.
// Runnable alone: node bench/grpc.ts   (BENCH_SECONDS per way, default 10)

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import { identityModel } from '../backends/onnx/build-models.ts';
import { startGateway } from '../test/support/gateway.ts';
import { inferenceClient } from '../test/support/grpc-client.ts';
import { cpuTicks } from './support/cpu.ts';

const rows = 19_200; // × 2 FP32 = 153 600 bytes
const model = 'identity';

/** runGrpcBench measures the three ways and gives calls per gateway CPU-second for each, and the ratios. */
export async function runGrpcBench(seconds = Number(process.env.BENCH_SECONDS ?? 10), inFlight = 4): Promise<Record<string, unknown>> {
  const repo = mkdtempSync(join(tmpdir(), 'bench-grpc-'));
  mkdirSync(join(repo, model, '1'), { recursive: true });
  writeFileSync(join(repo, model, '1', 'model.onnx'), identityModel(['FP32']));
  const gw = await startGateway(`
server: { maxBodyBytes: 8mb, logLevel: info }
frontends: { kserve: {}, grpc: { port: 0 } }
backends: { local: { type: onnx, modelRepository: ${repo} } }
models: { ${model}: { targets: [ { backend: local } ] } }
`);
  const values = new Float32Array(rows * 2).map((_, i) => (i % 1000) / 7);
  const raw = Buffer.from(values.buffer);
  const grpc = inferenceClient(gw.grpcPort!, { 'grpc.max_receive_message_length': 16 * 1024 * 1024 });
  const pool = new Pool(gw.url, { connections: inFlight });
  const grpcRequest = { model_name: model, inputs: [{ name: 'x_FP32', datatype: 'FP32', shape: [rows, 2] }], raw_input_contents: [raw] };
  const header = Buffer.from(JSON.stringify({
    inputs: [{ name: 'x_FP32', datatype: 'FP32', shape: [rows, 2], parameters: { binary_data_size: raw.length } }],
    outputs: [{ name: 'y_FP32', parameters: { binary_data: true } }],
  }));
  const binaryBody = Buffer.concat([header, raw]);
  const jsonBody = JSON.stringify({ inputs: [{ name: 'x_FP32', datatype: 'FP32', shape: [rows, 2], data: Array.from(values) }] });
  const rest = async (body: Buffer | string, headers: Record<string, string>, check: (text: Buffer, headers: Record<string, unknown>) => boolean): Promise<void> => {
    const res = await pool.request({ method: 'POST', path: `/v2/models/${model}/infer`, body, headers });
    const bytes = Buffer.from(await res.body.arrayBuffer());
    if (res.statusCode !== 200 || !check(bytes, res.headers)) throw new Error(`REST answered ${res.statusCode}: ${bytes.subarray(0, 200).toString()}`);
  };
  const ways: Record<string, () => Promise<void>> = {
    grpc: async () => {
      const { response } = await grpc.call<{ raw_output_contents: Buffer[] }>('ModelInfer', grpcRequest);
      if (response.raw_output_contents[0]?.length !== raw.length) throw new Error('gRPC answer of the wrong size');
    },
    restBinary: () => rest(binaryBody, { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(header.length) },
      (bytes, h) => bytes.length - Number(h['inference-header-content-length']) === raw.length),
    restJson: () => rest(jsonBody, { 'content-type': 'application/json' }, (bytes) => bytes.length > raw.length),
  };
  const results: Record<string, { calls: number; gatewayCpuSeconds: number; callsPerGatewayCpuSecond: number; callsPerSecond: number }> = {};
  try {
    for (const [name, once] of Object.entries(ways)) {
      for (let i = 0; i < 5; i++) await once(); // warm-up, and the answer checked
      results[name] = await closedLoop(once, gw.process.pid!, seconds * 1000, inFlight);
      console.error(`grpc bench ${name}: ${JSON.stringify(results[name])}`);
    }
  } finally {
    grpc.close();
    await pool.close();
    await gw.stop();
    rmSync(repo, { recursive: true, force: true });
  }
  const per = (k: string): number => results[k]!.callsPerGatewayCpuSecond;
  return {
    tensorBytes: raw.length, inFlight, seconds, ...results,
    grpcOverRestJson: round(per('grpc') / per('restJson')), grpcOverRestBinary: round(per('grpc') / per('restBinary')),
    target: 'grpcOverRestJson ≥ 1.5',
  };
}

// closedLoop keeps `inFlight` calls going for ms milliseconds and counts the gateway's CPU meanwhile.
async function closedLoop(once: () => Promise<void>, pid: number, ms: number, inFlight: number): Promise<{ calls: number; gatewayCpuSeconds: number; callsPerGatewayCpuSecond: number; callsPerSecond: number }> {
  const ticks0 = cpuTicks([pid]);
  const t0 = performance.now();
  let calls = 0;
  await Promise.all(Array.from({ length: inFlight }, async () => {
    while (performance.now() - t0 < ms) {
      await once();
      calls++;
    }
  }));
  const wall = (performance.now() - t0) / 1000;
  const cpu = (cpuTicks([pid]) - ticks0) / 100;
  return { calls, gatewayCpuSeconds: round(cpu), callsPerGatewayCpuSecond: round(calls / Math.max(cpu, 0.01)), callsPerSecond: round(calls / wall) };
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) console.log(JSON.stringify(await runGrpcBench(), null, 2));
