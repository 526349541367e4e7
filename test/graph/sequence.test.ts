// A sequence graph through the real gateway: rows feed the next step as instances (as they are,
// or fields renamed by a map), tensors by name, by map, or one output to one input; a step that
// fails is named; a graph can be a step of another; v2 metadata comes from the first and last steps.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { expectError } from '../support/expect-error.ts';
import { startGateway, type RunningGateway } from '../support/gateway.ts';
import { startRowModels, type RowModelServer } from '../support/row-models.ts';

const spec = (name: string): string => `{ name: ${name}, datatype: FP32, shape: [-1, 2] }`;
// An http backend answering tensors: one path of the row-model server, with the metadata that names its tensors.
const tensorBackend = (url: string, path: string, inputs: string[], outputs: string[]): string =>
  `{ type: http, url: "${url}", predictPath: /m/${path}, metadata: { inputs: [${inputs.map(spec).join(', ')}], outputs: [${outputs.map(spec).join(', ')}] } }`;

describe('sequence graphs', () => {
  let models: RowModelServer;
  let gw: RunningGateway;
  before(async () => {
    models = await startRowModels();
    const u = models.url;
    gw = await startGateway(`
frontends: { kserve: {} }
backends:
  rows: { type: http, url: "${u}", predictPath: "/m/{model}" }
  tx: ${tensorBackend(u, 'double', ['x'], ['y'])}
  ty: ${tensorBackend(u, 'plus1', ['y'], ['z'])}
  tw: ${tensorBackend(u, 'neg', ['w'], ['out'])}
  tpair: ${tensorBackend(u, 'pair', ['x'], ['y1', 'y2'])}
models:
  double: { targets: [ { backend: rows } ] }
  plus1: { targets: [ { backend: rows } ] }
  sum: { targets: [ { backend: rows } ] }
  pair: { targets: [ { backend: rows } ] }
  value10: { targets: [ { backend: rows } ] }
  broken: { targets: [ { backend: rows } ] }
  tdouble: { targets: [ { backend: tx } ] }
  tplus1: { targets: [ { backend: ty } ] }
  tneg: { targets: [ { backend: tw } ] }
  tpair: { targets: [ { backend: tpair } ] }
  rows-seq: { graph: { sequence: [double, plus1, sum] } }
  rows-map: { graph: { sequence: [pair, { model: value10, map: { value: y2 } }] } }
  by-name: { graph: { sequence: [tdouble, tplus1] } }
  auto: { graph: { sequence: [tdouble, tneg] } }
  mapped: { graph: { sequence: [tpair, { model: tneg, map: { w: y2 } }] } }
  unmatched: { graph: { sequence: [tpair, tneg] } }
  bad-map: { graph: { sequence: [tdouble, { model: tneg, map: { w: nothing } }] } }
  first-map: { graph: { sequence: [ { model: tneg, map: { w: features } } ] } }
  failing: { graph: { sequence: [double, broken, plus1] } }
  nested: { graph: { sequence: [rows-seq, double] } }
`);
  });
  after(async () => {
    await gw?.stop();
    await models?.close();
  });

  const rows = async (model: string, instances: unknown[]): Promise<Response> =>
    fetch(`${gw.url}/v1/models/${model}:predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ instances }) });
  const tensors = async (model: string, name: string, data: number[][]): Promise<Response> =>
    fetch(`${gw.url}/v2/models/${model}/infer`, { method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ inputs: [{ name, datatype: 'FP32', shape: [data.length, 2], data: data.flat() }] }) });
  const outputsOf = async (res: Response): Promise<Array<{ name: string; shape: number[]; data: number[] }>> => {
    const text = await res.text();
    assert.equal(res.status, 200, text);
    return (JSON.parse(text) as { outputs: Array<{ name: string; shape: number[]; data: number[] }> }).outputs;
  };

  it('feeds each step\'s predictions to the next as instances', async () => {
    const res = await rows('rows-seq', [[1, 2], [3, 4]]);
    // double → [[2,4],[6,8]], plus1 → [[3,5],[7,9]], sum → [8, 16]
    assert.deepEqual(await res.json(), { predictions: [8, 16] });
  });

  it('renames row fields by the map: only the mapped fields go on', async () => {
    const res = await rows('rows-map', [[1, 2], [3, 4]]);
    // pair → {y1: 2x, y2: x+1}; value10 gets {value: y2} → 10·(x+1)
    assert.deepEqual(await res.json(), { predictions: [[20, 30], [40, 50]] });
    const last = models.calls.filter((c) => c.url === '/m/value10').at(-1)!;
    assert.deepEqual(JSON.parse(last.body.toString()), { instances: [{ value: [2, 3] }, { value: [4, 5] }] });
  });

  it('matches tensors by name: output y of the first step is input y of the second', async () => {
    const [out] = await outputsOf(await tensors('by-name', 'x', [[1, 2], [3, 4]]));
    assert.deepEqual(out, { name: 'z', datatype: 'FP32', shape: [2, 2], data: [3, 5, 7, 9] });
  });

  it('connects a single output to a single input when the names differ', async () => {
    const [out] = await outputsOf(await tensors('auto', 'x', [[1, 2], [3, 4]]));
    assert.equal(out!.name, 'out');
    assert.deepEqual(out!.data, [-2, -4, -6, -8]);
  });

  it('wires the inputs a map names from the outputs it names', async () => {
    const [out] = await outputsOf(await tensors('mapped', 'x', [[1, 2], [3, 4]]));
    assert.deepEqual(out!.data, [-2, -3, -4, -5]);
  });

  it('refuses names that do not match with a 500 that says to add a map', async () => {
    const body = await expectError(await tensors('unmatched', 'x', [[1, 2]]), 500, 'internal');
    assert.match(body.error, /^graph "unmatched": step "tneg" takes inputs "w" and step "tpair" gave "y1", "y2": .*give step "tneg" a map/);
  });

  it('names the output a map asks for that the step did not give', async () => {
    const body = await expectError(await tensors('bad-map', 'x', [[1, 2]]), 500, 'internal');
    assert.match(body.error, /step "tneg" maps its input "w" from "nothing", which step "tdouble" did not give; it gave "y"/);
  });

  it('a map on the first step renames the client\'s inputs, and a missing one is the client\'s 400', async () => {
    const [out] = await outputsOf(await tensors('first-map', 'features', [[1, 2]]));
    assert.deepEqual(out!.data, [-1, -2]);
    const body = await expectError(await tensors('first-map', 'x', [[1, 2]]), 400, 'bad_request');
    assert.match(body.error, /step "tneg" maps its input "w" from "features", which the request did not give; it gave "x"/);
  });

  it('a failing step fails the request, named, with its own status; the steps after it are not called', async () => {
    const before = models.calls.filter((c) => c.url === '/m/plus1').length;
    const body = await expectError(await rows('failing', [[1, 2]]), 502, 'backend_error');
    assert.match(body.error, /^graph "failing": step "broken" failed: .*the model broke/);
    assert.equal(models.calls.filter((c) => c.url === '/m/plus1').length, before);
  });

  it('a graph is a step of another graph', async () => {
    const res = await rows('nested', [[1, 2], [3, 4]]);
    assert.deepEqual(await res.json(), { predictions: [[16], [32]] });
  });

  it('v2 metadata: the inputs of the first step (renamed by its map) and the outputs of the last', async () => {
    const meta = await (await fetch(`${gw.url}/v2/models/by-name`)).json() as Record<string, unknown>;
    assert.equal(meta.name, 'by-name');
    assert.deepEqual(meta.inputs, [{ name: 'x', datatype: 'FP32', shape: [-1, 2] }]);
    assert.deepEqual(meta.outputs, [{ name: 'z', datatype: 'FP32', shape: [-1, 2] }]);
    const renamed = await (await fetch(`${gw.url}/v2/models/first-map`)).json() as Record<string, unknown>;
    assert.deepEqual(renamed.inputs, [{ name: 'features', datatype: 'FP32', shape: [-1, 2] }]);
  });

  it('a graph model has no versions: naming one is 404', async () => {
    await expectError(await fetch(`${gw.url}/v2/models/by-name/versions/1`), 404, 'model_not_found');
  });
});
