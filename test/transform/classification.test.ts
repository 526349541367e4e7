// The classification stage: Triton's "classification" output parameter answered by the gateway.
// Unit: what goes down (no parameter, no raw body, the client's request untouched), what comes
// back, labels from the model's labels step, and the bad cases. Through the real gateway: the
// ONNX backend with the bundled iris model (with and without a labels step), and the fake
// Triton (which must never see the parameter), with JSON and binary answers.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { fixedSix } from '../../src/transform/builtins/triton-classes.ts';
import { classification } from '../../src/transform/classification.ts';
import type { InferRequest, InferResponse } from '../../src/tensors/tensor.ts';
import type { ModelStageDeps } from '../../src/types.ts';
import { expectError } from '../support/expect-error.ts';
import { linearModel, startFakeTriton, type FakeTriton } from '../support/fake-triton.ts';
import { startGateway, type RunningGateway } from '../support/gateway.ts';
import { rejectsWith, texts } from '../support/step-harness.ts';
import { testContext } from '../guard/context.ts';

const deps = { model: 'iris' } as unknown as ModelStageDeps;
const probs = { name: 'probabilities', datatype: 'FP32' as const, shape: [2, 3], data: Float32Array.from([0.1, 0.7, 0.2, 0.5, 0.2, 0.3]) };
const label = { name: 'label', datatype: 'INT64' as const, shape: [2], data: BigInt64Array.from([1n, 0n]) };

function recording(answer: InferResponse = { outputs: [label, probs] }) {
  const seen: InferRequest[] = [];
  return { seen, next: async (req: InferRequest) => { seen.push(req); return answer; } };
}

describe('classification stage', () => {
  it('sends the outputs down without "classification" and without the raw body; the client\'s request is not changed', async () => {
    const { seen, next } = recording();
    const req: InferRequest = {
      inputs: [], raw: { contentType: 'application/json', body: Buffer.from('{}') },
      outputs: [{ name: 'probabilities', parameters: { classification: 2, binary_data: true } }, { name: 'label' }],
    };
    const snapshot = JSON.stringify(req);
    const res = await classification.create({}, deps).stage(next)(req, testContext().ctx);
    assert.deepEqual(seen[0]!.outputs, [{ name: 'probabilities', parameters: { binary_data: true } }, { name: 'label' }]);
    assert.equal('raw' in seen[0]!, false);
    assert.equal(JSON.stringify(req), snapshot);
    const t = res.outputs!.find((o) => o.name === 'probabilities')!;
    assert.deepEqual({ datatype: t.datatype, shape: t.shape }, { datatype: 'BYTES', shape: [2, 2] });
    assert.deepEqual(texts(t.data), ['0.700000:1', '0.200000:2', '0.500000:0', '0.300000:2']);
    assert.equal(res.outputs!.find((o) => o.name === 'label'), label);
  });

  it('a request without the parameter, or with rows, goes down as it came', async () => {
    const { seen, next } = recording();
    const stage = classification.create({}, deps).stage(next);
    const plain: InferRequest = { inputs: [], outputs: [{ name: 'probabilities', parameters: { binary_data: true } }] };
    const rows: InferRequest = { instances: [[1, 2, 3, 4]] };
    await stage(plain, testContext().ctx);
    await stage(rows, testContext().ctx);
    assert.equal(seen[0], plain);
    assert.equal(seen[1], rows);
  });

  it('labels come from the model\'s labels step ("score:index:label"); an index past them gets none, as Triton does', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'infergate-classification-'));
    after(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'labels.txt');
    writeFileSync(file, 'setosa\nversicolor\n');
    const config = { transform: [{ step: 'softmax', config: {} }, { step: 'labels', config: { file } }] };
    const { next } = recording();
    const res = await classification.create(config, deps).stage(next)({ inputs: [], outputs: [{ name: 'probabilities', parameters: { classification: 3 } }] }, testContext().ctx);
    assert.deepEqual(texts(res.outputs![1]!.data), [
      '0.700000:1:versicolor', '0.200000:2', '0.100000:0:setosa', '0.500000:0:setosa', '0.300000:2', '0.200000:1:versicolor',
    ]);
    await rejectsWith(() => classification.create({ transform: [{ step: 'labels', config: { file: join(dir, 'none.txt') } }] }, deps), 'bad_config', /cannot be read/);
  });

  it('a count that is not an integer 1..1000 is 400 naming the output; nothing goes down', async () => {
    const { seen, next } = recording();
    const stage = classification.create({}, deps).stage(next);
    for (const k of [0, 1001, 2.5, '3', true, null, -1]) {
      await rejectsWith(stage({ inputs: [], outputs: [{ name: 'probabilities', parameters: { classification: k } }] }, testContext().ctx), 'bad_request',
        /^output "probabilities": "classification" must be an integer from 1 to 1000, got /);
    }
    assert.equal(seen.length, 0);
  });

  it('an output the answer lacks, or one that is not numeric, is 400 naming it', async () => {
    const ask = (name: string): InferRequest => ({ inputs: [], outputs: [{ name, parameters: { classification: 1 } }] });
    await rejectsWith(classification.create({}, deps).stage(recording().next)(ask('scores'), testContext().ctx), 'bad_request',
      /^output "scores" asked with "classification" is not in the answer of model "iris"; its outputs: "label", "probabilities"$/);
    const words = { name: 'w', datatype: 'BYTES' as const, shape: [1], data: [new Uint8Array([104])] };
    await rejectsWith(classification.create({}, deps).stage(recording({ outputs: [words] }).next)(ask('w'), testContext().ctx), 'bad_request',
      /^output "w" of model "iris" is BYTES; "classification" needs a numeric output$/);
    await rejectsWith(classification.create({}, deps).stage(recording({ predictions: [1] }).next)(ask('w'), testContext().ctx), 'bad_request',
      /it answered no output tensors$/);
  });
});

describe('classification through the gateway', () => {
  const irisModel = fileURLToPath(new URL('../../backends/onnx/iris/1/model.onnx', import.meta.url));
  const rows = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]];
  let triton: FakeTriton;
  let gw: RunningGateway;

  const dir = mkdtempSync(join(tmpdir(), 'infergate-classification-gw-'));

  before(async () => {
    writeFileSync(join(dir, 'iris.txt'), 'setosa\nversicolor\nvirginica\n');
    triton = await startFakeTriton();
    gw = await startGateway(`
frontends:
  kserve: {}
backends:
  local: { type: onnx, modelPath: "${irisModel}" }
  tri: { type: triton, url: "${triton.url}", binary: false }
models:
  iris: { targets: [ { backend: local, model: iris } ] }
  named: { targets: [ { backend: local, model: iris } ], transform: [ { labels: { file: "${join(dir, 'iris.txt')}", output: label } } ] }
  linear: { targets: [ { backend: tri, model: linear } ] }
`);
  });
  after(async () => {
    await gw?.stop();
    await triton?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const infer = (model: string, input: string, outputs: unknown[]): Promise<Response> => fetch(`${gw.url}/v2/models/${model}/infer`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ inputs: [{ name: input, datatype: 'FP32', shape: [rows.length, 4], data: rows.flat() }], outputs }),
  });
  interface Output { name: string; datatype: string; shape: number[]; data: unknown[] }
  const outputsOf = async (r: Response): Promise<Output[]> => {
    const text = await r.text();
    assert.equal(r.status, 200, text);
    return (JSON.parse(text) as { outputs: Output[] }).outputs;
  };

  it('iris on ONNX: classification 2 gives BYTES "score:index" strings matching the probabilities', async () => {
    const meta = (await (await fetch(`${gw.url}/v2/models/iris`)).json()) as { outputs: Array<{ name: string; datatype: string }> };
    assert.deepEqual(meta.outputs.map((o) => [o.name, o.datatype]), [['label', 'INT64'], ['probabilities', 'FP32']]);
    const [plain] = await outputsOf(await infer('iris', 'input', [{ name: 'probabilities' }]));
    const p = plain!.data as number[];
    const [classes] = await outputsOf(await infer('iris', 'input', [{ name: 'probabilities', parameters: { classification: 2 } }]));
    assert.deepEqual({ datatype: classes!.datatype, shape: classes!.shape }, { datatype: 'BYTES', shape: [2, 2] });
    const expected = [0, 1].flatMap((r) => {
      const row = p.slice(r * 3, r * 3 + 3);
      return [0, 1, 2].sort((a, b) => row[b]! - row[a]! || a - b).slice(0, 2).map((i) => `${fixedSix(row[i]!)}:${i}`);
    });
    assert.deepEqual(classes!.data, expected);
    assert.match(String(classes!.data[0]), /^0\.99\d{4}:0$/); // setosa, as the model says
  });

  it('a model with a labels step: "score:index:label"; the step names its own output as usual', async () => {
    const outputs = await outputsOf(await infer('named', 'input', [{ name: 'probabilities', parameters: { classification: 3 } }, { name: 'label' }]));
    const [classes, names] = outputs;
    assert.deepEqual(classes!.shape, [2, 3]);
    assert.deepEqual(classes!.data.map((s) => String(s).replace(/^[^:]*:/, '')), ['0:setosa', '1:versicolor', '2:virginica', '2:virginica', '1:versicolor', '0:setosa']);
    assert.deepEqual({ datatype: names!.datatype, data: names!.data }, { datatype: 'BYTES', data: ['setosa', 'virginica'] });
  });

  it('asked with binary_data, the classification tensor comes back in the binary framing', async () => {
    const r = await infer('iris', 'input', [{ name: 'probabilities', parameters: { classification: 1, binary_data: true } }]);
    assert.equal(r.status, 200);
    const headerLength = Number(r.headers.get('inference-header-content-length'));
    const bytes = Buffer.from(await r.arrayBuffer());
    const header = JSON.parse(bytes.subarray(0, headerLength).toString()) as { outputs: Array<{ datatype: string; shape: number[]; parameters: { binary_data_size: number } }> };
    assert.deepEqual({ datatype: header.outputs[0]!.datatype, shape: header.outputs[0]!.shape }, { datatype: 'BYTES', shape: [2, 1] });
    const data = bytes.subarray(headerLength);
    assert.equal(data.length, header.outputs[0]!.parameters.binary_data_size);
    const strings: string[] = [];
    for (let at = 0; at < data.length;) {
      const n = data.readUInt32LE(at);
      strings.push(data.subarray(at + 4, at + 4 + n).toString());
      at += 4 + n;
    }
    assert.equal(strings.length, 2);
    assert.match(strings[0]!, /^0\.99\d{4}:0$/);
    assert.match(strings[1]!, /^0\.99\d{4}:2$/);
  });

  it('Triton backend: the server never sees the parameter; the gateway writes the classification', async () => {
    const before = triton.calls.length;
    const [classes] = await outputsOf(await infer('linear', 'x', [{ name: 'y', parameters: { classification: 1 } }]));
    const y = linearModel(rows);
    assert.deepEqual(classes!.data, y.map((row) => (row[0]! >= row[1]! ? `${fixedSix(row[0]!)}:0` : `${fixedSix(row[1]!)}:1`)));
    const sent = triton.calls.slice(before).filter((c) => c.url.endsWith('/infer'));
    assert.equal(sent.length, 1);
    assert.doesNotMatch(sent[0]!.body.toString(), /classification/);
  });

  it('a bad count, or an output the model does not have, is a 400 JSON error', async () => {
    const bad = await expectError(await infer('iris', 'input', [{ name: 'probabilities', parameters: { classification: 0 } }]), 400, 'bad_request');
    assert.match(bad.error, /output "probabilities": "classification" must be an integer from 1 to 1000, got number 0/);
    await expectError(await infer('iris', 'input', [{ name: 'probabilities', parameters: { classification: 'x' } }]), 400, 'bad_request');
    // The ONNX backend knows its outputs and refuses an unknown one itself, before any answer.
    await expectError(await infer('iris', 'input', [{ name: 'scores', parameters: { classification: 2 } }]), 400, 'bad_tensor');
  });
});
