// Run-time model control of a Triton (explicit model control) through the gateway: the gateway's
// KServe repository API passes load and unload on to Triton's repository extension, lists
// Triton's own states, and a model the config does not name is served through the dynamicModels
// template once loaded ("a Triton model of that name"). Triton cannot run here: the stand-in
// (test/support/fake-triton.ts) answers as its protocol documents say.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startFakeTriton, type FakeTriton } from '../support/fake-triton.ts';
import { startGateway, type RunningGateway } from '../support/gateway.ts';
import { waitFor } from '../support/wait-for.ts';

const json = { 'content-type': 'application/json' };
const linear = JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }] });
const double = JSON.stringify({ inputs: [{ name: 'v', datatype: 'FP32', shape: [3], data: [1, 2, 3] }] });

describe('Triton models loaded and unloaded through the gateway', () => {
  let triton: FakeTriton;
  let gw: RunningGateway;
  before(async () => {
    triton = await startFakeTriton();
    triton.unloaded.add('double');
    gw = await startGateway(`
server: { healthIntervalMs: 100ms }
frontends: { kserve: { repository: true } }
backends: { triton: { type: triton, url: "${triton.url}", modelControl: true, binary: false } }
dynamicModels: { backend: triton, maxModels: 4, template: { timeoutMs: 5s } }
models:
  linear: { targets: [ { backend: triton } ] }
`);
  });
  after(async () => {
    await gw?.stop();
    await triton?.close();
  });

  it('lists the models with Triton\'s states', async () => {
    const index = await (await fetch(`${gw.url}/v2/repository/index`, { method: 'POST' })).json() as Array<{ name: string; state: string; reason: string }>;
    assert.deepEqual(index.map((e) => `${e.name}:${e.state}:${e.reason}`), ['channels:READY:', 'double:UNAVAILABLE:unloaded', 'linear:READY:', 'spectrum:READY:']);
  });

  it('unloads and loads a configured model on Triton', async () => {
    assert.equal((await fetch(`${gw.url}/v2/repository/models/linear/unload`, { method: 'POST' })).status, 200);
    assert.ok(triton.calls.some((c) => c.method === 'POST' && c.url === '/v2/repository/models/linear/unload'));
    await waitFor(async () => (await fetch(`${gw.url}/v2/models/linear/ready`)).status === 503);
    assert.equal((await fetch(`${gw.url}/v2/models/linear/infer`, { method: 'POST', headers: json, body: linear })).status, 503);
    assert.equal((await fetch(`${gw.url}/v2/repository/models/linear/load`, { method: 'POST' })).status, 200);
    await waitFor(async () => (await fetch(`${gw.url}/v2/models/linear/ready`)).status === 200);
    const res = await fetch(`${gw.url}/v2/models/linear/infer`, { method: 'POST', headers: json, body: linear });
    assert.equal(res.status, 200);
  });

  it('serves a Triton model the config does not name once loaded, and 404 after its unload', async () => {
    assert.equal((await fetch(`${gw.url}/v2/models/double/infer`, { method: 'POST', headers: json, body: double })).status, 404);
    const load = await fetch(`${gw.url}/v2/repository/models/double/load`, { method: 'POST' });
    assert.equal(load.status, 200, await load.clone().text());
    const res = await fetch(`${gw.url}/v2/models/double/infer`, { method: 'POST', headers: json, body: double });
    assert.equal(res.status, 200, await res.clone().text());
    assert.deepEqual(((await res.json()) as { outputs: Array<{ data: number[] }> }).outputs[0]!.data, [2, 4, 6]);
    assert.equal((await fetch(`${gw.url}/v2/repository/models/double/unload`, { method: 'POST' })).status, 200);
    assert.equal((await fetch(`${gw.url}/v2/models/double/infer`, { method: 'POST', headers: json, body: double })).status, 404);
    assert.ok(triton.unloaded.has('double'));
  });

  it('answers 404 for a model Triton cannot find', async () => {
    const res = await fetch(`${gw.url}/v2/repository/models/nope/load`, { method: 'POST' });
    assert.equal(res.status, 404);
    assert.match(((await res.json()) as { error: string }).error, /failed to poll from model repository/);
  });
});
