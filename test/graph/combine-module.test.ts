// An ensemble whose combine is user code (`combine: { module }`), through the real gateway: the
// module gets the members' answers in member order and the request, runs on worker threads with
// its load() and options; badRequest() is 400, any other throw 500 naming the module; the graph
// is not ready until the module has loaded (never, when it exports no combine); `infergate
// check` resolves the path against the config's folder and refuses a module that does not exist.
// And a graph model with a transform module of its own.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { expectError } from '../support/expect-error.ts';
import { startGateway, type RunningGateway } from '../support/gateway.ts';
import { startRowModels, type RowModelServer } from '../support/row-models.ts';
import { waitFor } from '../support/wait-for.ts';

const combineModule = `
export function load(context) { context.state.weight = Number(context.options.weight); }
export function combine(answers, request, context) {
  if (request.parameters?.refuse) throw context.badRequest('the combine module refuses');
  if (request.parameters?.crash) throw new RangeError('the combine module broke');
  if (request.parameters?.own) return { members: answers.length, header: request.headers['x-who'] ?? null };
  // Row by row: the first member's prediction times the weight, plus the others'.
  return { predictions: answers[0].predictions.map((p, i) =>
    p.map((v, j) => v * context.state.weight + answers.slice(1).reduce((s, a) => s + a.predictions[i][j], 0))) };
}
`;

describe('ensembles with a combine module', () => {
  const dir = mkdtempSync(join(tmpdir(), 'graph-combine-'));
  const file = join(dir, 'combine.mjs');
  let models: RowModelServer;
  let gw: RunningGateway;
  before(async () => {
    writeFileSync(file, combineModule);
    writeFileSync(join(dir, 'none.mjs'), 'export function preprocess(r) { return r; }\n');
    writeFileSync(join(dir, 'pre.mjs'), 'export function preprocess(r) { return { instances: r.instances.map((row) => row.map((v) => v * 100)) }; }\n');
    models = await startRowModels();
    gw = await startGateway(`
frontends: { kserve: {} }
backends:
  rows: { type: http, url: "${models.url}", predictPath: "/m/{model}" }
models:
  double: { targets: [ { backend: rows } ] }
  plus1: { targets: [ { backend: rows } ] }
  e: { graph: { ensemble: [double, plus1], combine: { module: ${file}, options: { weight: 10 }, workers: 1 } } }
  no-combine: { graph: { ensemble: [double, plus1], combine: { module: ${join(dir, 'none.mjs')}, workers: 1 } } }
  transformed: { transform: { module: ${join(dir, 'pre.mjs')}, workers: 1 }, graph: { sequence: [double] } }
`);
    await waitFor(async () => (await fetch(`${gw.url}/v2/models/e/ready`)).status === 200);
    await waitFor(async () => (await fetch(`${gw.url}/v2/models/transformed/ready`)).status === 200);
  });
  after(async () => {
    await gw?.stop();
    await models?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const call = (body: unknown, headers: Record<string, string> = {}): Promise<Response> =>
    fetch(`${gw.url}/v1/models/e:predict`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

  it('combines the members\' answers in member order, with the options load() read', async () => {
    const res = await call({ instances: [[1, 2]] });
    // double [2, 4] × 10 + plus1 [2, 3] → [22, 43]
    assert.deepEqual(await res.json(), { predictions: [[22, 43]] });
  });

  it('may answer with a JSON value of its own, and reads the request\'s headers', async () => {
    const res = await call({ instances: [[1]], parameters: { own: true } }, { 'x-who': 'me' });
    assert.deepEqual(await res.json(), { members: 2, header: 'me' });
  });

  it('badRequest() is 400, any other throw is 500 transform_failed, naming the graph and the module', async () => {
    const refused = await expectError(await call({ instances: [[1]], parameters: { refuse: true } }), 400, 'bad_request');
    assert.match(refused.error, /^graph "e": combine module .*combine\.mjs: the combine module refuses$/);
    const broke = await expectError(await call({ instances: [[1]], parameters: { crash: true } }), 500, 'transform_failed');
    assert.match(broke.error, /^graph "e": combine module .*combine\.mjs: combine threw RangeError: the combine module broke$/);
  });

  it('/admin/status shows the module\'s workers under the ensemble', async () => {
    const status = await (await fetch(`${gw.adminUrl}/admin/status`)).json() as { models: Record<string, { graph: { combine: Record<string, unknown> } }> };
    const combine = status.models.e!.graph.combine;
    assert.match(String(combine.module), /combine module .*combine\.mjs/);
    assert.deepEqual([combine.loaded, combine.workers], [true, 1]);
  });

  it('a module that exports no combine keeps its graph not ready: 503 naming why', async () => {
    await waitFor(async () => {
      const status = await (await fetch(`${gw.adminUrl}/admin/status`)).json() as { models: Record<string, { graph: { combine: { error?: string } } }> };
      return status.models['no-combine']!.graph.combine.error !== undefined;
    });
    assert.equal((await fetch(`${gw.url}/v2/models/no-combine/ready`)).status, 503);
    const body = await expectError(await fetch(`${gw.url}/v1/models/no-combine:predict`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"instances": [[1]]}',
    }), 503, 'not_ready');
    assert.match(body.error, /^graph "no-combine": combine module .*none\.mjs: it exports no combine function$/);
  });

  it('a graph model takes a transform too: its preprocess runs before the first step', async () => {
    const res = await fetch(`${gw.url}/v1/models/transformed:predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"instances": [[1, 2]]}' });
    assert.deepEqual(await res.json(), { predictions: [[200, 400]] });
  });

  it('infergate check resolves the module against the config\'s folder, and refuses a missing one or an unknown key', () => {
    const main = fileURLToPath(new URL('../../src/main.ts', import.meta.url));
    const check = (combine: string): { code: number | null; out: string } => {
      const config = join(dir, 'config.yaml');
      writeFileSync(config, `backends: { h: { type: http, url: "http://127.0.0.1:9" } }
models:
  m: { targets: [ { backend: h } ] }
  e: { graph: { ensemble: [m, m], combine: ${combine} } }
`);
      const run = spawnSync(process.execPath, [main, 'check', config], { encoding: 'utf8', timeout: 60_000 });
      return { code: run.status, out: run.stdout + run.stderr };
    };
    const ok = check('{ module: ./combine.mjs }');
    assert.equal(ok.code, 0, ok.out);
    const missing = check('{ module: ./nowhere.mjs }');
    assert.equal(missing.code, 1, missing.out);
    assert.match(missing.out, /models\.e\.graph\.combine: module ".*nowhere\.mjs" does not exist/);
    const unknown = check('{ module: ./combine.mjs, threads: 2 }');
    assert.equal(unknown.code, 1, unknown.out);
    assert.match(unknown.out, /models\.e\.graph\.combine: unknown key "threads"/);
  });
});
