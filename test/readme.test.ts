// The README's config reference is generated from the schema (`infergate schema --markdown`);
// this keeps it from drifting, and checks the quickstart commands are the ones CI runs.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { renderReference } from '../src/reference.ts';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

test('the README config reference matches the schema', () => {
  const start = readme.indexOf('<!-- config-reference:start -->');
  const end = readme.indexOf('<!-- config-reference:end -->');
  assert.ok(start > 0 && end > start, 'the README has the config reference markers');
  const section = readme.slice(start + '<!-- config-reference:start -->'.length, end).trim();
  assert.equal(section, renderReference().trim(), 'regenerate with: npm run docs');
});

test('the README shows the two quickstart commands and CI runs the test command', () => {
  assert.match(readme, /npm ci && npm start/);
  assert.match(readme, /npm test/);
  assert.match(readFileSync(new URL('../.ci/run', import.meta.url), 'utf8'), /^npm test$/m);
});
