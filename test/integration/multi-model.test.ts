// SageMaker multi-model endpoints through the real gateway, as SageMaker drives the container
// (https://docs.aws.amazon.com/sagemaker/latest/dg/mms-container-apis.html): load → list → get →
// invoke → invoke through X-Amzn-SageMaker-Target-Model → unload → invoke again = 404; 409 for a
// second load, paging with next_page_token, least-recently-used eviction under maxModelsMemory,
// 507 when the budget refuses, unknown target models, concurrent loads of one model, and an
// unload while invocations are in flight (they finish).
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { buildMlp } from '../../backends/onnx/build-models.ts';
import { startGateway, type RunningGateway } from '../support/gateway.ts';
import { waitFor } from '../support/wait-for.ts';

const irisFile = fileURLToPath(new URL('../../backends/onnx/iris/1/model.onnx', import.meta.url));
// What the onnx backend counts for one loaded iris with workerMemory 0: its file, one worker.
const irisBytes = statSync(irisFile).size;
const json = { 'content-type': 'application/json' };
const rows = JSON.stringify({ instances: [[6.7, 3.0, 5.2, 2.3]] });

// SageMaker downloads each model to /opt/ml/models/<name>/model; these folders stand in for it.
function modelFolders(names: string[]): string {
  const root = mkdtempSync(join(tmpdir(), 'opt-ml-models-'));
  for (const n of names) {
    mkdirSync(join(root, n, 'model'), { recursive: true });
    copyFileSync(irisFile, join(root, n, 'model', 'model.onnx'));
  }
  return root;
}

const load = (gw: RunningGateway, name: string, url: string): Promise<Response> =>
  fetch(`${gw.url}/models`, { method: 'POST', headers: json, body: JSON.stringify({ model_name: name, url }) });
// names lists the loaded models, page after page.
async function names(gw: RunningGateway): Promise<string[]> {
  const out: string[] = [];
  let token: string | undefined;
  do {
    const page = await (await fetch(`${gw.url}/models${token === undefined ? '' : `?next_page_token=${token}`}`)).json() as { models: Array<{ modelName: string }>; nextPageToken?: string };
    out.push(...page.models.map((m) => m.modelName));
    token = page.nextPageToken;
  } while (token !== undefined);
  return out;
}

describe('SageMaker multi-model endpoint', () => {
  const root = modelFolders(['a', 'b', 'c', 'd', 'e']);
  const empty = mkdtempSync(join(tmpdir(), 'empty-repo-'));
  let gw: RunningGateway;
  before(async () => {
    mkdirSync(join(root, 'big', 'model'), { recursive: true });
    writeFileSync(join(root, 'big', 'model', 'model.onnx'), buildMlp([256, 1024, 1024, 10]));
    gw = await startGateway(`
frontends: { sagemaker: { multiModel: true, pageSize: 2 } }
backends: { mme: { type: onnx, modelRepository: ${empty}, workerMemory: 0 } }
dynamicModels: { backend: mme, maxModelsMemory: ${irisBytes * 3}, whenFull: evict, template: { batching: { maxBatchSize: 8 } } }
models: {}
`);
  });
  after(async () => {
    await gw?.stop();
    rmSync(root, { recursive: true, force: true });
    rmSync(empty, { recursive: true, force: true });
  });

  it('runs the call sequence SageMaker makes', async () => {
    assert.equal((await fetch(`${gw.url}/ping`)).status, 200);
    const url = join(root, 'a', 'model');
    const loaded = await load(gw, 'a', url);
    assert.equal(loaded.status, 200, await loaded.clone().text());
    assert.equal((await load(gw, 'a', url)).status, 409);
    assert.deepEqual(await (await fetch(`${gw.url}/models`)).json(), { models: [{ modelName: 'a', modelUrl: url }] });
    assert.deepEqual(await (await fetch(`${gw.url}/models/a`)).json(), { modelName: 'a', modelUrl: url });
    const invoked = await fetch(`${gw.url}/models/a/invoke`, { method: 'POST', headers: { ...json, 'x-amzn-sagemaker-target-model': 'a.tar.gz' }, body: rows });
    assert.equal(invoked.status, 200);
    assert.equal(((await invoked.json()) as { predictions: Array<{ label: number }> }).predictions[0]!.label, 2);
    const targeted = await fetch(`${gw.url}/invocations`, { method: 'POST', headers: { ...json, 'x-amzn-sagemaker-target-model': 'a.tar.gz' }, body: rows });
    assert.equal(targeted.status, 200);
    assert.equal((await fetch(`${gw.url}/models/a`, { method: 'DELETE' })).status, 200);
    assert.equal((await fetch(`${gw.url}/models/a`)).status, 404);
    assert.equal((await fetch(`${gw.url}/models/a`, { method: 'DELETE' })).status, 404);
    const again = await fetch(`${gw.url}/models/a/invoke`, { method: 'POST', headers: json, body: rows });
    assert.equal(again.status, 404);
    assert.equal(((await again.json()) as { code: string }).code, 'model_not_found');
  });

  it('answers an unknown target model with 404 and the loaded list, never another model', async () => {
    assert.equal((await load(gw, 'b', join(root, 'b', 'model'))).status, 200);
    const res = await fetch(`${gw.url}/invocations`, { method: 'POST', headers: { ...json, 'x-amzn-sagemaker-target-model': 'nope.tar.gz' }, body: rows });
    assert.equal(res.status, 404);
    assert.deepEqual(await res.json(), { code: 'model_not_found', error: 'model "nope.tar.gz" is not loaded; loaded models: "b"' });
    const bare = await fetch(`${gw.url}/invocations`, { method: 'POST', headers: json, body: rows });
    assert.equal(bare.status, 400, 'no default model on a multi-model endpoint');
  });

  it('refuses bad load bodies with 400', async () => {
    for (const body of ['{}', '{"model_name": "x"}', '{"model_name": "../x", "url": "/tmp"}', '{"model_name": "x", "url": "relative"}', '[1]']) {
      const res = await fetch(`${gw.url}/models`, { method: 'POST', headers: json, body });
      assert.equal(res.status, 400, body);
    }
    assert.equal((await load(gw, 'x', join(root, 'nothing-here'))).status, 400);
  });

  it('pages the list with next_page_token', async () => {
    for (const n of ['c', 'd']) assert.equal((await load(gw, n, join(root, n, 'model'))).status, 200);
    const first = await (await fetch(`${gw.url}/models`)).json() as { models: Array<{ modelName: string }>; nextPageToken?: string };
    assert.deepEqual(first.models.map((m) => m.modelName), ['b', 'c']);
    assert.ok(first.nextPageToken !== undefined);
    const second = await (await fetch(`${gw.url}/models?next_page_token=${first.nextPageToken}`)).json() as { models: Array<{ modelName: string }>; nextPageToken?: string };
    assert.deepEqual(second.models.map((m) => m.modelName), ['d']);
    assert.equal(second.nextPageToken, undefined);
  });

  it('evicts the least recently used model when a load does not fit the budget', async () => {
    // b, c, d fill the budget of three; b is used now, so c is the least recently used.
    assert.equal((await fetch(`${gw.url}/models/b/invoke`, { method: 'POST', headers: json, body: rows })).status, 200);
    assert.equal((await load(gw, 'e', join(root, 'e', 'model'))).status, 200);
    assert.deepEqual(await names(gw), ['b', 'd', 'e']);
    assert.equal((await fetch(`${gw.url}/models/c/invoke`, { method: 'POST', headers: json, body: rows })).status, 404);
    const metrics = await (await fetch(`${gw.adminUrl}/metrics`)).text();
    assert.match(metrics, /infergate_model_evictions_total 1\n/);
    // Caller-chosen names stay out of metric labels.
    assert.doesNotMatch(metrics, /model="[bcde]"/);
    const status = await (await fetch(`${gw.adminUrl}/admin/status`)).json() as { dynamicModels: { usedBytes: number; models: Record<string, unknown> } };
    assert.equal(status.dynamicModels.usedBytes, irisBytes * 3);
    assert.deepEqual(Object.keys(status.dynamicModels.models).sort(), ['b', 'd', 'e']);
  });

  it('answers 507 for a model larger than the whole budget', async () => {
    const res = await load(gw, 'big', join(root, 'big', 'model'));
    assert.equal(res.status, 507);
    assert.equal(((await res.json()) as { code: string }).code, 'insufficient_memory');
    assert.deepEqual(await names(gw), ['b', 'd', 'e']);
  });

  it('loads a model once when loads of it come together: one 200, the others 409', async () => {
    for (const n of ['b', 'd', 'e']) await fetch(`${gw.url}/models/${n}`, { method: 'DELETE' });
    const url = join(root, 'c', 'model');
    const answers = await Promise.all(Array.from({ length: 5 }, () => load(gw, 'c', url)));
    assert.deepEqual(answers.map((r) => r.status).sort(), [200, 409, 409, 409, 409]);
    assert.deepEqual(await names(gw), ['c']);
  });
});

describe('SageMaker multi-model endpoint with whenFull: refuse', () => {
  const root = modelFolders(['a', 'b']);
  const empty = mkdtempSync(join(tmpdir(), 'empty-repo-'));
  const config = (maxModels: number, version = '1'): string => `
version: "${version}"
frontends: { sagemaker: { multiModel: true } }
backends: { mme: { type: onnx, modelRepository: ${empty} } }
dynamicModels: { backend: mme, whenFull: refuse, maxModels: ${maxModels} }
models: {}
`;
  let gw: RunningGateway;
  before(async () => {
    mkdirSync(join(root, 'big', 'model'), { recursive: true });
    writeFileSync(join(root, 'big', 'model', 'model.onnx'), buildMlp([256, 1024, 1024, 10]));
    gw = await startGateway(config(1));
  });
  after(async () => {
    await gw?.stop();
    rmSync(root, { recursive: true, force: true });
    rmSync(empty, { recursive: true, force: true });
  });

  it('answers 507 and keeps what is loaded; after an unload the load fits', async () => {
    assert.equal((await load(gw, 'a', join(root, 'a', 'model'))).status, 200);
    const refused = await load(gw, 'b', join(root, 'b', 'model'));
    assert.equal(refused.status, 507);
    assert.deepEqual(await names(gw), ['a']);
    assert.equal((await fetch(`${gw.url}/models/a`, { method: 'DELETE' })).status, 200);
    assert.equal((await load(gw, 'b', join(root, 'b', 'model'))).status, 200);
  });

  it('unloads only after the invocations in flight finish, and none is lost', async () => {
    await fetch(`${gw.url}/models/b`, { method: 'DELETE' });
    assert.equal((await load(gw, 'big', join(root, 'big', 'model'))).status, 200);
    const n = 2048;
    const body = JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [n, 256], data: new Array(n * 256).fill(0.5) }] });
    const calls = Array.from({ length: 4 }, () => fetch(`${gw.url}/models/big/invoke`, { method: 'POST', headers: json, body })
      .then(async (r) => ({ status: r.status, shape: ((await r.json()) as { outputs?: Array<{ shape: number[] }> }).outputs?.[0]?.shape })));
    // The unload is sent once calls are in the model (/admin/status counts them): those finish
    // with their answer; one arriving after the unload began finds no model (404), none is cut off.
    let inModel = 0;
    await waitFor(async () => {
      const status = await (await fetch(`${gw.adminUrl}/admin/status`)).json() as { dynamicModels: { models: Record<string, { inFlight: number }> } };
      inModel = status.dynamicModels.models.big?.inFlight ?? 0;
      return inModel > 0;
    });
    const unload = await fetch(`${gw.url}/models/big`, { method: 'DELETE' });
    assert.equal(unload.status, 200);
    const answers = await Promise.all(calls);
    for (const a of answers) assert.ok(a.status === 200 ? a.shape?.[0] === n && a.shape[1] === 10 : a.status === 404, JSON.stringify(a));
    assert.ok(answers.filter((a) => a.status === 200).length >= inModel, `${inModel} calls were in the model at the unload: ${JSON.stringify(answers)}`);
    assert.equal((await fetch(`${gw.url}/models/big/invoke`, { method: 'POST', headers: json, body })).status, 404);
  });

  it('keeps the loaded models over a reload that keeps dynamicModels, and unloads them when it changes', async () => {
    assert.equal((await load(gw, 'a', join(root, 'a', 'model'))).status, 200);
    const reload = async (yaml: string): Promise<void> => {
      gw.writeConfig(yaml);
      const res = await fetch(`${gw.adminUrl}/admin/reload`, { method: 'POST' });
      assert.equal(res.status, 200, await res.clone().text());
    };
    await reload(config(1, '2'));
    assert.deepEqual(await names(gw), ['a']);
    assert.equal((await fetch(`${gw.url}/models/a/invoke`, { method: 'POST', headers: json, body: rows })).status, 200);
    await reload(config(2, '3'));
    assert.deepEqual(await names(gw), []);
    assert.equal((await load(gw, 'a', join(root, 'a', 'model'))).status, 200);
    assert.equal((await fetch(`${gw.url}/models/a/invoke`, { method: 'POST', headers: json, body: rows })).status, 200);
  });
});
