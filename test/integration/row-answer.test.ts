// A model's FP32 rows answer through the real gateway: written straight from the output tensor
// when nothing between the backend and the frontend reads its predictions (codecs/row-answer.ts),
// or from plain arrays when something does (the batcher, a transform). The fake Triton's
// `spectrum` model answers 8 × 16 values a row, of every magnitude, widened to double as Triton
// prints FP32: every way must give the client the bytes JSON.stringify gives for those float32
// values, on Vertex and KServe v1, JSON or binary on the wire; the response limit still holds.
// The built-in ONNX backend's rows answers take the same path: the same bytes as from arrays.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { spectrumRow, startFakeTriton, type FakeTriton } from '../support/fake-triton.ts';
import { startGateway, type RunningGateway } from '../support/gateway.ts';

// Inputs exact in float32, so the fake computes the same from a binary body as from JSON.
const rows = [[0.5, 1, 2, 3], [-3.25, 0.125, 0, 1], [1e3, -2, 5, 6], [0.0078125, 0.0009765625, 9, 10]];
// What the client must read: each row's values nested 8 × 16, as JSON.stringify writes them.
const scalerRepo = fileURLToPath(new URL('../../examples/graphs/models', import.meta.url));
const want = JSON.stringify({ predictions: rows.map((x) => Array.from({ length: 8 }, (_, i) => spectrumRow(x).slice(i * 16, i * 16 + 16))) });

describe('an FP32 rows answer, from the tensor or from arrays', () => {
  let triton: FakeTriton;
  const gateways: Record<string, RunningGateway> = {};
  before(async () => {
    triton = await startFakeTriton();
    const models = (extra: string): string => `models: { spectrum: { ${extra}targets: [ { backend: tri } ] } }`;
    const configs: Record<string, string> = {
      json: `backends: { tri: { type: triton, url: "${triton.url}", binary: false } }\n${models('')}`,
      binary: `backends: { tri: { type: triton, url: "${triton.url}", binary: true } }\n${models('')}`,
      batched: `backends: { tri: { type: triton, url: "${triton.url}" } }\n${models('batching: { maxBatchSize: 8, maxQueueDelayMs: 5 }, ')}`,
      limited: `backends: { tri: { type: triton, url: "${triton.url}" } }\n${models('')}`,
      softmax: `backends: { tri: { type: triton, url: "${triton.url}" } }\nmodels: { spectrum: { transform: [ { softmax: {} } ], targets: [ { backend: tri } ] } }`,
      // The built-in ONNX backend answers rows the same way: the graph example's scaler (4 → 4).
      onnx: `backends: { local: { type: onnx, modelRepository: ${scalerRepo} } }\nmodels: { spectrum: { targets: [ { backend: local, model: scaler } ] } }`,
      onnxBatched: `backends: { local: { type: onnx, modelRepository: ${scalerRepo} } }\nmodels: { spectrum: { batching: { maxBatchSize: 64, maxQueueDelayMs: 5 }, targets: [ { backend: local, model: scaler } ] } }`,
    };
    await Promise.all(Object.entries(configs).map(async ([name, yaml]) => {
      const limit = name === 'limited' ? ', maxResponseBytes: 4kb' : '';
      gateways[name] = await startGateway(`frontends:\n  vertex: { model: spectrum${limit} }\n  kserve: {}\n${yaml}\n`);
    }));
  });
  after(async () => {
    await Promise.all(Object.values(gateways).map((g) => g.stop()));
    await triton?.close();
  });

  const post = async (gw: RunningGateway, path: string, body: unknown): Promise<{ status: number; type: string | null; text: string }> => {
    const res = await fetch(`${gw.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
  };

  for (const name of ['json', 'binary', 'batched']) {
    it(`gives the float32 values as JSON.stringify writes them on every rows frontend (${name})`, async () => {
      const gw = gateways[name]!;
      for (const path of ['/predict', '/v1/models/spectrum:predict']) {
        const res = await post(gw, path, { instances: rows });
        assert.equal(res.status, 200, res.text);
        assert.match(res.type ?? '', /^application\/json/);
        assert.equal(res.text, want, path);
      }
    });
  }

  it('batched beside other requests: each gets its own rows back', async () => {
    const gw = gateways.batched!;
    const answers = await Promise.all(rows.map((x) => post(gw, '/predict', { instances: [x, x] })));
    answers.forEach((res, k) => {
      assert.equal(res.status, 200, res.text);
      const row = Array.from({ length: 8 }, (_, i) => spectrumRow(rows[k]!).slice(i * 16, i * 16 + 16));
      assert.equal(res.text, JSON.stringify({ predictions: [row, row] }));
    });
  });

  it('an answer past the frontend\'s response limit is a 413 naming it, never cut', async () => {
    const res = await post(gateways.limited!, '/predict', { instances: rows });
    assert.equal(res.status, 413, res.text);
    const doc = JSON.parse(res.text) as { code: string; error: string };
    assert.equal(doc.code, 'response_too_large');
    assert.match(doc.error, /above the vertex limit of 4096 bytes \(frontends\.vertex\.maxResponseBytes\)/);
    // One row's answer (about 2.4 KB) fits.
    const one = await post(gateways.limited!, '/predict', { instances: [rows[0]] });
    assert.equal(one.status, 200, one.text);
  });

  it('the ONNX backend: 40 rows from the tensor, the same bytes as from arrays (batched)', async () => {
    const many = Array.from({ length: 40 }, (_, i) => [4 + i / 10, 3 - i / 20, 1 + i / 7, i / 30]);
    const direct = await post(gateways.onnx!, '/predict', { instances: many });
    const batched = await post(gateways.onnxBatched!, '/predict', { instances: many });
    assert.equal(direct.status, 200, direct.text);
    assert.equal(batched.status, 200, batched.text);
    const doc = JSON.parse(direct.text) as { predictions: number[][] };
    assert.equal(doc.predictions.length, 40);
    assert.ok(doc.predictions.every((p) => p.length === 4 && p.every((v) => Number.isFinite(v) && Math.fround(v) === v)));
    assert.equal(direct.text, JSON.stringify(doc));
    assert.equal(direct.text, batched.text);
  });

  it('a transform reads the predictions: it gets them whole, as arrays', async () => {
    const res = await post(gateways.softmax!, '/predict', { instances: rows });
    assert.equal(res.status, 200, res.text);
    const doc = JSON.parse(res.text) as { predictions: number[][][] };
    assert.equal(doc.predictions.length, rows.length);
    for (const p of doc.predictions) {
      assert.equal(p.length, 8);
      for (const v of p) {
        assert.equal(v.length, 16);
        assert.ok(Math.abs(v.reduce((a, b) => a + b, 0) - 1) < 1e-6, 'softmax along the last axis of the model\'s own rows');
      }
    }
  });
});
