// image-classifier-model.test.ts — the example's CNN (examples/image-classifier/models/classifier/
// 1/model.onnx, built by backends/onnx/build-models.ts) is the one the builder writes today, and
// names the dominant colour of solid and noisy images, run in-process with onnxruntime-node on
// JPEGs made and decoded with sharp (resized to 32x32, scaled to 0..1, normalized, NCHW).

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { buildImageClassifier, imageClasses, imageMean, imageStd } from '../../../backends/onnx/build-models.ts';

const modelFile = fileURLToPath(new URL('../../../examples/image-classifier/models/classifier/1/model.onnx', import.meta.url));

/** noisyJpeg makes a size×size JPEG of colour `rgb` with uniform noise of ±noise per channel. */
async function noisyJpeg(rgb: number[], noise: number, seed: number, size = 224): Promise<Buffer> {
  let s = seed;
  const rand = (): number => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return s / 2 ** 32; };
  const px = Buffer.alloc(size * size * 3);
  for (let i = 0; i < px.length; i++) px[i] = Math.max(0, Math.min(255, Math.round(rgb[i % 3]! + (rand() - 0.5) * 2 * noise)));
  return sharp(px, { raw: { width: size, height: size, channels: 3 } }).jpeg().toBuffer();
}

async function tensorOf(image: Buffer): Promise<Float32Array> {
  const data = await sharp(image).resize(32, 32, { fit: 'fill' }).removeAlpha().raw().toBuffer();
  const x = new Float32Array(3 * 32 * 32);
  for (let i = 0; i < 32 * 32; i++) for (let c = 0; c < 3; c++) x[c * 1024 + i] = (data[i * 3 + c]! / 255 - imageMean[c]!) / imageStd[c]!;
  return x;
}

test('the committed classifier is the one build-models.ts writes', () => {
  assert.ok(readFileSync(modelFile).equals(buildImageClassifier()), 'run node backends/onnx/build-models.ts and commit the model');
});

test('the classifier names the dominant colour of solid and noisy images, and is unsure of grey', async () => {
  const cases: Array<{ want: string; rgb: number[]; noise: number }> = [
    { want: 'red', rgb: [255, 0, 0], noise: 0 }, { want: 'green', rgb: [0, 255, 0], noise: 0 }, { want: 'blue', rgb: [0, 0, 255], noise: 0 },
    { want: 'red', rgb: [200, 60, 60], noise: 60 }, { want: 'green', rgb: [60, 180, 70], noise: 60 }, { want: 'blue', rgb: [40, 70, 200], noise: 60 },
    { want: 'red', rgb: [160, 110, 100], noise: 90 }, { want: 'green', rgb: [100, 150, 110], noise: 90 }, { want: 'blue', rgb: [90, 100, 150], noise: 90 },
  ];
  const images = await Promise.all([...cases.map((c, i) => noisyJpeg(c.rgb, c.noise, i + 1)), noisyJpeg([128, 128, 128], 0, 99)]);
  const batch = new Float32Array(images.length * 3 * 32 * 32);
  for (const [i, image] of images.entries()) batch.set(await tensorOf(image), i * 3 * 32 * 32);
  const session = await ort.InferenceSession.create(modelFile);
  try {
    assert.deepEqual(session.inputNames, ['image']);
    assert.deepEqual(session.outputNames, ['probabilities']);
    const out = await session.run({ image: new ort.Tensor('float32', batch, [images.length, 3, 32, 32]) });
    const p = out.probabilities!.data as Float32Array;
    assert.deepEqual(out.probabilities!.dims, [images.length, 3]);
    for (const [i, c] of cases.entries()) {
      const row = Array.from(p.subarray(i * 3, i * 3 + 3));
      const best = row.indexOf(Math.max(...row));
      assert.equal(imageClasses[best], c.want, `case ${i} ${c.rgb} ±${c.noise}: ${row}`);
      assert.ok(row[best]! > (c.noise === 0 ? 0.999 : 0.75), `case ${i} is confident enough: ${row}`);
    }
    const grey = Array.from(p.subarray(cases.length * 3));
    for (const v of grey) assert.ok(Math.abs(v - 1 / 3) < 1e-3, `grey is uniform: ${grey}`);
  } finally {
    await session.release();
  }
});
