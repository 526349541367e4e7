// weights.test.ts — a model's live target weights: the config's, until a stage (rollback,
// promotion) changes one; every change is logged, keeps its reason and counts in the epoch.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../../src/observe/log.ts';
import { createWeights } from '../../src/routing/weights.ts';
import { recordingLogger } from './fakes.ts';

const targets = [{ name: 'stable', weight: 90 }, { name: 'canary', weight: 10 }];

test('starts from the configured weights; a name that is no target weighs 0', () => {
  const w = createWeights(targets, { model: 'm', log: silentLogger });
  assert.equal(w.get('stable'), 90);
  assert.equal(w.get('canary'), 10);
  assert.equal(w.get('elsewhere'), 0);
  assert.equal(w.reason('canary'), undefined);
  assert.equal(w.epoch, 0);
});

test('set changes the weight at once, keeps the reason, counts the change and logs it', () => {
  const { log, lines } = recordingLogger();
  const w = createWeights(targets, { model: 'm', log });
  w.set('canary', 0, 'rolled back: error rate');
  assert.equal(w.get('canary'), 0);
  assert.equal(w.reason('canary'), 'rolled back: error rate');
  assert.equal(w.get('stable'), 90, 'the others are untouched');
  assert.equal(w.epoch, 1);
  const line = lines.find((l) => l.msg === 'target weight changed');
  assert.deepEqual(line?.obj, { model: 'm', target: 'canary', from: 10, to: 0, reason: 'rolled back: error rate' });
  w.set('canary', 30);
  assert.equal(w.get('canary'), 30);
  assert.equal(w.reason('canary'), undefined, 'a change without a reason clears the old one');
  assert.equal(w.epoch, 2);
});

test('set refuses a target the model does not have and a weight that is not a non-negative number', () => {
  const w = createWeights(targets, { model: 'm', log: silentLogger });
  assert.throws(() => w.set('nope', 1), /no target nope/);
  for (const bad of [-1, Number.NaN, Infinity]) assert.throws(() => w.set('stable', bad), /not a non-negative number/, String(bad));
  assert.equal(w.get('stable'), 90);
  assert.equal(w.epoch, 0, 'a refused change changes nothing');
});

test('each model has weights of its own', () => {
  const a = createWeights(targets, { model: 'a', log: silentLogger });
  const b = createWeights(targets, { model: 'b', log: silentLogger });
  a.set('canary', 0);
  assert.equal(b.get('canary'), 10);
});
