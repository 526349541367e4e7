// matrix.test.ts — every frontend (Vertex, OCI, SageMaker, KServe v1, KServe v2) in front of
// every backend (triton, tfserving, torchserve, http, onnx), through the real gateway process.
// Each answer is checked against what the backend itself computes: the fakes' linear model
// (test/support/fake-*.ts stand in for Triton, TF Serving and TorchServe, which cannot run
// here), the real Flask/gunicorn iris server, and onnxruntime-node run in this process.

import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import ort from 'onnxruntime-node';
import { startFlask, type RunningFlask } from '../support/flask.ts';
import { startFakeTfServing, type FakeTfServing } from '../support/fake-tfserving.ts';
import { startFakeTorchServe, type FakeTorchServe } from '../support/fake-torchserve.ts';
import { linearModel, startFakeTriton, type FakeTriton } from '../support/fake-triton.ts';
import { startGateway, type RunningGateway } from '../support/gateway.ts';
import { everyFrontend } from '../support/gateway-configs.ts';

const rows = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3], [5.9, 3.0, 4.2, 1.5]];
const irisModel = fileURLToPath(new URL('../../backends/onnx/iris/1/model.onnx', import.meta.url));
const json = { 'content-type': 'application/json' };

interface Target {
  /** The backend's line in the backends: block (a function: the servers' URLs come later). */
  backend(): string;
  target: string;
  /** The v2 input name the backend's model takes. */
  input: string;
  /** What the backend computes for `rows`, one prediction per row. */
  expected(): Promise<unknown[]>;
}

let triton: FakeTriton;
let tfs: FakeTfServing;
let torch: FakeTorchServe;
let flask: RunningFlask;

const targets: Record<string, Target> = {
  triton: {
    backend: () => `tri: { type: triton, url: "${triton.url}" }`,
    target: '{ backend: tri, model: linear }', input: 'x',
    expected: async () => linearModel(rows),
  },
  tfserving: {
    backend: () => `tfs: { type: tfserving, url: "${tfs.url}" }`,
    target: '{ backend: tfs, model: linear }', input: 'x',
    expected: async () => linearModel(rows),
  },
  torchserve: {
    backend: () => `ts: { type: torchserve, url: "${torch.url}", metadata: { linear: { inputs: [ { name: x, datatype: FP32, shape: [-1, 4] } ], outputs: [ { name: y, datatype: FP32, shape: [-1, 2] } ] } } }`,
    target: '{ backend: ts, model: linear }', input: 'x',
    expected: async () => linearModel(rows),
  },
  http: {
    backend: () => `flask: { type: http, url: "${flask.url}", predictPath: /predict, healthPath: /health, metadata: { inputs: [ { name: input, datatype: FP32, shape: [-1, 4] } ], outputs: [ { name: predictions, datatype: INT64, shape: [-1] } ] } }`,
    target: '{ backend: flask, model: iris }', input: 'input',
    expected: async () => {
      const r = await fetch(`${flask.url}/predict`, { method: 'POST', headers: json, body: JSON.stringify({ instances: rows }) });
      return ((await r.json()) as { predictions: unknown[] }).predictions;
    },
  },
  onnx: {
    backend: () => `local: { type: onnx, modelPath: "${irisModel}" }`,
    target: '{ backend: local, model: iris }', input: 'input',
    expected: async () => {
      const session = await ort.InferenceSession.create(irisModel);
      const out = await session.run({ input: new ort.Tensor('float32', Float32Array.from(rows.flat()), [rows.length, 4]) });
      const names = session.outputNames;
      await session.release();
      return rows.map((_, i) => Object.fromEntries(names.map((n) => {
        const t = out[n]!;
        const width = t.dims.length > 1 ? t.dims[1]! : 1;
        const values = Array.from(t.data as ArrayLike<number | bigint>, Number).slice(i * width, (i + 1) * width);
        return [n, t.dims.length > 1 ? values : values[0]];
      })));
    },
  },
};

// Each frontend: how to ask for predictions of `rows` from gateway model "m", and read them back.
const frontends: Record<string, (gw: RunningGateway, t: Target) => Promise<unknown[]>> = {
  vertex: (gw) => postRows(`${gw.url}/vertex/predict`),
  oci: (gw) => postRows(`${gw.url}/predict`),
  sagemaker: (gw) => postRows(`${gw.url}/invocations`),
  'kserve v1': (gw) => postRows(`${gw.url}/v1/models/m:predict`),
  'kserve v2': async (gw, t) => {
    const r = await fetch(`${gw.url}/v2/models/m/infer`, {
      method: 'POST', headers: json,
      body: JSON.stringify({ id: 'matrix', inputs: [{ name: t.input, datatype: 'FP32', shape: [rows.length, 4], data: rows.flat() }] }),
    });
    const text = await r.text();
    assert.equal(r.status, 200, text);
    const doc = JSON.parse(text) as { id: string; outputs: Array<{ name: string; shape: number[]; data: unknown[] }> };
    assert.equal(doc.id, 'matrix');
    return tensorsAsRows(doc.outputs);
  },
};

async function postRows(url: string): Promise<unknown[]> {
  const r = await fetch(url, { method: 'POST', headers: json, body: JSON.stringify({ instances: rows }) });
  const text = await r.text();
  assert.equal(r.status, 200, `${url}: ${text}`);
  return (JSON.parse(text) as { predictions: unknown[] }).predictions;
}

// tensorsAsRows reads v2 outputs the way rows are written: one output gives its rows, several
// give objects keyed by output name.
function tensorsAsRows(outputs: Array<{ name: string; shape: number[]; data: unknown[] }>): unknown[] {
  const perOutput = outputs.map((o) => {
    const width = o.shape.slice(1).reduce((a, b) => a * b, 1);
    return Array.from({ length: o.shape[0]! }, (_, i) => (o.shape.length > 1 ? o.data.slice(i * width, (i + 1) * width) : o.data[i]));
  });
  if (outputs.length === 1) return perOutput[0]!;
  return perOutput[0]!.map((_, i) => Object.fromEntries(outputs.map((o, k) => [o.name, perOutput[k]![i]])));
}

function assertClose(actual: unknown, expected: unknown, path = 'predictions'): void {
  if (typeof expected === 'number') {
    assert.equal(typeof actual, 'number', `${path}: ${JSON.stringify(actual)}`);
    assert.ok(Math.abs((actual as number) - expected) <= 1e-5 * Math.max(1, Math.abs(expected)), `${path}: ${actual} vs ${expected}`);
  } else if (Array.isArray(expected)) {
    assert.ok(Array.isArray(actual) && actual.length === expected.length, `${path}: ${JSON.stringify(actual)} vs ${JSON.stringify(expected)}`);
    expected.forEach((e, i) => assertClose((actual as unknown[])[i], e, `${path}[${i}]`));
  } else if (typeof expected === 'object' && expected !== null) {
    assert.deepEqual(Object.keys(actual as object).sort(), Object.keys(expected).sort(), path);
    for (const [k, e] of Object.entries(expected)) assertClose((actual as Record<string, unknown>)[k], e, `${path}.${k}`);
  } else {
    assert.deepEqual(actual, expected, path);
  }
}

const gatewayConfig = (t: Target): string => `
server: { healthIntervalMs: 200, drainDelaySeconds: 0 }
${everyFrontend('m')}
backends:
  ${t.backend()}
models:
  m: { targets: [ ${t.target} ] }
`;

before(async () => {
  [triton, tfs, torch, flask] = await Promise.all([startFakeTriton(), startFakeTfServing(), startFakeTorchServe(), startFlask()]);
});
after(async () => {
  await Promise.allSettled([triton?.close(), tfs?.close(), torch?.close(), flask?.stop()]);
});

for (const [backendName, target] of Object.entries(targets)) {
  describe(`frontends × ${backendName}`, () => {
    let gw: RunningGateway;
    let expected: unknown[];
    before(async () => {
      gw = await startGateway(gatewayConfig(target));
      expected = await target.expected();
    });
    after(async () => { await gw?.stop(); });

    for (const [frontendName, ask] of Object.entries(frontends)) {
      it(`${frontendName} → ${backendName} answers what the backend computed`, async () => {
        assertClose(await ask(gw, target), expected);
      });
    }
  });
}
