// graphs.test.ts — examples/graphs/config.yaml run as shipped (its text, on free ports): the
// sequence scaler → iris-standard and the ensemble of iris and that sequence, checked against
// the answers computed here from the same weights (backends/onnx/build-models.ts trains them
// deterministically): every one of the 150 iris rows, over Vertex rows and KServe v2 tensors.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadIris, trainIris, trainIrisStandard } from '../../backends/onnx/build-models.ts';
import { startGateway, type RunningGateway } from '../support/gateway.ts';

const root = (p: string): string => fileURLToPath(new URL(`../../${p}`, import.meta.url));

const softmax = (v: number[]): number[] => {
  const m = Math.max(...v);
  const e = v.map((x) => Math.exp(x - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / s);
};
const linear = (x: number[], w: number[][], b: number[]): number[] => b.map((bc, c) => bc + x.reduce((s, v, j) => s + v * w[j]![c]!, 0));
const argmax = (v: number[]): number => v.indexOf(Math.max(...v));

// What each model answers for a row of centimetres, computed from the weights the models hold.
const iris = trainIris();
const standard = trainIrisStandard();
const irisP = (x: number[]): number[] => softmax(linear(x, iris.w, iris.b));
const pipelineP = (x: number[]): number[] => softmax(linear(x.map((v, j) => (v - standard.mean[j]!) / standard.std[j]!), standard.w, standard.b));
const { x: rows, y: classes } = loadIris();

function near(actual: number[], expected: number[], what: string): void {
  assert.equal(actual.length, expected.length, what);
  actual.forEach((a, i) => assert.ok(Math.abs(a - expected[i]!) < 1e-5, `${what}[${i}]: ${a} vs ${expected[i]}`));
}

describe('examples/graphs', () => {
  let gw: RunningGateway;
  before(async () => {
    gw = await startGateway(readFileSync(root('examples/graphs/config.yaml'), 'utf8'), {
      env: { INFERGATE_MODEL_REPOSITORY: root('backends/onnx'), INFERGATE_GRAPH_MODELS: root('examples/graphs/models') },
    });
  });
  after(async () => { await gw?.stop(); });

  const v2 = async (model: string, data: number[][]): Promise<Array<{ name: string; datatype: string; shape: number[]; data: number[] }>> => {
    const res = await fetch(`${gw.url}/v2/models/${model}/infer`, { method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [data.length, 4], data: data.flat() }] }) });
    const text = await res.text();
    assert.equal(res.status, 200, text);
    const doc = JSON.parse(text) as { model_name: string; model_version?: string; outputs: Array<{ name: string; datatype: string; shape: number[]; data: number[] }> };
    // The answer is the graph's, not the last step's: no version of a step model in it.
    assert.deepEqual([doc.model_name, doc.model_version], [model, undefined]);
    return doc.outputs;
  };

  it('the sequence answers Vertex rows of centimetres with the classifier\'s label and probabilities, all 150 rows', async () => {
    const res = await fetch(`${gw.url}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ instances: rows }) });
    const text = await res.text();
    assert.equal(res.status, 200, text);
    const { predictions } = JSON.parse(text) as { predictions: Array<{ label: number; probabilities: number[] }> };
    assert.equal(predictions.length, 150);
    predictions.forEach((p, i) => {
      near(p.probabilities, pipelineP(rows[i]!), `row ${i}`);
      assert.equal(p.label, argmax(pipelineP(rows[i]!)), `row ${i}`);
    });
    const correct = predictions.filter((p, i) => p.label === classes[i]).length;
    assert.ok(correct / 150 >= 0.9, `accuracy ${correct}/150`);
  });

  it('the sequence over KServe v2: the client\'s tensor "input" is mapped to the scaler', async () => {
    const outputs = await v2('iris-pipeline', rows.slice(0, 3));
    const byName = Object.fromEntries(outputs.map((o) => [o.name, o]));
    assert.deepEqual(byName.label!.data, rows.slice(0, 3).map((r) => argmax(pipelineP(r))));
    near(byName.probabilities!.data, rows.slice(0, 3).flatMap(pipelineP), 'probabilities');
  });

  it('the ensemble answers the element-wise mean of both classifiers\' probabilities, all 150 rows', async () => {
    const outputs = await v2('iris-ensemble', rows);
    assert.deepEqual(outputs.map((o) => [o.name, o.datatype, o.shape]), [['probabilities', 'FP32', [150, 3]]]);
    near(outputs[0]!.data, rows.flatMap((r) => irisP(r).map((p, c) => (p + pipelineP(r)[c]!) / 2)), 'mean probabilities');
    // The two classifiers differ, so the mean is neither one.
    assert.ok(rows.some((r) => Math.abs(irisP(r)[1]! - pipelineP(r)[1]!) > 0.05));
  });

  it('v2 metadata: the sequence takes "input" and answers the classifier\'s outputs; the ensemble its mean', async () => {
    const pipeline = await (await fetch(`${gw.url}/v2/models/iris-pipeline`)).json() as Record<string, unknown>;
    assert.deepEqual(pipeline.inputs, [{ name: 'input', datatype: 'FP32', shape: [-1, 4] }]);
    assert.deepEqual(pipeline.outputs, [{ name: 'label', datatype: 'INT64', shape: [-1] }, { name: 'probabilities', datatype: 'FP32', shape: [-1, 3] }]);
    const ensemble = await (await fetch(`${gw.url}/v2/models/iris-ensemble`)).json() as Record<string, unknown>;
    assert.deepEqual(ensemble.outputs, [{ name: 'probabilities', datatype: 'FP32', shape: [-1, 3] }]);
  });
});
