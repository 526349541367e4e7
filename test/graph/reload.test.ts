// A reload: a graph follows its step models when they change (it calls the new state's handles),
// a graph added by a reload serves at once, and a reload that would make a cycle is refused with
// the running config kept.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startGateway, type RunningGateway } from '../support/gateway.ts';
import { startRowModels, type RowModelServer } from '../support/row-models.ts';

describe('graphs across reloads', () => {
  let models: RowModelServer;
  let gw: RunningGateway;
  const config = (stepModel: string, extra = ''): string => `
frontends: { kserve: {} }
backends:
  rows: { type: http, url: "${models.url}", predictPath: "/m/{model}" }
models:
  step: { targets: [ { backend: rows, model: ${stepModel} } ] }
  g: { graph: { sequence: [step] } }
${extra}`;
  before(async () => {
    models = await startRowModels();
    gw = await startGateway(config('double'));
  });
  after(async () => {
    await gw?.stop();
    await models?.close();
  });

  const predict = async (model: string): Promise<unknown> => {
    const res = await fetch(`${gw.url}/v1/models/${model}:predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"instances": [[1, 2]]}' });
    const text = await res.text();
    assert.equal(res.status, 200, text);
    return (JSON.parse(text) as { predictions: unknown }).predictions;
  };
  // POST /admin/reload: 200 {reloaded: true}, or 400 bad_config with the reason.
  const reload = async (): Promise<{ status: number; body: { reloaded?: boolean; error?: string } }> => {
    const res = await fetch(`${gw.adminUrl}/admin/reload`, { method: 'POST' });
    return { status: res.status, body: await res.json() as { reloaded?: boolean; error?: string } };
  };

  it('follows a step model whose target changed', async () => {
    assert.deepEqual(await predict('g'), [[2, 4]]);
    gw.writeConfig(config('plus1'));
    assert.deepEqual(await reload(), { status: 200, body: { reloaded: true } });
    assert.deepEqual(await predict('step'), [[2, 3]]);
    assert.deepEqual(await predict('g'), [[2, 3]]);
  });

  it('serves a graph a reload added', async () => {
    gw.writeConfig(config('plus1', '  h: { graph: { sequence: [g, step] } }\n'));
    assert.deepEqual(await reload(), { status: 200, body: { reloaded: true } });
    assert.deepEqual(await predict('h'), [[3, 4]]);
  });

  it('refuses a reload that makes a cycle, and keeps serving the running config', async () => {
    gw.writeConfig(config('double', '  h: { graph: { sequence: [g, h] } }\n'));
    const result = await reload();
    assert.equal(result.status, 400);
    assert.match(result.body.error ?? '', /a graph may not call itself: h → h/);
    assert.deepEqual(await predict('h'), [[3, 4]]);
  });
});
