// gateway/health.ts: every target's health is polled and recorded (the ready stage, the split
// and the readiness routes read it), a health check that throws is "not ready" with its reason,
// the target_ready gauge follows, and the poller keeps polling until stopped.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildState } from '../../src/gateway/build.ts';
import { HealthPoller, pollHealth } from '../../src/gateway/health.ts';
import { silentLogger } from '../../src/observe/log.ts';
import { registry } from '../../src/observe/metrics.ts';
import { parseConfig } from '../../src/schema.ts';
import type { Backend, Health, ModelEndpoint } from '../../src/types.ts';
import { fakeBackend } from '../support/fake-backend.ts';

function state(interval = '50ms') {
  const backend = fakeBackend('b');
  const config = parseConfig(`
server: { healthIntervalMs: ${interval} }
backends: { b: { type: http, url: "http://127.0.0.1:1" } }
models: { hm: { targets: [ { backend: b, name: one } ] } }`, 'test.yaml', {});
  const s = buildState(config, new Map([['b', backend]]), { log: silentLogger, ready: () => true, status: () => ({}), reload: async () => ({ ok: true }) });
  return { backend, s, target: s.pipelines.get('hm')!.targets[0]! };
}

async function gauge(): Promise<string | undefined> {
  return /infergate_target_ready\{model="hm",target="one"\} (\d)/.exec(await registry.metrics())?.[1];
}

test('a target starts not ready until polled; a poll records what its endpoint says and sets the gauge', async () => {
  const { backend, s, target } = state();
  assert.deepEqual(target.health, { ready: false, reason: 'not checked yet' });
  await pollHealth(s, silentLogger);
  assert.deepEqual(target.health, { ready: true });
  assert.equal(await gauge(), '1');
  backend.setHealth({ ready: false, reason: 'model unloaded' });
  await pollHealth(s, silentLogger);
  assert.deepEqual(target.health, { ready: false, reason: 'model unloaded' });
  assert.equal(await gauge(), '0');
});

test('a health check that throws makes the target not ready with the error as the reason', async () => {
  const { backend, s, target } = state();
  backend.setHealth(async () => { throw new Error('connect ECONNREFUSED'); });
  await pollHealth(s, silentLogger);
  assert.equal(target.health.ready, false);
  assert.match(target.health.reason ?? '', /ECONNREFUSED/);
});

test('the poller polls every healthIntervalMs until stopped', async () => {
  const { backend, s, target } = state('20ms');
  let polls = 0;
  backend.setHealth(async () => { polls++; return { ready: true }; });
  const poller = new HealthPoller(() => s, silentLogger);
  poller.start();
  while (polls < 3) await new Promise((r) => setTimeout(r, 10));
  poller.stop();
  const after = polls;
  await new Promise((r) => setTimeout(r, 80));
  assert.ok(polls <= after + 1, `no polls after stop (${after} then ${polls})`);
  assert.deepEqual(target.health, { ready: true });
});

test('endpoints that share one check (an http backend\'s models) are asked once per poll; every target records the answer, in slices', async () => {
  const backend = fakeBackend('b');
  let asked = 0;
  let answer: Health = { ready: true };
  // As the http backend does: every model endpoint holds the backend's one health check.
  const shared = async (): Promise<Health> => { asked++; return answer; };
  const sharing: Backend = { ...backend, model: (model, version) => ({ ...backend.model(model, version), health: shared }) };
  const models = Array.from({ length: 2_500 }, (_, i) => `  s${i}: { targets: [ { backend: b } ] }`).join('\n');
  const config = parseConfig(`backends: { b: { type: http, url: "http://127.0.0.1:1" } }\nmodels:\n${models}`, 'test.yaml', {});
  const s = buildState(config, new Map([['b', sharing]]), { log: silentLogger, ready: () => true, status: () => ({}), reload: async () => ({ ok: true }) });
  const targets = [...s.pipelines.values()].flatMap((p) => p.targets);
  // Turns of the event loop during the poll (a poll that never yields leaves this at 0).
  let turns = 0;
  let polling = true;
  const tick = (): void => { if (polling) { turns++; setImmediate(tick); } };
  setImmediate(tick);
  await pollHealth(s, silentLogger);
  polling = false;
  assert.equal(asked, 1);
  assert.ok(targets.every((t) => t.health.ready), 'every target recorded the shared answer');
  assert.ok(turns >= 1, 'the event loop ran while 2,500 answers were recorded');
  answer = { ready: false, reason: 'down' };
  await pollHealth(s, silentLogger);
  assert.equal(asked, 2);
  assert.ok(targets.every((t) => t.health.reason === 'down'));
  // An endpoint whose check is its prototype's method (it may read `this`) is asked for itself.
  const own = fakeBackend('c');
  let methodCalls = 0;
  class Endpoint {
    infer: ModelEndpoint['infer'];
    metadata: ModelEndpoint['metadata'];
    constructor(inner: ModelEndpoint) { this.infer = inner.infer; this.metadata = inner.metadata; }
    async health(): Promise<Health> { methodCalls++; return { ready: true }; }
  }
  const classy: Backend = { ...own, model: (model, version) => new Endpoint(own.model(model, version)) };
  const few = parseConfig('backends: { c: { type: http, url: "http://127.0.0.1:1" } }\nmodels: { x: { targets: [ { backend: c } ] }, y: { targets: [ { backend: c } ] } }', 'test.yaml', {});
  const t = buildState(few, new Map([['c', classy]]), { log: silentLogger, ready: () => true, status: () => ({}), reload: async () => ({ ok: true }) });
  await pollHealth(t, silentLogger);
  assert.equal(methodCalls, 2);
});
