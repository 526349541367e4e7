// An ensemble graph through the real gateway: every member gets the request at once and `combine`
// merges the answers (mean, vote, concat; rows and tensors); with allowPartial a member that
// fails is dropped and counted, unless every one fails; without it the failure is named.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { expectError } from '../support/expect-error.ts';
import { startGateway, type RunningGateway } from '../support/gateway.ts';
import { freePort } from '../support/ports.ts';
import { startRowModels, type RowModelServer } from '../support/row-models.ts';

const spec = (name: string): string => `{ name: ${name}, datatype: FP32, shape: [-1, 2] }`;
const tensorBackend = (url: string, path: string): string =>
  `{ type: http, url: "${url}", predictPath: /m/${path}, metadata: { inputs: [${spec('x')}], outputs: [${spec('y')}] } }`;

describe('ensemble graphs', () => {
  let models: RowModelServer;
  let gw: RunningGateway;
  before(async () => {
    models = await startRowModels();
    const u = models.url;
    // Nothing listens on this port: the members behind it are not ready and fail at once.
    const dead = `http://127.0.0.1:${await freePort()}`;
    gw = await startGateway(`
frontends: { kserve: {} }
backends:
  rows: { type: http, url: "${u}", predictPath: "/m/{model}" }
  dead: { type: http, url: "${dead}", predictPath: "/m/{model}" }
  t1: ${tensorBackend(u, 'double')}
  t2: ${tensorBackend(u, 'plus1')}
models:
  double: { targets: [ { backend: rows } ] }
  plus1: { targets: [ { backend: rows } ] }
  neg: { targets: [ { backend: rows } ] }
  cat: { targets: [ { backend: rows } ] }
  dog: { targets: [ { backend: rows } ] }
  broken: { targets: [ { backend: rows } ] }
  gone: { targets: [ { backend: dead } ] }
  gone2: { targets: [ { backend: dead } ] }
  tdouble: { targets: [ { backend: t1 } ] }
  tplus1: { targets: [ { backend: t2 } ] }
  mean-rows: { graph: { ensemble: [double, plus1], combine: mean } }
  mean-tensors: { graph: { ensemble: [tdouble, tplus1], combine: mean } }
  vote-labels: { graph: { ensemble: [cat, dog, dog], combine: vote } }
  vote-tie: { graph: { ensemble: [cat, dog], combine: vote } }
  vote-scores: { graph: { ensemble: [double, plus1, neg], combine: vote } }
  vote-scores-tie: { graph: { ensemble: [neg, double], combine: vote } }
  vote-tensors: { graph: { ensemble: [tdouble, tplus1], combine: vote } }
  concat-rows: { graph: { ensemble: [double, plus1], combine: concat } }
  concat-tensors: { graph: { ensemble: [tdouble, tplus1], combine: concat } }
  partial: { graph: { ensemble: [double, gone], combine: mean, allowPartial: true } }
  partial-tensors: { graph: { ensemble: [tdouble, gone], combine: mean, allowPartial: true } }
  all-gone: { graph: { ensemble: [gone, gone2], combine: mean, allowPartial: true } }
  strict: { graph: { ensemble: [double, broken], combine: mean } }
  needs-gone: { graph: { ensemble: [double, gone], combine: mean } }
`);
  });
  after(async () => {
    await gw?.stop();
    await models?.close();
  });

  const rows = (model: string, instances: unknown[]): Promise<Response> =>
    fetch(`${gw.url}/v1/models/${model}:predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ instances }) });
  const predictions = async (model: string, instances: unknown[]): Promise<unknown> => {
    const res = await rows(model, instances);
    const text = await res.text();
    assert.equal(res.status, 200, text);
    return (JSON.parse(text) as { predictions: unknown }).predictions;
  };
  const tensors = async (model: string, data: number[][]): Promise<{ outputs: Array<Record<string, unknown>>; parameters?: unknown }> => {
    const res = await fetch(`${gw.url}/v2/models/${model}/infer`, { method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [data.length, 2], data: data.flat() }] }) });
    const text = await res.text();
    assert.equal(res.status, 200, text);
    return JSON.parse(text) as { outputs: Array<Record<string, unknown>>; parameters?: unknown };
  };

  it('mean: numeric predictions averaged element-wise', async () => {
    // double [2,4], plus1 [2,3] → [2, 3.5]
    assert.deepEqual(await predictions('mean-rows', [[1, 2], [3, 4]]), [[2, 3.5], [5, 6.5]]);
  });

  it('mean: float outputs of the same name averaged element-wise', async () => {
    const { outputs } = await tensors('mean-tensors', [[1, 2], [3, 4]]);
    assert.deepEqual(outputs, [{ name: 'y', datatype: 'FP32', shape: [2, 2], data: [2, 3.5, 5, 6.5] }]);
  });

  it('vote: the majority label wins; a tie goes to the first member', async () => {
    assert.deepEqual(await predictions('vote-labels', [[1], [2]]), ['dog', 'dog']);
    assert.deepEqual(await predictions('vote-tie', [[1]]), ['cat']);
  });

  it('vote: scores vote with their argmax; a tie goes to the first member\'s class', async () => {
    // [1,3,2]: double 1, plus1 1, neg 0 → 1. [5,1,0]: double 0, plus1 0, neg 2 → 0.
    assert.deepEqual(await predictions('vote-scores', [[1, 3, 2], [5, 1, 0]]), [1, 0]);
    // [1,3,2]: neg 0, double 1 → tie → neg's 0.
    assert.deepEqual(await predictions('vote-scores-tie', [[1, 3, 2]]), [0]);
  });

  it('vote: float outputs of rank 2 vote with their argmax, answered as INT64 "label"', async () => {
    const { outputs } = await tensors('vote-tensors', [[1, 2], [4, 3]]);
    assert.deepEqual(outputs, [{ name: 'label', datatype: 'INT64', shape: [2], data: [1, 0] }]);
  });

  it('concat: each row\'s predictions as a list, one per member', async () => {
    assert.deepEqual(await predictions('concat-rows', [[1, 2]]), [[[2, 4], [2, 3]]]);
  });

  it('concat: outputs of the same name concatenated along the last axis', async () => {
    const { outputs } = await tensors('concat-tensors', [[1, 2], [3, 4]]);
    assert.deepEqual(outputs, [{ name: 'y', datatype: 'FP32', shape: [2, 4], data: [2, 4, 2, 3, 6, 8, 4, 5] }]);
  });

  it('v2 metadata: the first member\'s inputs and the combined outputs', async () => {
    const concat = await (await fetch(`${gw.url}/v2/models/concat-tensors`)).json() as Record<string, unknown>;
    assert.deepEqual(concat.inputs, [{ name: 'x', datatype: 'FP32', shape: [-1, 2] }]);
    assert.deepEqual(concat.outputs, [{ name: 'y', datatype: 'FP32', shape: [-1, 4] }]);
    const vote = await (await fetch(`${gw.url}/v2/models/vote-tensors`)).json() as Record<string, unknown>;
    assert.deepEqual(vote.outputs, [{ name: 'label', datatype: 'INT64', shape: [-1] }]);
  });

  it('allowPartial: a failed member is dropped, counted, and named in the answer\'s parameters', async () => {
    assert.deepEqual(await predictions('partial', [[1, 2]]), [[2, 4]]);
    const answer = await tensors('partial-tensors', [[1, 2]]);
    assert.deepEqual(answer.outputs[0]!.data, [2, 4]);
    assert.deepEqual(answer.parameters, { dropped: 'gone' });
    const status = await (await fetch(`${gw.adminUrl}/admin/status`)).json() as { models: Record<string, { graph: { members: Array<Record<string, unknown>> } }> };
    const [kept, dropped] = status.models.partial!.graph.members;
    assert.deepEqual([kept!.model, kept!.ok, kept!.dropped], ['double', 1, 0]);
    assert.deepEqual([dropped!.model, dropped!.ok, dropped!.dropped, dropped!.ready], ['gone', 0, 1, false]);
    const metrics = await (await fetch(`${gw.adminUrl}/metrics`)).text();
    assert.match(metrics, /infergate_graph_step_calls_total\{model="partial",step="gone",outcome="dropped"\} 1\n/);
    assert.match(metrics, /infergate_graph_step_calls_total\{model="partial",step="double",outcome="ok"\} 1\n/);
  });

  it('allowPartial: when every member fails, the call fails naming each', async () => {
    const body = await expectError(await rows('all-gone', [[1]]), 503, 'backend_unavailable');
    assert.match(body.error, /^graph "all-gone": every member failed: step "gone": .*; step "gone2": /);
  });

  it('without allowPartial a failed member fails the call, named, with its status', async () => {
    const body = await expectError(await rows('strict', [[1]]), 502, 'backend_error');
    assert.match(body.error, /^graph "strict": step "broken" failed: .*the model broke/);
  });

  it('readiness: every member, or with allowPartial any one', async () => {
    const ready = async (model: string): Promise<number> => (await fetch(`${gw.url}/v2/models/${model}/ready`)).status;
    assert.equal(await ready('mean-rows'), 200);
    assert.equal(await ready('partial'), 200);
    assert.equal(await ready('needs-gone'), 503);
    assert.equal(await ready('all-gone'), 503);
  });
});
