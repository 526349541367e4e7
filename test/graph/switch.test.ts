// A switch graph through the real gateway: the first case whose condition holds takes the request
// (parameters, headers, instances.length), else the default; with no default an unmatched
// request is 400; the cases' calls and the unmatched ones are in /admin/status.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { expectError } from '../support/expect-error.ts';
import { startGateway, type RunningGateway } from '../support/gateway.ts';
import { startRowModels, type RowModelServer } from '../support/row-models.ts';

describe('switch graphs', () => {
  let models: RowModelServer;
  let gw: RunningGateway;
  before(async () => {
    models = await startRowModels();
    gw = await startGateway(`
frontends: { kserve: {} }
backends:
  rows: { type: http, url: "${models.url}", predictPath: "/m/{model}" }
models:
  de: { targets: [ { backend: rows } ] }
  acme: { targets: [ { backend: rows } ] }
  big: { targets: [ { backend: rows } ] }
  other: { targets: [ { backend: rows } ] }
  params: { targets: [ { backend: rows } ] }
  route:
    graph:
      switch:
        - { when: "parameters.lang == 'de'", model: de }
        - { when: "headers.x-tenant in ['acme', 'acme-eu'] && !(parameters.lang == 'fr')", model: acme }
        - { when: "instances.length > 2", model: big }
        - { when: "parameters.echo == true", model: params }
      default: other
  strict-route:
    graph: { switch: [ { when: "parameters.lang == 'de' || parameters.region.country == 'at'", model: de } ] }
`);
  });
  after(async () => {
    await gw?.stop();
    await models?.close();
  });

  const call = (model: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> =>
    fetch(`${gw.url}/v1/models/${model}:predict`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  const answer = async (model: string, body: unknown, headers: Record<string, string> = {}): Promise<unknown> => {
    const res = await call(model, body, headers);
    const text = await res.text();
    assert.equal(res.status, 200, text);
    return (JSON.parse(text) as { predictions: unknown[] }).predictions;
  };

  it('takes the first case whose condition holds', async () => {
    assert.deepEqual(await answer('route', { instances: [[1]], parameters: { lang: 'de' } }), ['de']);
    assert.deepEqual(await answer('route', { instances: [[1]] }, { 'x-tenant': 'acme-eu' }), ['acme']);
    // The first case wins over a later one that holds too.
    assert.deepEqual(await answer('route', { instances: [[1], [2], [3]], parameters: { lang: 'de' } }), ['de', 'de', 'de']);
    assert.deepEqual(await answer('route', { instances: [[1], [2], [3]] }), ['big', 'big', 'big']);
  });

  it('a request no case takes goes to the default', async () => {
    assert.deepEqual(await answer('route', { instances: [[1]], parameters: { lang: 'fr' } }, { 'x-tenant': 'acme' }), ['other']);
    assert.deepEqual(await answer('route', { instances: [[1]] }), ['other']);
  });

  it('the chosen model gets the request as it came, parameters and all', async () => {
    assert.deepEqual(await answer('route', { instances: [[1]], parameters: { echo: true, n: 3 } }), [{ echo: true, n: 3 }]);
  });

  it('without a default an unmatched request is 400 bad_request naming the cases', async () => {
    assert.deepEqual(await answer('strict-route', { instances: [[1]], parameters: { region: { country: 'at' } } }), ['de']);
    const body = await expectError(await call('strict-route', { instances: [[1]], parameters: { lang: 'fr' } }), 400, 'bad_request');
    assert.match(body.error, /^graph "strict-route": no case matched the request \("parameters\.lang == 'de' \|\| .*"\) and the switch has no default$/);
  });

  it('/admin/status counts each case\'s calls and the unmatched requests', async () => {
    await answer('route', { instances: [[1]], parameters: { lang: 'de' } });
    const status = await (await fetch(`${gw.adminUrl}/admin/status`)).json() as { models: Record<string, { graph: Record<string, unknown> }> };
    const route = status.models.route!.graph as { kind: string; cases: Array<{ when: string; model: string; calls: number }>; default: { model: string; calls: number } };
    assert.equal(route.kind, 'switch');
    assert.deepEqual(route.cases.map((c) => [c.model, c.when.slice(0, 10)]), [['de', 'parameters'], ['acme', 'headers.x-'], ['big', 'instances.'], ['params', 'parameters']]);
    assert.ok(route.cases[0]!.calls >= 1);
    assert.ok(route.default.calls >= 1);
    const strict = status.models['strict-route']!.graph as { unmatched: number };
    assert.ok(strict.unmatched >= 1);
  });

  it('v2 metadata of a switch is its default\'s', async () => {
    const meta = await (await fetch(`${gw.url}/v2/models/route`)).json() as Record<string, unknown>;
    const other = await (await fetch(`${gw.url}/v2/models/other`)).json() as Record<string, unknown>;
    assert.equal(meta.name, 'route');
    assert.equal(meta.platform, 'infergate_graph');
    assert.deepEqual([meta.inputs, meta.outputs], [other.inputs, other.outputs]);
  });
});
