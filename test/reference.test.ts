// reference.ts: the config reference is written by walking the registries, so every field of
// every stage, frontend and backend is documented, and a stage added to src/stages.ts appears
// without anyone editing the reference.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backends } from '../src/backends/index.ts';
import { frontends } from '../src/frontends/index.ts';
import { renderReference } from '../src/reference.ts';
import { modelStages, targetStages } from '../src/stages.ts';

const reference = renderReference();

test('every stage field is in the reference, in the model or the target table or a section of its own', () => {
  for (const plugin of [...modelStages, ...targetStages]) {
    for (const [at, fields] of Object.entries(plugin.schema)) {
      for (const key of Object.keys(fields ?? {})) {
        const asRow = reference.includes(`| \`${key}\` |`);
        const asSection = reference.includes(`.${key}\``);
        assert.ok(asRow || asSection, `${plugin.name}'s ${at} field ${key} is not in the reference`);
      }
    }
  }
});

test('a stage block gets a section naming its stage, with its own fields', () => {
  assert.match(reference, /#### `models\.NAME\.breaker`, the breaker stage/);
  assert.match(reference, /\| `errorThresholdPercentage` \|/);
  assert.match(reference, /#### `models\.NAME\.batching` \(and `targets\[\]\.batching`\), the batcher stage/);
  assert.match(reference, /#### `models\.NAME\.targets\[\]\.adaptiveConcurrency`, the adaptiveLimit stage/);
});

test('every frontend and backend type has its section', () => {
  for (const key of Object.keys(frontends)) assert.ok(reference.includes(`#### \`frontends.${key}\``), key);
  for (const type of Object.keys(backends)) assert.ok(reference.includes(`with \`type: ${type}\``), type);
});

test('the model table leaves stage blocks to their sections and keeps plain fields', () => {
  const model = reference.slice(reference.indexOf('#### `models.NAME`'), reference.indexOf('#### `models.NAME.targets[]`'));
  assert.match(model, /\| `timeoutMs` \|/);
  assert.match(model, /\| `maxRowsPerRequest` \|/);
  assert.doesNotMatch(model, /\| `breaker` \|/);
  assert.doesNotMatch(model, /\| `targets` \|/);
});
