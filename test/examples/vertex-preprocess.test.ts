// vertex-preprocess.test.ts — examples/vertex-preprocess/config.yaml run as shipped (in place, on
// free ports): the bundled iris model behind the example's transform module. All 150 iris rows,
// sent in millimetres, come back named with at least 95% accuracy (so the module's scaling is the
// one the model needs); a record with a missing or non-numeric measurement is a 400 naming it;
// the module's scaler was read by load() before /health said ready. (The gateway's `started` line
// can come before the module's load() is done, now that the bundled model loads faster than the
// module's worker starts: the tests begin once /health answers 200, as a platform's probe would.)

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { expectError } from '../support/expect-error.ts';
import { startGatewayFromFile, type RunningGateway } from '../support/gateway.ts';
import { waitFor } from '../support/wait-for.ts';

const root = (p: string): string => fileURLToPath(new URL(`../../${p}`, import.meta.url));
const names = ['setosa', 'versicolor', 'virginica'];
const features = ['sepal_length_mm', 'sepal_width_mm', 'petal_length_mm', 'petal_width_mm'];

// The iris data (centimetres) as the records the example takes: named, in millimetres.
const iris = readFileSync(root('backends/onnx/data/iris.csv'), 'utf8').trim().split('\n').slice(1).map((line) => {
  const v = line.split(',').map(Number);
  return { record: Object.fromEntries(features.map((f, j) => [f, Math.round(v[j]! * 10)])), label: names[v[4]!]! };
});

let gw: RunningGateway;
let predict: string;

before(async () => {
  gw = await startGatewayFromFile(root('examples/vertex-preprocess/config.yaml'), { env: { AIP_PREDICT_ROUTE: '/predict', AIP_HEALTH_ROUTE: '/health', AIP_STORAGE_URI: '' } });
  predict = `${gw.url}/predict`;
  await waitFor(async () => (await fetch(`${gw.url}/health`)).status === 200);
});
after(async () => { await gw.stop(); });

function post(body: unknown): Promise<Response> {
  return fetch(predict, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
}

test('the example names the iris classes of all 150 rows sent in millimetres, with their probabilities', async () => {
  const res = await post({ instances: iris.map((r) => r.record) });
  const text = await res.text();
  assert.equal(res.status, 200, text);
  const doc = JSON.parse(text) as { predictions: Array<{ class: string; probability: number }> };
  assert.equal(doc.predictions.length, 150);
  for (const p of doc.predictions) {
    assert.deepEqual(Object.keys(p).sort(), ['class', 'probability']);
    assert.ok(names.includes(p.class), p.class);
    assert.ok(p.probability > 1 / 3 && p.probability <= 1, String(p.probability));
  }
  const correct = doc.predictions.filter((p, i) => p.class === iris[i]!.label).length;
  assert.ok(correct / 150 >= 0.95, `accuracy ${correct}/150`);
  // One of each class, as the README's curl sends them.
  const one = await post({ instances: [iris[0]!.record, iris[50]!.record, iris[100]!.record] });
  assert.deepEqual(((await one.json()) as { predictions: Array<{ class: string }> }).predictions.map((p) => p.class), names);
});

test('a record without a measurement is a 400 naming the record and the feature', async () => {
  const { petal_width_mm: _gone, ...partial } = iris[0]!.record;
  const body = await expectError(await post({ instances: [iris[1]!.record, partial] }), 400, 'bad_request', 'missing feature');
  assert.match(body.error, /instance 1 has no "petal_width_mm"/);
  assert.match(body.error, /transforms\/iris\.ts/, 'the error names the module');
});

test('a non-numeric measurement, a row that is not a record, and a body without instances are 400s saying what to send', async () => {
  const cases: Array<[unknown, RegExp]> = [
    [{ instances: [{ ...iris[0]!.record, sepal_width_mm: 'wide' }] }, /instance 0: "sepal_width_mm" must be a length in millimetres .*not "wide"/],
    [{ instances: [[51, 35, 14, 2]] }, /instance 0 is not a record of named measurements/],
    [{ records: [iris[0]!.record] }, /send \{"instances": \[\{"sepal_length_mm"/],
  ];
  for (const [doc, message] of cases) {
    const body = await expectError(await post(doc), 400, 'bad_request', JSON.stringify(doc));
    assert.match(body.error, message);
  }
});

test('the model is ready once the module has loaded, and the gateway still answers after the refusals', async () => {
  assert.equal((await fetch(`${gw.url}/health`)).status, 200);
  const res = await post({ instances: [iris[120]!.record] });
  assert.equal(res.status, 200);
  assert.equal(((await res.json()) as { predictions: Array<{ class: string }> }).predictions[0]!.class, iris[120]!.label);
});
