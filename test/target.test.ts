// target.ts in process: a target's keys override its model's for its stages; a target open to
// any version makes one path per version on first use, keeps at most maxVersions, closes and
// forgets the least recently used, and names calls from a bounded set.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../src/observe/log.ts';
import { parseConfig } from '../src/schema.ts';
import { targetStages } from '../src/stages.ts';
import { openTarget } from '../src/target.ts';
import type { CallContext } from '../src/types.ts';
import { fakeBackend } from './support/fake-backend.ts';

function context(): CallContext {
  return { requestId: 'r', signal: new AbortController().signal, deadline: performance.now() + 5000, forward: {}, headers: {}, log: silentLogger, model: 'm' };
}

function open(yaml: string) {
  const backend = fakeBackend('b');
  const config = parseConfig(`backends: { b: { type: http, url: "http://127.0.0.1:1" } }\nmodels:\n  m:\n${yaml}`, 'test.yaml', {});
  const model = config.models.m!;
  const target = openTarget('m', model, model.targets[0]!, targetStages, { backends: new Map([['b', backend]]), log: silentLogger });
  target.health = { ready: true };
  return { backend, target };
}

test('the default name is backend/model[/version], and the target\'s own path ends in its backend model', async () => {
  const { backend, target } = open(`    targets: [ { backend: b, model: iris, version: "2" } ]`);
  assert.equal(target.name, 'b/iris/2');
  assert.equal(target.version, '2');
  assert.equal(target.versionLabel, undefined, 'a pinned target takes no other version');
  const res = await target.path()({ instances: [[1]] }, context());
  assert.deepEqual(res.predictions, ['iris@2']);
  assert.deepEqual(backend.made, ['iris@2']);
  await target.close();
});

test('a target\'s batching overrides its model\'s', () => {
  const { target } = open(`    batching: { maxBatchSize: 4 }\n    targets: [ { backend: b, batching: { maxBatchSize: 2, maxQueueRows: 7 } } ]`);
  const status = target.status() as { batcher: { queueRows: number } };
  assert.ok(status.batcher !== undefined, 'the batcher is in the path');
  assert.equal(target.available(), true);
  target.health = { ready: false, reason: 'down' };
  assert.equal(target.available(), false, 'the ready stage takes a down target out of the split');
});

test('versions: any makes a path per version on first use and reuses it', async () => {
  const { backend, target } = open(`    targets: [ { backend: b, name: t, versions: any, maxVersions: 2 } ]`);
  assert.deepEqual((await target.path('5')({ instances: [[1]] }, context())).predictions, ['m@5']);
  await target.path('5')({ instances: [[1]] }, context());
  assert.deepEqual(backend.made, ['m@', 'm@5'], 'one endpoint for the target, one for version 5');
  assert.equal(target.endpointFor('5'), target.endpointFor('5'));
  assert.equal(target.endpointFor(), target.endpoint);
  await target.close();
});

test('at most maxVersions paths live: the least recently used is closed and forgotten by the backend', async () => {
  const { backend, target } = open(`    targets: [ { backend: b, name: t, versions: any, maxVersions: 2 } ]`);
  for (const v of ['1', '2', '1', '3']) await target.path(v)({ instances: [[1]] }, context());
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(backend.forgotten, ['m@2'], 'version 2 was the least recently used');
  const status = target.status() as { versions: { live: string[]; max: number } };
  assert.deepEqual(status.versions, { live: ['1', '3'], max: 2 });
  await target.close();
  assert.deepEqual(backend.forgotten.sort(), ['m@1', 'm@2', 'm@3']);
});

test('calls for open versions are named "<target>@any" whatever the version: labels come from the config only', () => {
  const { target } = open(`    targets: [ { backend: b, name: t, versions: any, maxVersions: 2 } ]`);
  for (const v of ['a', 'b', 'c', 'a']) assert.equal(target.versionLabel!(v), 't@any');
});
