// Per-model lifecycle through the real gateway (ONNX backend, real models): a broken model under
// modelLoadErrors: continue answers 503 with its load error on every per-model route while the
// others serve, and the server's health follows readyWhen; under exit the start is refused. The
// repository is symlinked, the version policy decides the versions served and the version routes
// answer for exactly those, the KServe repository API lists, unloads and loads (behind the admin
// token), lazy first calls share one load, and GET / is KServe's liveness.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { startGateway, type RunningGateway } from '../support/gateway.ts';
import { waitFor } from '../support/wait-for.ts';

const irisFile = fileURLToPath(new URL('../../backends/onnx/iris/1/model.onnx', import.meta.url));
const rows = JSON.stringify({ instances: [[5.1, 3.5, 1.4, 0.2]] });
const tensors = JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], data: [5.1, 3.5, 1.4, 0.2] }] });
const json = { 'content-type': 'application/json' };
const token = { authorization: 'Bearer s3cret' };

// A repository whose model folders are symlinks into a shared store (a Kubernetes volume mount).
function makeRepository(): { repo: string; store: string } {
  const store = mkdtempSync(join(tmpdir(), 'model-store-'));
  const repo = mkdtempSync(join(tmpdir(), 'model-repo-'));
  for (const v of ['1', '2', '3']) {
    mkdirSync(join(store, 'iris', v), { recursive: true });
    copyFileSync(irisFile, join(store, 'iris', v, 'model.onnx'));
  }
  mkdirSync(join(store, 'broken', '1'), { recursive: true });
  writeFileSync(join(store, 'broken', '1', 'model.onnx'), 'not a model');
  mkdirSync(join(store, 'unnamed', '1'), { recursive: true });
  copyFileSync(irisFile, join(store, 'unnamed', '1', 'model.onnx'));
  for (const m of ['iris', 'broken', 'unnamed']) symlinkSync(join(store, m), join(repo, m));
  return { repo, store };
}

describe('per-model lifecycle through the gateway', () => {
  const { repo, store } = makeRepository();
  let gw: RunningGateway;
  let any: RunningGateway;
  before(async () => {
    gw = await startGateway(`
server: { modelLoadErrors: continue, readyWhen: all, healthIntervalMs: 100ms, adminToken: s3cret }
frontends: { kserve: { repository: true }, sagemaker: { model: iris } }
backends:
  local: { type: onnx, modelRepository: ${repo}, versions: { iris: { latest: 2 } } }
  lazy: { type: onnx, modelRepository: ${repo}, lazy: true }
dynamicModels: { backend: local, template: { batching: { maxBatchSize: 4 } } }
models:
  iris: { targets: [ { backend: local, versions: any } ] }
  broken: { targets: [ { backend: local } ] }
  later: { targets: [ { backend: lazy, model: iris } ] }
`);
    any = await startGateway(`
server: { modelLoadErrors: continue, readyWhen: any }
frontends: { kserve: {} }
backends: { local: { type: onnx, modelRepository: ${repo}, loadAll: true } }
dynamicModels: { backend: local }
models:
  iris: { targets: [ { backend: local } ] }
  broken: { targets: [ { backend: local } ] }
`);
  });
  after(async () => {
    await gw?.stop();
    await any?.stop();
    rmSync(repo, { recursive: true, force: true });
    rmSync(store, { recursive: true, force: true });
  });

  it('answers GET / as KServe liveness', async () => {
    const res = await fetch(`${gw.url}/`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { status: 'alive' });
  });

  it('serves the symlinked models; the broken one answers 503 with its load error on every per-model route', async () => {
    const ok = await fetch(`${gw.url}/v2/models/iris/infer`, { method: 'POST', headers: json, body: tensors });
    assert.equal(ok.status, 200, await ok.clone().text());
    assert.equal((await fetch(`${gw.url}/v2/models/iris/ready`)).status, 200);
    for (const [method, path, body] of [['GET', '/v2/models/broken/ready'], ['GET', '/v1/models/broken'], ['POST', '/v2/models/broken/infer', tensors], ['POST', '/v1/models/broken:predict', rows]] as const) {
      const res = await fetch(`${gw.url}${path}`, { method, headers: json, ...(body === undefined ? {} : { body }) });
      assert.equal(res.status, 503, `${method} ${path}`);
      assert.match(((await res.json()) as { error: string }).error, /Protobuf parsing failed/, `${method} ${path}`);
    }
  });

  it('reports the server not ready with readyWhen all, and ready with readyWhen any', async () => {
    assert.equal((await fetch(`${gw.url}/v2/health/ready`)).status, 503);
    assert.equal((await fetch(`${gw.url}/ping`)).status, 503);
    assert.equal((await fetch(`${any.url}/v2/health/ready`)).status, 200);
    assert.equal((await fetch(`${any.url}/v2/models/broken/ready`)).status, 503);
  });

  it('loads only the models the config names', async () => {
    assert.equal((await fetch(`${gw.url}/v2/models/unnamed/ready`)).status, 404);
    const status = await (await fetch(`${gw.adminUrl}/admin/status`, { headers: token })).json() as { backends: Record<string, { models: Array<{ name: string }> }> };
    assert.deepEqual([...new Set(status.backends.local!.models.map((m) => m.name))].sort(), ['broken', 'iris']);
  });

  it('with loadAll, serves the repository models the config does not name through the dynamicModels template', async () => {
    const res = await fetch(`${any.url}/v2/models/unnamed/infer`, { method: 'POST', headers: json, body: tensors });
    assert.equal(res.status, 200, await res.clone().text());
    assert.equal((await fetch(`${any.url}/v2/models/unnamed/ready`)).status, 200);
    const index = await (await fetch(`${any.url}/v2/repository/index`, { method: 'POST' })).json() as Array<{ name: string; state: string }>;
    assert.deepEqual(index.map((e) => `${e.name}:${e.state}`), ['broken:UNAVAILABLE', 'iris:READY', 'unnamed:READY']);
  });

  it('answers the version routes for exactly the versions the policy serves', async () => {
    for (const v of ['2', '3']) {
      const res = await fetch(`${gw.url}/v2/models/iris/versions/${v}/ready`);
      assert.equal(res.status, 200, `version ${v}`);
      assert.deepEqual(await res.json(), { name: 'iris', version: v, ready: true });
      const infer = await fetch(`${gw.url}/v2/models/iris/versions/${v}/infer`, { method: 'POST', headers: json, body: tensors });
      assert.equal(infer.status, 200);
      assert.equal(((await infer.json()) as { model_version: string }).model_version, v);
    }
    for (const v of ['1', '7']) {
      for (const path of [`/v2/models/iris/versions/${v}/ready`, `/v2/models/iris/versions/${v}`]) {
        const res = await fetch(`${gw.url}${path}`);
        assert.equal(res.status, 404, path);
        assert.equal(((await res.json()) as { code: string }).code, 'model_not_found');
      }
      const infer = await fetch(`${gw.url}/v2/models/iris/versions/${v}/infer`, { method: 'POST', headers: json, body: tensors });
      assert.equal(infer.status, 404);
    }
  });

  it('lists every model with its state and reason in the repository index', async () => {
    const res = await fetch(`${gw.url}/v2/repository/index`, { method: 'POST' });
    assert.equal(res.status, 200);
    const index = await res.json() as Array<{ name: string; version?: string; state: string; reason: string }>;
    const byKey = new Map(index.map((e) => [`${e.name}/${e.version ?? ''}`, e]));
    assert.equal(byKey.get('iris/2')!.state, 'READY');
    assert.equal(byKey.get('iris/3')!.state, 'READY');
    assert.equal(byKey.get('broken/1')!.state, 'UNAVAILABLE');
    assert.match(byKey.get('broken/1')!.reason, /Protobuf parsing failed/);
    assert.ok(index.every((e) => e.name !== 'unnamed'));
    const ready = await (await fetch(`${gw.url}/v2/repository/index`, { method: 'POST', headers: json, body: '{"ready": true}' })).json() as Array<{ name: string }>;
    assert.ok(ready.every((e) => e.name !== 'broken'));
  });

  it('unloads and loads a model through the repository API, behind the admin token', async () => {
    const denied = await fetch(`${gw.url}/v2/repository/models/iris/unload`, { method: 'POST' });
    assert.equal(denied.status, 401);
    const unload = await fetch(`${gw.url}/v2/repository/models/iris/unload`, { method: 'POST', headers: token });
    assert.equal(unload.status, 200, await unload.clone().text());
    const infer = await fetch(`${gw.url}/v2/models/iris/infer`, { method: 'POST', headers: json, body: tensors });
    assert.equal(infer.status, 503);
    await waitFor(async () => (await fetch(`${gw.url}/v2/models/iris/ready`)).status === 503);
    const index = await (await fetch(`${gw.url}/v2/repository/index`, { method: 'POST' })).json() as Array<{ name: string; state: string; reason: string }>;
    assert.deepEqual(index.filter((e) => e.name === 'iris').map((e) => [e.state, e.reason]), [['UNAVAILABLE', 'unloaded'], ['UNAVAILABLE', 'unloaded']]);
    const load = await fetch(`${gw.url}/v2/repository/models/iris/load`, { method: 'POST', headers: token });
    assert.equal(load.status, 200);
    await waitFor(async () => (await fetch(`${gw.url}/v2/models/iris/ready`)).status === 200);
    assert.equal((await fetch(`${gw.url}/v2/models/iris/infer`, { method: 'POST', headers: json, body: tensors })).status, 200);
    const unknown = await fetch(`${gw.url}/v2/repository/models/nope/load`, { method: 'POST', headers: token });
    assert.equal(unknown.status, 404);
    // Off unless repository: true.
    assert.equal((await fetch(`${any.url}/v2/repository/models/iris/unload`, { method: 'POST' })).status, 404);
  });

  it('loads a repository model the config does not name through the repository API, and unloads it', async () => {
    const path = `${gw.url}/v2/models/unnamed/infer`;
    assert.equal((await fetch(path, { method: 'POST', headers: json, body: tensors })).status, 404);
    const load = await fetch(`${gw.url}/v2/repository/models/unnamed/load`, { method: 'POST', headers: token });
    assert.equal(load.status, 200, await load.clone().text());
    assert.equal((await fetch(path, { method: 'POST', headers: json, body: tensors })).status, 200);
    const index = await (await fetch(`${gw.url}/v2/repository/index`, { method: 'POST' })).json() as Array<{ name: string; state: string }>;
    assert.deepEqual(index.filter((e) => e.name === 'unnamed').map((e) => e.state), ['READY']);
    assert.equal((await fetch(`${gw.url}/v2/repository/models/unnamed/unload`, { method: 'POST', headers: token })).status, 200);
    assert.equal((await fetch(path, { method: 'POST', headers: json, body: tensors })).status, 404);
    assert.equal((await fetch(`${gw.url}/v2/repository/models/unnamed/unload`, { method: 'POST', headers: token })).status, 404);
  });

  it('loads a lazy model once for concurrent first calls', async () => {
    const answers = await Promise.all(Array.from({ length: 6 }, () => fetch(`${gw.url}/v2/models/later/infer`, { method: 'POST', headers: json, body: tensors })));
    assert.deepEqual(answers.map((r) => r.status), [200, 200, 200, 200, 200, 200]);
    const metrics = await (await fetch(`${gw.adminUrl}/metrics`, { headers: token })).text();
    assert.match(metrics, /infergate_model_load_seconds_count\{backend="lazy",model="iris",outcome="ok"\} 1\n/);
    assert.match(metrics, /infergate_model_memory_bytes\{backend="lazy",model="iris"\} [1-9]/);
  });
});

describe('modelLoadErrors: exit', () => {
  const { repo, store } = makeRepository();
  after(() => {
    rmSync(repo, { recursive: true, force: true });
    rmSync(store, { recursive: true, force: true });
  });

  it('refuses to start when a model the config names fails to load, naming the file', async () => {
    const gw = await startGateway(`
frontends: { kserve: {} }
backends: { local: { type: onnx, modelRepository: ${repo} } }
models:
  iris: { targets: [ { backend: local } ] }
  broken: { targets: [ { backend: local } ] }
`, { waitReady: false });
    const exit = await new Promise<number | null>((resolve) => {
      if (gw.process.exitCode !== null) resolve(gw.process.exitCode);
      else gw.process.once('exit', (code) => resolve(code));
    });
    assert.equal(exit, 1);
    assert.match(gw.logs(), /cannot start: .*broken\/1\/model\.onnx.*Protobuf parsing failed/);
    await gw.stop();
  });
});
