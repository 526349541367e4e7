// vertex-preprocess-module.test.ts — the example's transform module (examples/vertex-preprocess/
// transforms/iris.ts) called directly, as the module step calls it: load() reads scaler.json,
// preprocess turns named millimetre records into centimetre rows or refuses a bad record with a
// BadRequestError naming it, postprocess names the class. The gateway path is in
// vertex-preprocess.test.ts.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { load, postprocess, preprocess } from '../../examples/vertex-preprocess/transforms/iris.ts';
import { BadRequestError, badRequest, type TransformContext, type TransformRequest } from '../../src/transform/contract.ts';

const quiet = { info() {}, warn() {}, error() {}, debug() {} };

async function loaded(): Promise<TransformContext> {
  const context: TransformContext = { model: 'iris', options: {}, log: quiet, state: {}, badRequest };
  await load(context);
  return context;
}

function request(instances: unknown[] | undefined): TransformRequest {
  return { instances, headers: {}, contentType: 'application/json' };
}

test('preprocess turns millimetre records into the centimetre rows the model takes, in its column order', async () => {
  const context = await loaded();
  const out = await preprocess(request([
    { sepal_length_mm: 51, sepal_width_mm: 35, petal_length_mm: 14, petal_width_mm: 2 },
    { petal_width_mm: 23, petal_length_mm: 57, sepal_width_mm: 32, sepal_length_mm: 69, note: 'field 7' },
  ]), context);
  assert.deepEqual(out.instances, [[5.1, 3.5, 1.4, 0.2], [6.9, 3.2, 5.7, 2.3]]);
});

test('preprocess refuses a missing, non-numeric or negative measurement with a 400 naming the instance and the feature', async () => {
  const context = await loaded();
  const good = { sepal_length_mm: 51, sepal_width_mm: 35, petal_length_mm: 14, petal_width_mm: 2 };
  const cases: Array<[unknown[] | undefined, RegExp]> = [
    [[good, { sepal_length_mm: 51, sepal_width_mm: 35, petal_length_mm: 14 }], /instance 1 has no "petal_width_mm"/],
    [[{ ...good, sepal_width_mm: '35' }], /instance 0: "sepal_width_mm" must be a length in millimetres .* not "35"/],
    [[{ ...good, petal_length_mm: null }], /instance 0: "petal_length_mm" must be .* not null/],
    [[{ ...good, sepal_length_mm: -1 }], /"sepal_length_mm" must be .* not -1/],
    [[[51, 35, 14, 2]], /instance 0 is not a record of named measurements/],
    [[], /send \{"instances"/],
    [undefined, /send \{"instances"/],
  ];
  for (const [instances, message] of cases) {
    await assert.rejects(async () => preprocess(request(instances), context), (err: unknown) => {
      assert.ok(err instanceof BadRequestError, `a BadRequestError for ${JSON.stringify(instances)}: ${String(err)}`);
      assert.match(err.message, message);
      return true;
    });
  }
});

test('postprocess names the most probable class with its probability, and refuses an answer of the wrong shape', async () => {
  const context = await loaded();
  const req = request([]);
  const out = await postprocess({ predictions: [{ label: 0, probabilities: [0.9, 0.07, 0.03] }, { label: 2, probabilities: [0.01, 0.2, 0.79] }] }, req, context);
  assert.deepEqual(out, { predictions: [{ class: 'setosa', probability: 0.9 }, { class: 'virginica', probability: 0.79 }] });
  assert.throws(() => postprocess({ predictions: [{ label: 0 }] }, req, context), /not \{probabilities/);
  assert.throws(() => postprocess({ outputs: [] }, req, context), /without predictions/);
});
