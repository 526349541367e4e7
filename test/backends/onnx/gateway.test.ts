// The onnx backend behind the real gateway: Vertex rows, KServe v2 metadata and errors, and
// the event loop staying free (health answers) while a long inference runs in a worker.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { buildMlp, identityModel } from '../../../backends/onnx/build-models.ts';
import { startGateway, type RunningGateway } from '../../support/gateway.ts';

describe('onnx backend behind the gateway', () => {
  const repo = mkdtempSync(join(tmpdir(), 'onnx-gateway-'));
  let gw: RunningGateway;
  before(async () => {
    mkdirSync(join(repo, 'iris', '1'), { recursive: true });
    symlinkSync(fileURLToPath(new URL('../../../backends/onnx/iris/1/model.onnx', import.meta.url)), join(repo, 'iris', '1', 'model.onnx'));
    mkdirSync(join(repo, 'mlp', '1'), { recursive: true });
    writeFileSync(join(repo, 'mlp', '1', 'model.onnx'), buildMlp([128, 2048, 2048, 2048, 10]));
    mkdirSync(join(repo, 'ints', '1'), { recursive: true });
    writeFileSync(join(repo, 'ints', '1', 'model.onnx'), identityModel(['INT64', 'UINT64']));
    gw = await startGateway(`
frontends: { kserve: {}, vertex: { model: iris } }
backends: { local: { type: onnx, modelRepository: ${repo}, executionProviders: [cuda, cpu] } }
models:
  iris: { targets: [ { backend: local } ] }
  mlp: { targets: [ { backend: local } ] }
  ints: { targets: [ { backend: local } ] }
`);
  });
  after(async () => {
    await gw?.stop();
    rmSync(repo, { recursive: true, force: true });
  });

  it('answers Vertex instances with classes 0 and 2', async () => {
    const res = await fetch(`${gw.url}/predict`, { method: 'POST', body: '{"instances": [[5.1,3.5,1.4,0.2],[6.7,3.0,5.2,2.3]]}', headers: { 'content-type': 'application/json' } });
    assert.equal(res.status, 200);
    const doc = await res.json() as { predictions: Array<{ label: number; probabilities: number[] }> };
    assert.deepEqual(doc.predictions.map((p) => p.label), [0, 2]);
  });

  it('serves v2 metadata from the session, with the provider in use', async () => {
    const doc = await (await fetch(`${gw.url}/v2/models/iris`)).json() as Record<string, unknown>;
    assert.equal(doc.platform, 'onnx_onnxv1');
    assert.deepEqual(doc.inputs, [{ name: 'input', datatype: 'FP32', shape: [-1, 4] }]);
    assert.deepEqual(doc.parameters, { executionProvider: 'cpu' });
    assert.match(gw.logs(), /falling back to cpu/);
  });

  it('carries INT64 and UINT64 beyond 2^53 through the model over HTTP exactly, as JSON integers', async () => {
    // The text is written by hand: JSON.stringify cannot write these numbers.
    const body = '{"inputs":[' +
      '{"name":"x_INT64","datatype":"INT64","shape":[1,2],"data":[-9223372036854775808,9007199254740993]},' +
      '{"name":"x_UINT64","datatype":"UINT64","shape":[1,2],"data":[0,18446744073709551615]}]}';
    const res = await fetch(`${gw.url}/v2/models/ints/infer`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
    const text = await res.text();
    assert.equal(res.status, 200, text);
    assert.match(text, /"data":\[-9223372036854775808,9007199254740993\]/);
    assert.match(text, /"data":\[0,18446744073709551615\]/);
  });

  it('answers 400 naming what was expected for a wrong shape', async () => {
    const res = await fetch(`${gw.url}/v2/models/iris/infer`, { method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 3], data: [1, 2, 3] }] }) });
    assert.equal(res.status, 400);
    assert.match(((await res.json()) as { error: string }).error, /\[-1, 4\]/);
  });

  it('keeps answering health while a long inference runs', async () => {
    const rows = 4096;
    const body = JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [rows, 128], data: new Array(rows * 128).fill(0.5) }] });
    let inferenceDone = false;
    const long = fetch(`${gw.url}/v2/models/mlp/infer`, { method: 'POST', body, headers: { 'content-type': 'application/json' } })
      .then(async (r) => { await r.arrayBuffer(); inferenceDone = true; return r.status; });
    let answered = 0;
    const during: number[] = [];
    const started = performance.now();
    while (!inferenceDone && answered < 200) {
      const t0 = performance.now();
      const res = await fetch(`${gw.url}/v2/health/ready`);
      await res.arrayBuffer();
      assert.equal(res.status, 200);
      answered++;
      if (!inferenceDone) during.push(performance.now() - t0);
    }
    assert.equal(await long, 200);
    const inferenceMs = performance.now() - started;
    // With session.run on the gateway's own thread, no health answer could arrive before the
    // inference ends, and one would take as long as it. The bounds are loose for shared CI
    // cores; this run's figures are printed.
    during.sort((a, b) => a - b);
    const median = during[Math.floor(during.length / 2)] ?? Infinity;
    const slowest = during.at(-1) ?? Infinity;
    console.log(`health during a ${Math.round(inferenceMs)} ms inference: ${during.length} answers, median ${median.toFixed(1)} ms, slowest ${slowest.toFixed(1)} ms`);
    assert.ok(during.length >= 3, `only ${during.length} health answers while the inference ran`);
    assert.ok(median < 25, `median health answer ${median.toFixed(1)} ms`);
    assert.ok(slowest < inferenceMs / 2, `a health answer took ${slowest.toFixed(1)} ms of a ${Math.round(inferenceMs)} ms inference`);
  });
});

describe('a model file that does not load', () => {
  it('stops the gateway at start with a non-zero exit naming the file and the runtime message', () => {
    const dir = mkdtempSync(join(tmpdir(), 'onnx-broken-'));
    try {
      mkdirSync(join(dir, 'bad', '1'), { recursive: true });
      writeFileSync(join(dir, 'bad', '1', 'model.onnx'), 'this is not a protobuf');
      const config = join(dir, 'config.yaml');
      writeFileSync(config, `
server: { port: 0, adminPort: 0, host: 127.0.0.1 }
frontends: { kserve: {} }
backends: { local: { type: onnx, modelRepository: ${dir} } }
models: { bad: { targets: [ { backend: local } ] } }
`);
      const main = fileURLToPath(new URL('../../../src/main.ts', import.meta.url));
      const out = spawnSync(process.execPath, [main, 'serve', '--config', config], { encoding: 'utf8', timeout: 30_000 });
      assert.notEqual(out.status, 0, 'the gateway exits');
      assert.equal(out.signal, null, 'on its own, not killed by the timeout');
      const logs = out.stdout + out.stderr;
      assert.match(logs, /cannot start/);
      assert.match(logs, /bad\/1\/model\.onnx/);
      assert.doesNotMatch(logs, /\n\s+at .*\.ts:\d+/, 'no stack trace');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
