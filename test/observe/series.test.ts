// The hot path's metrics (src/observe/series.ts) must print exactly as prom-client's own would
// for the same calls: Prometheus and every dashboard read that text. Each test feeds the same
// calls to a prom-client metric and to a series metric in two registries and compares the texts.

import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import fc from 'fast-check';
import type * as PromClient from 'prom-client';
import { codeLabel, CounterSeries, GaugeSeries, HistogramSeries } from '../../src/observe/series.ts';

const load = createRequire(import.meta.url);
const { Registry, Counter, Gauge, Histogram } = load('prom-client') as typeof PromClient;
const buckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

// Label values as config names come: plain, empty, and ones the text format must escape.
const labelValue = fc.constantFrom('vertex', 'm', '', 'model-a', 'quote"d', 'back\\slash', 'new\nline', 'ünï');

test('a histogram series prints what prom-client prints for the same observations', async () => {
  await fc.assert(fc.asyncProperty(
    fc.array(fc.tuple(labelValue, labelValue, fc.oneof(fc.double({ min: 0, max: 100, noNaN: true }), fc.constantFrom(0.0005, 0.001, 60, 61))), { maxLength: 60 }),
    async (calls) => {
      const theirs = new Registry();
      const ours = new Registry();
      const h = new Histogram({ name: 'x_seconds', help: 'Time.', labelNames: ['frontend', 'model'], buckets, registers: [theirs] });
      const s = new HistogramSeries({ name: 'x_seconds', help: 'Time.', labelNames: ['frontend', 'model'], buckets, registers: [ours] });
      for (const [f, m, v] of calls) {
        h.observe({ frontend: f, model: m }, v);
        s.at(f, m).observe(v);
      }
      assert.equal(await ours.metrics(), await theirs.metrics());
      // The JSON form too, but for prom-client's exemplar fields (null: exemplars are off).
      const withoutExemplars = (json: unknown): unknown => JSON.parse(JSON.stringify(json, (k, v: unknown) => (k === 'exemplar' ? undefined : v)));
      assert.deepEqual(withoutExemplars(await ours.getMetricsAsJSON()), withoutExemplars(await theirs.getMetricsAsJSON()));
    }), { numRuns: 200 });
});

test('counter and gauge series print what prom-client prints, with 1 to 4 labels', async () => {
  await fc.assert(fc.asyncProperty(
    fc.array(fc.tuple(labelValue, labelValue, labelValue, fc.integer({ min: 100, max: 599 }), fc.boolean()), { maxLength: 60 }),
    async (calls) => {
      const theirs = new Registry();
      const ours = new Registry();
      const c = new Counter({ name: 'x_total', help: 'Count.', labelNames: ['frontend', 'model', 'target', 'code'], registers: [theirs] });
      const g = new Gauge({ name: 'x_now', help: 'Now.', labelNames: ['frontend'], registers: [theirs] });
      const cs = new CounterSeries({ name: 'x_total', help: 'Count.', labelNames: ['frontend', 'model', 'target', 'code'], registers: [ours] });
      const gs = new GaugeSeries({ name: 'x_now', help: 'Now.', labelNames: ['frontend'], registers: [ours] });
      for (const [f, m, t, code, up] of calls) {
        c.inc({ frontend: f, model: m, target: t, code: String(code) });
        cs.at(f, m, t, codeLabel(code)).inc();
        if (up) { g.inc({ frontend: f }); gs.at(f).inc(); } else { g.dec({ frontend: f }, 2); gs.at(f).dec(2); }
      }
      assert.equal(await ours.metrics(), await theirs.metrics());
    }), { numRuns: 200 });
});

test('each label-value tuple is one series, found again by the same values', () => {
  const s = new CounterSeries({ name: 'y_total', help: 'Count.', labelNames: ['a', 'b'], registers: [] });
  assert.equal(s.at('x', 'y'), s.at('x', 'y'));
  // The split between two labels is part of the tuple: ("xy", "") is not ("x", "y").
  assert.notEqual(s.at('xy', ''), s.at('x', 'y'));
  s.at('x', 'y').inc();
  s.at('x', 'y').inc(2);
  assert.equal(s.at('x', 'y').value, 3);
  assert.deepEqual(s.at('x', 'y').labels, { a: 'x', b: 'y' });
});

test('reset forgets every series; a histogram refuses a value that is not a number', async () => {
  const r = new Registry();
  const s = new HistogramSeries({ name: 'z_seconds', help: 'Time.', labelNames: ['a'], buckets: [1], registers: [r] });
  s.at('x').observe(0.5);
  assert.match(await r.metrics(), /z_seconds_count\{a="x"\} 1/);
  s.reset();
  assert.doesNotMatch(await r.metrics(), /z_seconds_count/);
  assert.throws(() => s.at('x').observe(Number.NaN), /not a valid number/);
  assert.throws(() => new CounterSeries({ name: 'w', help: 'h', labelNames: [], registers: [] }), /1 to 4 labels/);
});

test('codeLabel gives the status code as text, in and out of the table', () => {
  assert.equal(codeLabel(200), '200');
  assert.equal(codeLabel(0), '0');
  assert.equal(codeLabel(999), '999');
});
