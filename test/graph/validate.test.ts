// validate.ts: the whole-config graph checks on their own — every cycle found once, from where
// the walk entered it; graphs over plain models and diamonds are no cycles; a long chain of
// graphs does not overflow the stack.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { GraphConfig } from '../../src/graph/schema.ts';
import { findCycles, graphIssues } from '../../src/graph/validate.ts';

const seq = (...models: string[]): { graph: GraphConfig } => ({ graph: { kind: 'sequence', steps: models.map((model) => ({ model })) } });

test('finds direct, indirect and several cycles, each once', () => {
  assert.deepEqual(findCycles(new Map([['a', ['a']]])), [['a', 'a']]);
  assert.deepEqual(findCycles(new Map([['a', ['b']], ['b', ['c']], ['c', ['a']]])), [['a', 'b', 'c', 'a']]);
  assert.deepEqual(findCycles(new Map([['a', ['b']], ['b', ['a']], ['x', ['y']], ['y', ['x']]])), [['a', 'b', 'a'], ['x', 'y', 'x']]);
});

test('a diamond (two graphs sharing a step graph) and graphs over plain models are no cycles', () => {
  assert.deepEqual(findCycles(new Map([['top', ['l', 'r']], ['l', ['leaf']], ['r', ['leaf']], ['leaf', ['plain']]])), []);
});

test('a chain of 20,000 graphs is walked without recursion', () => {
  const calls = new Map(Array.from({ length: 20_000 }, (_, i) => [`g${i}`, i + 1 < 20_000 ? [`g${i + 1}`] : ['g0']]));
  const cycles = findCycles(calls);
  assert.equal(cycles.length, 1);
  assert.equal(cycles[0]!.length, 20_001);
});

test('graphIssues: unknown steps at their path, a cycle at the graph where it was entered', () => {
  const issues = graphIssues({
    m: {},
    a: seq('m', 'b'),
    b: { graph: { kind: 'switch', cases: [{ when: 'true', model: 'a' }], default: 'nope' } },
    e: { graph: { kind: 'ensemble', members: ['m', 'gone'], combine: 'mean', allowPartial: false } },
  });
  assert.deepEqual(issues, [
    { path: ['models', 'b', 'graph', 'default'], message: 'unknown model "nope"; configured: m, a, b, e' },
    { path: ['models', 'e', 'graph', 'ensemble', 1], message: 'unknown model "gone"; configured: m, a, b, e' },
    { path: ['models', 'a', 'graph'], message: 'a graph may not call itself: a → b → a' },
  ]);
});
