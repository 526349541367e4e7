// Interop: an independent gRPC implementation (Debian's python3-grpcio, with stubs generated from
// the project's .proto by python3-grpc-tools at test time into a temp dir) calls the real gateway
// the way tritonclient.grpc does (test/support/triton_style_client.py): health, metadata, a raw
// FP32 infer read back with numpy, an unknown model's NOT_FOUND, and ModelStreamInfer. It uses
// Debian's own interpreter, which sees the Debian packages (a pyenv python3 first on PATH may not).

import assert from 'node:assert/strict';
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { linearModel, startFakeTriton, type FakeTriton } from '../support/fake-triton.ts';
import { startGateway, type RunningGateway } from '../support/gateway.ts';

const python = '/usr/bin/python3';
const protoDir = fileURLToPath(new URL('../../src/codecs/proto/', import.meta.url));
const clientScript = fileURLToPath(new URL('../support/triton_style_client.py', import.meta.url));
const stubs = mkdtempSync(join(tmpdir(), 'grpc-stubs-'));
let triton: FakeTriton;
let gw: RunningGateway;

before(async () => {
  const probe = spawnSync(python, ['-c', 'import grpc, grpc_tools, numpy'], { encoding: 'utf8' });
  assert.equal(probe.status, 0, `the interop test needs Debian's python3-grpcio, python3-grpc-tools and python3-numpy (apt-get install them): ${probe.stderr}`);
  execFileSync(python, ['-m', 'grpc_tools.protoc', `-I${protoDir}`, `--python_out=${stubs}`, `--grpc_python_out=${stubs}`, 'grpc_predict_v2.proto', 'health.proto']);
  triton = await startFakeTriton();
  gw = await startGateway(`
frontends: { grpc: { port: 0 } }
backends: { tri: { type: triton, url: "${triton.url}" } }
models: { linear: { targets: [ { backend: tri } ] } }
`);
});

after(async () => {
  await gw?.stop();
  await triton?.close();
  rmSync(stubs, { recursive: true, force: true });
});

test('a Python grpcio client with generated stubs, called as tritonclient.grpc calls, gets what the protocol says', async () => {
  // Not execFileSync: the fake Triton runs in this process and must keep answering.
  const { stdout: out } = await promisify(execFile)(python, [clientScript, `127.0.0.1:${gw.grpcPort}`, stubs], { encoding: 'utf8', timeout: 60_000 });
  const seen = JSON.parse(out.trim().split('\n').pop()!) as Record<string, any>;
  assert.equal(seen.live, true);
  assert.equal(seen.ready, true);
  assert.equal(seen.server, 'infergate');
  assert.deepEqual(seen.inputs, [['x', 'FP32', [-1, 4]]]);
  assert.equal(seen.model_ready, true);
  assert.equal(seen.id, 'py-1');
  assert.equal(seen.request_id, 'python-interop-1');
  const want = linearModel([[1, 2, 3, 4], [0.5, -1, 2, 8]]);
  (seen.y as number[][]).flat().forEach((v, i) => assert.ok(Math.abs(v - want.flat()[i]!) < 1e-5, `${seen.y} vs ${want}`));
  assert.equal(seen.unknown[0], 'NOT_FOUND');
  assert.match(seen.unknown[1], /model "nope" is not served here; models: "linear"/);
  assert.deepEqual(Object.keys(seen.stream).sort(), ['s0', 's1']);
  assert.equal(seen.stream.s1[0], '');
  (seen.stream.s1[1] as number[][]).flat().forEach((v, i) => assert.ok(Math.abs(v - want[1]![i]!) < 1e-5));
  assert.equal(seen.health, 'SERVING');
});
