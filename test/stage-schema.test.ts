// stage-schema.test.ts — the config blocks the stages put into the assembled schema (src/schema.ts):
// each stage's `model` fields go into every `models.NAME` block and its `target` fields into every
// target, with their defaults; the cross-checks that need the whole config (versions pinned twice,
// names that are no target) and unknown keys are refused.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { configSchema, jsonSchema, modelSchema, targetSchema } from '../src/schema.ts';
import { modelStages, targetStages } from '../src/stages.ts';
import type { StagePlugin } from '../src/types.ts';

const backends = { a: { type: 'http', url: 'http://127.0.0.1:5000' }, b: { type: 'http', url: 'http://127.0.0.1:5001' } };

/** config gives a whole config with model `m` made of `fields`. */
function config(fields: Record<string, unknown>): unknown {
  return { backends, models: { m: fields } };
}

/** issues gives the messages configSchema finds, each with its path. */
function issues(value: unknown): string[] {
  const r = configSchema.safeParse(value);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
}

test('every stage\'s model fields are in the model block and its target fields in the target block', () => {
  for (const plugin of [...modelStages, ...targetStages] as StagePlugin[]) {
    for (const key of Object.keys(plugin.schema.model ?? {})) assert.ok(key in modelSchema.shape, `${plugin.name}: models.NAME.${key}`);
    for (const key of Object.keys(plugin.schema.target ?? {})) assert.ok(key in targetSchema.shape, `${plugin.name}: targets[].${key}`);
  }
});

test('the model block: timeoutMs defaults to 30 s and takes durations; allowOverride defaults to none; the optional stages stay off', () => {
  const m = modelSchema.parse({ targets: [{ backend: 'a' }] });
  assert.equal(m.timeoutMs, 30_000);
  assert.deepEqual(m.allowOverride, []);
  for (const key of ['batching', 'breaker', 'retry', 'sticky', 'shadow', 'rollback'] as const) assert.equal(m[key], undefined, key);
  assert.equal(modelSchema.parse({ targets: [{ backend: 'a' }], timeoutMs: '5s' }).timeoutMs, 5_000);
});

test('the model block takes each stage\'s own block, with that block\'s defaults', () => {
  const m = modelSchema.parse({
    targets: [{ backend: 'a', name: 'main' }, { backend: 'b', name: 'canary', weight: 10 }],
    batching: {}, breaker: {}, retry: {}, sticky: { header: 'x-user-id' }, shadow: { backend: 'b' }, rollback: {}, allowOverride: ['canary'],
  });
  assert.equal(m.batching?.maxBatchSize, 32);
  assert.equal(m.breaker?.volumeThreshold, 20);
  assert.equal(m.retry?.attempts, 1);
  assert.deepEqual(m.sticky, { header: 'x-user-id' });
  assert.equal(m.shadow?.percent, 100);
  assert.equal(m.rollback?.minRequests, 100);
  assert.deepEqual(m.allowOverride, ['canary']);
});

test('the target block: versions defaults to "pinned", maxVersions to 16; maxInFlight, adaptiveConcurrency and batching are its own', () => {
  const t = targetSchema.parse({ backend: 'a' });
  assert.equal(t.versions, 'pinned');
  assert.equal(t.maxVersions, 16);
  assert.equal(t.weight, 100);
  assert.equal(t.maxInFlight, undefined);
  assert.equal(t.adaptiveConcurrency, undefined);
  assert.equal(t.batching, undefined);
  const full = targetSchema.parse({ backend: 'a', versions: 'any', maxVersions: 4, maxInFlight: 8, adaptiveConcurrency: {}, batching: { maxBatchSize: 8 } });
  assert.equal(full.versions, 'any');
  assert.equal(full.maxVersions, 4);
  assert.equal(full.maxInFlight, 8);
  assert.equal(full.adaptiveConcurrency?.initialLimit, 16);
  assert.equal(full.batching?.maxBatchSize, 8);
  assert.equal(targetSchema.safeParse({ backend: 'a', versions: 'some' }).success, false);
  assert.equal(targetSchema.safeParse({ backend: 'a', maxVersions: 0 }).success, false);
  assert.equal(targetSchema.safeParse({ backend: 'a', maxVersions: 257 }).success, false);
  assert.equal(targetSchema.safeParse({ backend: 'a', maxInFlight: 0 }).success, false);
});

test('a valid whole config passes', () => {
  assert.deepEqual(issues(config({ targets: [{ backend: 'a', version: '1' }, { backend: 'b', version: '2' }, { backend: 'b', name: 'open', versions: 'any' }] })), []);
});

test('two targets pinning one version are refused', () => {
  const found = issues(config({ targets: [{ backend: 'a', version: '1' }, { backend: 'b', version: '1' }] }));
  assert.equal(found.length, 1);
  assert.match(found[0]!, /^models\.m\.targets\.1\.version: two targets pin version "1"/);
});

test('unknown keys are refused in the model block, the target block and a stage\'s block', () => {
  assert.ok(issues(config({ targets: [{ backend: 'a' }], timeoutMS: 5 })).some((i) => /^models\.m: .*timeoutMS/.test(i)));
  assert.ok(issues(config({ targets: [{ backend: 'a', maxInflight: 5 }] })).some((i) => /^models\.m\.targets\.0: .*maxInflight/.test(i)));
  assert.ok(issues(config({ targets: [{ backend: 'a' }], breaker: { threshold: 5 } })).some((i) => /^models\.m\.breaker: .*threshold/.test(i)));
  assert.ok(issues(config({ targets: [{ backend: 'a', adaptiveConcurrency: { limit: 5 } }] })).some((i) => /^models\.m\.targets\.0\.adaptiveConcurrency: .*limit/.test(i)));
});

test('a model without targets is refused', () => {
  assert.ok(issues(config({ targets: [] })).some((i) => i.startsWith('models.m.targets: ')));
});

test('allowOverride and a rollback canary or primary must name targets of the model', () => {
  const targets = [{ backend: 'a', name: 'main' }, { backend: 'b', name: 'canary' }];
  assert.deepEqual(issues(config({ targets, allowOverride: ['elsewhere'] })),
    ['models.m.allowOverride.0: "elsewhere" is not a target of this model; targets: main, canary']);
  assert.ok(issues(config({ targets, rollback: { canary: 'nope' } })).some((i) => /^models\.m\.rollback\.canary: "nope" is not a target/.test(i)));
  assert.ok(issues(config({ targets, rollback: { primary: 'nope' } })).some((i) => /^models\.m\.rollback\.primary: "nope" is not a target/.test(i)));
  assert.ok(issues(config({ targets, shadow: { backend: 'c' } })).some((i) => /^models\.m\.shadow\.backend: unknown backend "c"/.test(i)));
});

test('the JSON Schema documents the stage fields of both blocks', () => {
  const schema = jsonSchema() as { properties: { models: { additionalProperties: { properties: Record<string, unknown> & { targets: { items: { properties: Record<string, unknown> } } } } } } };
  const model = schema.properties.models.additionalProperties.properties;
  for (const key of ['timeoutMs', 'batching', 'breaker', 'retry', 'sticky', 'shadow', 'rollback', 'allowOverride']) assert.ok(key in model, key);
  const target = model.targets.items.properties;
  for (const key of ['maxInFlight', 'adaptiveConcurrency', 'batching', 'versions', 'maxVersions']) assert.ok(key in target, key);
});
