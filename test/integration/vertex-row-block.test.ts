// Vertex rows of numbers through the real gateway to Triton (v2 JSON and binary, alone and
// batched) and to ONNX: the answer, and what Triton is sent, are the same whether the body is
// read by the row scanner (a row block) or by the JSON parser as before. A body with an escaped
// key ("\u0078") is one the scanner leaves to the parser, with the same rows: the A/B pair.
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { linearModel, startFakeTriton, type FakeTriton, type RecordedCall } from '../support/fake-triton.ts';
import { startGateway, type RunningGateway } from '../support/gateway.ts';

const bodies = [
  '{"instances": [[0.1, -0, 1e-3, 12345.678], [1.5E2, -7, 0.30000000000000004, 3]]}',
  ' { "instances" : [ [ 5.1 , 3.5 , 1.4 , 0.2 ] ] , "parameters" : { "k" : "v" } } ',
  `{"instances": [${Array.from({ length: 6 }, (_, i) => `[${i / 7}, ${-i}, ${i * 1e-5}, 2.5e1]`).join(',')}]}`,
  // Refused, by the block path or the parser: the same status and message either way.
  '{"instances": [[1, 2, 3]]}',
  '{"instances": [[1, 2, 3, 4], [1, 2, 3]]}',
  '{"instances": [[1, 2, 3, "4"]]}',
  '{"instances": [[9007199254740993, 1, 2, 3]]}',
  '{"instances": [[1e999, 1, 2, 3]]}',
  '{"instances": []}',
];
// parsedForm is the same body with a leading key the scanner does not read, so the parser does.
const parsedForm = (body: string): string => body.replace('{', '{"\\u0078": 0,');

describe('Vertex rows to tensor backends, row block or parsed', () => {
  let triton: FakeTriton;
  const gateways: Record<string, RunningGateway> = {};
  const repo = mkdtempSync(join(tmpdir(), 'row-block-'));
  before(async () => {
    triton = await startFakeTriton();
    mkdirSync(join(repo, 'iris', '1'), { recursive: true });
    symlinkSync(fileURLToPath(new URL('../../backends/onnx/iris/1/model.onnx', import.meta.url)), join(repo, 'iris', '1', 'model.onnx'));
    const configs: Record<string, string> = {
      json: `backends: { tri: { type: triton, url: "${triton.url}", binary: false } }\nmodels: { linear: { targets: [ { backend: tri } ] } }`,
      binary: `backends: { tri: { type: triton, url: "${triton.url}", binary: true } }\nmodels: { linear: { targets: [ { backend: tri } ] } }`,
      batched: `backends: { tri: { type: triton, url: "${triton.url}" } }\nmodels: { linear: { batching: { maxBatchSize: 8, maxQueueDelayMs: 5 }, targets: [ { backend: tri } ] } }`,
      onnx: `backends: { local: { type: onnx, modelRepository: ${repo} } }\nmodels: { linear: { targets: [ { backend: local, model: iris } ] } }`,
    };
    await Promise.all(Object.entries(configs).map(async ([name, yaml]) => {
      gateways[name] = await startGateway(`frontends: { vertex: { model: linear } }\n${yaml}\n`);
    }));
  });
  after(async () => {
    await Promise.all(Object.values(gateways).map((g) => g.stop()));
    await triton?.close();
    rmSync(repo, { recursive: true, force: true });
  });

  const post = async (gw: RunningGateway, body: string): Promise<{ status: number; text: string }> => {
    const res = await fetch(`${gw.url}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    return { status: res.status, text: await res.text() };
  };
  // sent is what Triton got for the last infer, its time-dependent timeout blanked.
  const sent = (call: RecordedCall | undefined): string => (call === undefined ? '' : call.body.toString('latin1').replace(/"timeout":\d+/, '"timeout":0'));
  const lastInfer = (): RecordedCall | undefined => triton.calls.filter((c) => c.url.endsWith('/infer')).at(-1);

  for (const name of ['json', 'binary', 'batched', 'onnx']) {
    it(`${name}: the same answer (and the same Triton body) for every body, block or parsed`, async () => {
      let answered = 0;
      for (const body of bodies) {
        triton.calls.length = 0;
        const block = await post(gateways[name]!, body);
        const blockSent = sent(lastInfer());
        triton.calls.length = 0;
        const parsed = await post(gateways[name]!, parsedForm(body));
        assert.deepStrictEqual(block, parsed, body);
        if (name !== 'onnx') assert.equal(blockSent, sent(lastInfer()), body);
        if (block.status === 200) answered++;
        else assert.ok(block.status === 400, `${body}: ${block.status} ${block.text}`);
        if (bodies.indexOf(body) < 3) assert.equal(block.status, 200, `${body}: ${block.text}`);
      }
      assert.ok(answered >= 3);
    });
  }

  it('answers the linear model\'s values from a row block', async () => {
    const rows = [[0.1, -0, 1e-3, 12345.678], [150, -7, 0.30000000000000004, 3]];
    const res = await post(gateways.binary!, bodies[0]!);
    const doc = JSON.parse(res.text) as { predictions: number[][] };
    assert.deepEqual(doc.predictions, linearModel(rows.map((r) => r.map(Math.fround))));
  });

  it('merges concurrent row blocks into one Triton call and splits the answers back', async () => {
    triton.calls.length = 0;
    const rows = Array.from({ length: 8 }, (_, i) => [i, i / 2, 1, -i]);
    const answers = await Promise.all(rows.map((row) => post(gateways.batched!, JSON.stringify({ instances: [row] }))));
    answers.forEach((a, i) => assert.deepEqual(JSON.parse(a.text), { predictions: linearModel([rows[i]!]) }));
    assert.ok(triton.calls.filter((c) => c.url.endsWith('/infer')).length < 8, 'some rows shared a call');
  });
});
