// The model repository RPCs over gRPC (Triton's RepositoryIndex, RepositoryModelLoad,
// RepositoryModelUnload), through the real gateway with a grpc-js client built from the same
// .proto: the same index, states and admin token as REST's /v2/repository API.
import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { startGateway, type RunningGateway } from '../support/gateway.ts';
import { inferenceClient, type GrpcTestClient } from '../support/grpc-client.ts';

const repo = fileURLToPath(new URL('../../backends/onnx', import.meta.url));
const token = { metadata: { authorization: 'Bearer s3cret' } };

describe('repository RPCs over gRPC', () => {
  let gw: RunningGateway;
  let client: GrpcTestClient;
  let readOnly: RunningGateway;
  before(async () => {
    const models = `backends: { local: { type: onnx, modelRepository: ${repo} } }\nmodels: { iris: { targets: [ { backend: local } ] } }\n`;
    gw = await startGateway(`server: { adminToken: s3cret }\nfrontends: { kserve: {}, grpc: { port: 0, repository: true } }\n${models}`);
    readOnly = await startGateway(`frontends: { grpc: { port: 0 } }\n${models}`);
    client = inferenceClient(gw.grpcPort!);
  });
  after(async () => {
    client?.close();
    await gw?.stop();
    await readOnly?.stop();
  });
  const index = async (ready = false) => (await client.call<{ models: Array<{ name: string; state: string; reason: string }> }>('RepositoryIndex', { ready })).response.models;

  it('lists the models with their state, as REST\'s index does', async () => {
    const rest = await (await fetch(`${gw.url}/v2/repository/index`, { method: 'POST' })).json() as Array<{ name: string; state: string }>;
    assert.deepEqual((await index()).map((m) => `${m.name}:${m.state}`), rest.map((m) => `${m.name}:${m.state}`));
    assert.ok((await index(true)).some((m) => m.name === 'iris' && m.state === 'READY'));
  });

  it('unloads and loads a model behind the admin token', async () => {
    assert.equal((await client.failure('RepositoryModelUnload', { model_name: 'iris' })).code, status.UNAUTHENTICATED);
    await client.call('RepositoryModelUnload', { model_name: 'iris' }, token);
    // Readiness follows the model's state at the next health poll, as over REST.
    const ready = async () => (await client.call<{ ready: boolean }>('ModelReady', { name: 'iris' })).response.ready;
    for (let i = 0; i < 100 && await ready(); i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(await ready(), false);
    assert.ok((await index()).filter((m) => m.name === 'iris').every((m) => m.state === 'UNAVAILABLE'), JSON.stringify(await index()));
    await client.call('RepositoryModelLoad', { model_name: 'iris' }, token);
    for (let i = 0; i < 100 && !await ready(); i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(await ready(), true);
    assert.equal((await client.failure('RepositoryModelLoad', { model_name: '' }, token)).code, status.INVALID_ARGUMENT);
  });

  it('answers load and unload UNIMPLEMENTED, naming the setting, unless frontends.grpc.repository is on', async () => {
    const c = inferenceClient(readOnly.grpcPort!);
    try {
      const err = await c.failure('RepositoryModelUnload', { model_name: 'iris' });
      assert.equal(err.code, status.UNIMPLEMENTED);
      assert.match(err.details, /frontends\.grpc\.repository: true/);
      assert.ok((await c.call<{ models: unknown[] }>('RepositoryIndex', {})).response.models.length > 0, 'the index is always served');
    } finally {
      c.close();
    }
  });
});
