// iris-model.test.ts — the bundled default model (backends/onnx/iris/1/model.onnx, built by
// backends/onnx/build-models.ts) classifies the iris data it was trained on with at least 95%
// accuracy, run in-process with onnxruntime-node over all 150 rows.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';

const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));

test('the committed iris model scores at least 95% on the iris data', async () => {
  const lines = readFileSync(here('../../../backends/onnx/data/iris.csv'), 'utf8').trim().split('\n').slice(1);
  const rows = lines.map((l) => l.split(',').map(Number));
  const features = Float32Array.from(rows.flatMap((r) => r.slice(0, 4)));
  const session = await ort.InferenceSession.create(here('../../../backends/onnx/iris/1/model.onnx'));
  try {
    const out = await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', features, [rows.length, 4]) });
    const labels = Array.from(out.label!.data as BigInt64Array, Number);
    const correct = labels.filter((label, i) => label === rows[i]![4]).length;
    assert.equal(rows.length, 150);
    assert.ok(correct / rows.length >= 0.95, `accuracy ${correct}/${rows.length}`);
  } finally {
    await session.release();
  }
});
