// gateway/build.ts: the state built from a config — backends made once (or reused), one
// pipeline per model, routers over the frontends' routes — and the handles frontends get: a
// version is served only when a target pins it or is open to any; the handle names the model
// and version in the call's context; metadata overrides apply. On a reload, unchanged models
// keep their pipeline and unchanged targets their path; a `{port}` backend runs on its port.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadBackends } from '../../src/backends/index.ts';
import { loadFrontends } from '../../src/frontends/index.ts';
import { buildState, portHost } from '../../src/gateway/build.ts';
import { silentLogger } from '../../src/observe/log.ts';
import { parseConfig } from '../../src/schema.ts';
import type { CallContext } from '../../src/types.ts';
import { fakeBackend } from '../support/fake-backend.ts';

// The build takes implementations from the registries, which load them first (gateway/plugins.ts).
await Promise.all([loadBackends(['http']), loadFrontends(['kserve'])]);

const hooks = { log: silentLogger, ready: () => true, status: () => ({}), reload: async () => ({ ok: true }) };

function state(models: string) {
  const backend = fakeBackend('b');
  const config = parseConfig(`
frontends: { kserve: {} }
backends: { b: { type: http, url: "http://127.0.0.1:1" } }
models:
${models}`, 'test.yaml', {});
  const s = buildState(config, new Map([['b', backend]]), hooks);
  for (const p of s.pipelines.values()) for (const t of p.targets) t.health = { ready: true };
  return { backend, s };
}


function context(): CallContext {
  return { requestId: 'r', signal: new AbortController().signal, deadline: Infinity, forward: {}, headers: {}, log: silentLogger, model: '' };
}

test('kept backends are reused as they are; others are made from the registry', () => {
  const kept = fakeBackend('b');
  const config = parseConfig(`
backends: { b: { type: http, url: "http://127.0.0.1:1" }, c: { type: http, url: "http://127.0.0.1:2" } }
models: { m: { targets: [ { backend: b } ] } }`, 'test.yaml', {});
  const s = buildState(config, new Map([['b', kept]]), hooks);
  assert.equal(s.backends.get('b'), kept);
  assert.equal(s.backends.get('c')!.type, 'http');
  assert.deepEqual([...s.pipelines.keys()], ['m']);
});

test('the routers hold the frontends\' routes, and the admin routes on their own port by default', () => {
  const { s } = state(`  m: { targets: [ { backend: b } ] }`);
  assert.equal(s.router.match('POST', '/v2/models/m/infer').kind, 'route');
  assert.equal(s.router.match('GET', '/metrics').kind, 'none');
  assert.equal(s.adminRouter.match('GET', '/metrics').kind, 'route');
});

test('through a frontend: a handle names its model and version in the context; an unpinned version is unknown', async () => {
  const { s, backend } = state(`  m: { targets: [ { backend: b, version: "1" } ] }
  open: { targets: [ { backend: b, versions: any } ] }`);
  const infer = async (path: string): Promise<{ status: number; body: unknown }> => {
    const match = s.router.match('POST', path);
    assert.equal(match.kind, 'route');
    if (match.kind !== 'route') throw new Error('no route');
    const body = JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 1], data: [1] }] });
    try {
      const reply = await match.route.handle({
        method: 'POST', path, params: match.params, headers: { 'content-type': 'application/json' }, requestId: 'r', log: silentLogger,
        remoteAddress: '127.0.0.1', maxJsonDepth: 64, body: async () => Buffer.from(body), call: context(),
      });
      return { status: reply.status, body: reply.body };
    } catch (err) {
      if ((err as { status?: number }).status === undefined) throw err;
      return { status: (err as { status: number }).status, body: (err as Error).message };
    }
  };
  backend.setAnswer(async (req, ctx, model, version) => {
    assert.equal(ctx.model, model === 'm' ? 'm' : 'open');
    return { outputs: [{ name: 'y', datatype: 'BYTES', shape: [1], data: [Buffer.from(`${ctx.model}:${ctx.version ?? '-'}:${version ?? ''}`)] }] };
  });
  const pinned = await infer('/v2/models/m/versions/1/infer');
  assert.equal(pinned.status, 200, String(pinned.body));
  assert.match(String(pinned.body), /m:1:1/);
  const unpinned = await infer('/v2/models/m/versions/2/infer');
  assert.equal(unpinned.status, 404);
  assert.match(String(unpinned.body), /no version "2"/);
  const open = await infer('/v2/models/open/versions/9/infer');
  assert.equal(open.status, 200, String(open.body));
  assert.match(String(open.body), /open:9:9/);
  const plain = await infer('/v2/models/m/infer');
  assert.match(String(plain.body), /m:-:1/, 'no version named: the target\'s own pinned version');
});

test('model metadata comes from the serving target, with the model\'s override laid on top and the gateway\'s name', async () => {
  const { s } = state(`  m:
    targets: [ { backend: b, model: on-backend } ]
    metadata: { inputs: [ { name: x, datatype: FP32, shape: [-1, 4] } ], maxBatchSize: 8 }`);
  const match = s.router.match('GET', '/v2/models/m');
  assert.equal(match.kind, 'route');
  if (match.kind !== 'route') return;
  const reply = await match.route.handle({
    method: 'GET', path: '/v2/models/m', params: match.params, headers: {}, requestId: 'r', log: silentLogger,
    remoteAddress: '127.0.0.1', maxJsonDepth: 64, body: async () => Buffer.alloc(0), call: context(),
  });
  const doc = JSON.parse(String(reply.body)) as { name: string; inputs: Array<{ name: string; shape: number[] }>; platform: string };
  assert.equal(doc.name, 'm');
  assert.equal(doc.platform, 'fake');
  assert.deepEqual(doc.inputs.map((i) => [i.name, i.shape]), [['x', [-1, 4]]]);
});

test('a reload keeps the pipeline of an unchanged model and the path of an unchanged target of a changed one', () => {
  const backend = fakeBackend('b');
  const other = fakeBackend('c');
  const yaml = (weight: number, nTimeout: string) => parseConfig(`
backends: { b: { type: http, url: "http://127.0.0.1:1" }, c: { type: http, url: "http://127.0.0.1:2" } }
models:
  m: { breaker: {}, targets: [ { backend: b, name: x, weight: 50 }, { backend: c, name: y, weight: ${weight} } ] }
  n: { timeoutMs: ${nTimeout}, targets: [ { backend: b } ] }`, 'test.yaml', {});
  const reuse = new Map([['b', backend], ['c', other]]);
  const first = buildState(yaml(50, '5s'), reuse, hooks);
  const same = buildState(yaml(50, '5s'), reuse, hooks, { previous: first });
  assert.equal(same.pipelines.get('m'), first.pipelines.get('m'), 'an unchanged model keeps its pipeline');
  assert.equal(same.pipelines.get('n'), first.pipelines.get('n'));
  const changed = buildState(yaml(10, '6s'), reuse, hooks, { previous: first });
  assert.notEqual(changed.pipelines.get('m'), first.pipelines.get('m'), 'a changed model gets new model stages');
  const [x, y] = changed.pipelines.get('m')!.targets;
  assert.equal(x, first.pipelines.get('m')!.targets[0], 'its unchanged target keeps its path');
  assert.notEqual(y, first.pipelines.get('m')!.targets[1], 'its changed target gets a new one');
  assert.equal(changed.pipelines.get('n')!.targets[0], first.pipelines.get('n')!.targets[0], 'n changed only in a key no target stage reads');
  // A backend that is not the same object makes a new path, whatever the config says.
  const rebuilt = buildState(yaml(50, '5s'), new Map([['b', fakeBackend('b')], ['c', other]]), hooks, { previous: first });
  assert.notEqual(rebuilt.pipelines.get('m'), first.pipelines.get('m'));
  assert.notEqual(rebuilt.pipelines.get('m')!.targets[0], first.pipelines.get('m')!.targets[0]);
  assert.equal(rebuilt.pipelines.get('m')!.targets[1], first.pipelines.get('m')!.targets[1]);
});

test('a spawn block with {port}: the process and the url get the url\'s port at first, the given one on a reload', () => {
  const config = parseConfig(`
backends:
  p: { type: http, url: "http://127.0.0.1:5000/base", spawn: { command: [server, "--port={port}"], env: { PORT: "{port}" } } }
  q: { type: http, url: "http://127.0.0.1:5001", spawn: { command: [server, "--port=5001"] } }
models: { m: { targets: [ { backend: p } ] } }`, 'test.yaml', {});
  assert.equal(portHost('p', config.backends.p!), '127.0.0.1');
  assert.equal(portHost('q', config.backends.q!), undefined, 'no {port}: nothing to pick');
  const first = buildState(config, new Map(), hooks);
  const endpoints = (s: typeof first) => Object.keys(s.backends.get('p')!.endpoints!());
  assert.deepEqual(endpoints(first), ['http://127.0.0.1:5000/base']);
  const next = buildState(config, new Map(), hooks, { ports: new Map([['p', 41234]]) });
  assert.deepEqual(endpoints(next), ['http://127.0.0.1:41234/base']);
  assert.deepEqual(Object.keys(next.backends.get('q')!.endpoints!()), ['http://127.0.0.1:5001']);
  const several = parseConfig(`
backends: { p: { type: http, urls: ["http://127.0.0.1:1", "http://127.0.0.1:2"], spawn: { command: [server, "{port}"] } } }
models: { m: { targets: [ { backend: p } ] } }`, 'test.yaml', {});
  assert.throws(() => buildState(several, new Map(), hooks), { code: 'bad_config', message: /single url/ });
});

test('a reload builds in slices and ends with the same state a one-go build gives', async () => {
  const { buildStateInSlices } = await import('../../src/gateway/build.ts');
  const models = Array.from({ length: 1_200 }, (_, i) => `  m${i}: { targets: [ { backend: b } ] }`).join('\n');
  const config = parseConfig(`backends: { b: { type: http, url: "http://127.0.0.1:1" } }\nmodels:\n${models}`, 'test.yaml', {});
  const backend = fakeBackend('b');
  // Turns of the event loop during the build (a build that never yields leaves this at 0; a
  // timer could miss slices that now take well under a millisecond).
  let turns = 0;
  let building = true;
  const tick = (): void => { if (building) { turns++; setImmediate(tick); } };
  setImmediate(tick);
  const sliced = await buildStateInSlices(config, new Map([['b', backend]]), hooks);
  building = false;
  const whole = buildState(config, new Map([['b', backend]]), hooks);
  assert.deepEqual([...sliced.pipelines.keys()], [...whole.pipelines.keys()]);
  assert.equal(sliced.pipelines.size, 1_200);
  assert.ok(turns >= 1, 'the event loop ran between slices');
});

test('the models no call reached are built in slices before /admin/status is written: each target shows its stages', async () => {
  const { buildModelsInSlices } = await import('../../src/gateway/build.ts');
  const models = Array.from({ length: 1_200 }, (_, i) => `  m${i}: { breaker: { volumeThreshold: 5 }, targets: [ { backend: b } ] }`).join('\n');
  const config = parseConfig(`backends: { b: { type: http, url: "http://127.0.0.1:1" } }\nmodels:\n${models}`, 'test.yaml', {});
  const s = buildState(config, new Map([['b', fakeBackend('b')]]), hooks);
  let turns = 0;
  let building = true;
  const tick = (): void => { if (building) { turns++; setImmediate(tick); } };
  setImmediate(tick);
  await buildModelsInSlices(s);
  building = false;
  assert.ok(turns >= 2, `the event loop ran between slices (${turns} turns)`);
  const status = s.pipelines.get('m1199')!.status() as { targets: Array<{ breaker?: { state: string } }> };
  assert.deepEqual(status.targets[0]!.breaker, { state: 'closed' });
});
