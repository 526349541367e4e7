// The built-in steps in a real gateway, end to end. Images: a PNG body or base64 instances on
// every predict route go through image → an ONNX model that scores each colour channel by its
// mean (backends/onnx/build-models.ts colourModel) → softmax → topk → labels. Rows: the bundled
// iris model behind scale and labels.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { colourModel } from '../../../backends/onnx/build-models.ts';
import { fixedSix } from '../../../src/transform/builtins/triton-classes.ts';
import { expectError } from '../../support/expect-error.ts';
import { startGateway, type RunningGateway } from '../../support/gateway.ts';
import { bombPng, solidImage } from '../../support/images.ts';

const irisModel = fileURLToPath(new URL('../../../backends/onnx/iris/1/model.onnx', import.meta.url));
const scale = 0.00392156862745098; // 1/255
const dir = mkdtempSync(join(tmpdir(), 'infergate-builtins-'));
let gw: RunningGateway;

before(async () => {
  writeFileSync(join(dir, 'colour.onnx'), colourModel());
  writeFileSync(join(dir, 'colours.txt'), 'red\ngreen\nblue\n');
  writeFileSync(join(dir, 'iris.txt'), 'setosa\nversicolor\nvirginica\n');
  writeFileSync(join(dir, 'scaler.json'), JSON.stringify({ mean_: [1, 2, 3, 4], scale_: [2, 2, 2, 2] }));
  gw = await startGateway(`
frontends:
  kserve: {}
  vertex: { model: colour, predictRoute: /predict, healthRoute: /health }
  sagemaker: { model: colour }
backends:
  images: { type: onnx, modelPath: "${join(dir, 'colour.onnx')}" }
  local: { type: onnx, modelPath: "${irisModel}" }
models:
  colour:
    targets: [ { backend: images } ]
    transform:
      - image: { width: 4, height: 4, scale: ${scale}, maxImages: 2 }
      - softmax: {}
      - topk: { k: 2 }
      - labels: { file: "${join(dir, 'colours.txt')}" }
  iris:
    targets: [ { backend: local } ]
    transform: [ { scale: { file: "${join(dir, 'scaler.json')}" } }, { labels: { file: "${join(dir, 'iris.txt')}" } } ]
`);
});
after(async () => {
  await gw?.stop();
  rmSync(dir, { recursive: true, force: true });
});

// What the chain gives a solid colour: each channel's mean is its scaled sample, the softmax of
// the three (FP32, as the model answers), the two best as Triton strings with their label.
function expectedClasses(rgb: [number, number, number]): string[] {
  const scores = rgb.map((v) => Math.fround(Math.fround(v * scale)));
  const max = Math.max(...scores);
  const exps = scores.map((s) => Math.exp(s - max));
  const sum = exps.reduce((a, b) => a + b, 0);
  const p = exps.map((e) => Math.fround(e / sum));
  const names = ['red', 'green', 'blue'];
  return [0, 1, 2].sort((a, b) => p[b]! - p[a]! || a - b).slice(0, 2).map((i) => `${fixedSix(p[i]!)}:${i}:${names[i]}`);
}

async function post(path: string, body: Buffer | string, contentType: string): Promise<Response> {
  return fetch(`${gw.url}${path}`, { method: 'POST', headers: { 'content-type': contentType }, body });
}

async function predictions(r: Response): Promise<unknown[]> {
  const text = await r.text();
  assert.equal(r.status, 200, text);
  return (JSON.parse(text) as { predictions: unknown[] }).predictions;
}

describe('image → model → softmax → topk → labels', () => {
  it('a PNG body on the Vertex, SageMaker and KServe v1 routes: one image, its two best colours', async () => {
    const red = await solidImage(3, 5, [255, 0, 0]);
    for (const path of ['/predict', '/invocations', '/v1/models/colour:predict']) {
      assert.deepEqual(await predictions(await post(path, red, 'image/png')), [expectedClasses([255, 0, 0])], path);
    }
  });

  it('the same on KServe v2: the answer is the output tensor, BYTES [1, 2]', async () => {
    const r = await post('/v2/models/colour/infer', await solidImage(2, 2, [0, 255, 0]), 'image/png');
    const text = await r.text();
    assert.equal(r.status, 200, text);
    const [out] = (JSON.parse(text) as { outputs: Array<{ name: string; datatype: string; shape: number[]; data: string[] }> }).outputs;
    assert.deepEqual(out, { name: 'scores', datatype: 'BYTES', shape: [1, 2], data: expectedClasses([0, 255, 0]) });
  });

  it('base64 instances are one batch, in order', async () => {
    const red = (await solidImage(2, 2, [255, 0, 0])).toString('base64');
    const blue = (await solidImage(6, 3, [0, 0, 255])).toString('base64');
    const body = JSON.stringify({ instances: [{ b64: red }, { b64: blue }] });
    assert.deepEqual(await predictions(await post('/predict', body, 'application/json')), [expectedClasses([255, 0, 0]), expectedClasses([0, 0, 255])]);
  });

  it('bad images get the step\'s JSON errors: 415 for another type, 400 for a corrupt or extra image, 413 for a bomb', async () => {
    const e415 = await expectError(await post('/predict', 'hello', 'text/plain'), 415, 'unsupported_media_type');
    assert.match(e415.error, /^image: content type "text\/plain" is not an image/);
    const png = (await solidImage(2, 2, [1, 2, 3])).toString('base64');
    const corrupt = JSON.stringify({ instances: [{ b64: png }, { b64: Buffer.from('nope').toString('base64') }] });
    assert.match((await expectError(await post('/predict', corrupt, 'application/json'), 400, 'bad_request')).error, /^image: instance 1 is not a PNG/);
    const three = JSON.stringify({ instances: [png, png, png] });
    assert.match((await expectError(await post('/predict', three, 'application/json'), 400, 'bad_request')).error, /at most 2 per request \(maxImages\)/);
    assert.match((await expectError(await post('/predict', bombPng(20000, 20000), 'image/png'), 413, 'payload_too_large')).error, /20000x20000/);
  });
});

describe('scale → iris → labels', () => {
  it('rows scaled with the sklearn file reach the model as the plain rows would; labels name the class', async () => {
    const rows = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]];
    // The file's (x − mean) / scale turns these back into the rows above.
    const sent = rows.map((r) => r.map((v, i) => v * 2 + [1, 2, 3, 4][i]!));
    const got = await predictions(await post('/v1/models/iris:predict', JSON.stringify({ instances: sent }), 'application/json')) as Array<{ label: string; probabilities: number[] }>;
    assert.deepEqual(got.map((p) => p.label), ['setosa', 'virginica']);
    assert.ok(got[0]!.probabilities[0]! > 0.99, JSON.stringify(got[0]));
  });

  it('a row with the wrong number of features is 400 bad_tensor naming it', async () => {
    const e = await expectError(await post('/v1/models/iris:predict', JSON.stringify({ instances: [[1, 2, 3, 4], [1, 2, 3]] }), 'application/json'), 400, 'bad_tensor');
    assert.equal(e.error, 'scale: row 1 has 3 features; the scaler has 4');
  });
});
