// grafana.test.ts — every metric the dashboard queries is one a running gateway exports (scraped
// from /metrics of a real gateway process), infergate_* names are the ones src/observe/metrics.ts
// defines, and the dashboard covers what the issue asks for.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startGateway, type RunningGateway } from '../support/gateway.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const dashboard = JSON.parse(readFileSync(`${root}deploy/grafana/infergate.json`, 'utf8')) as Dashboard;

interface Dashboard {
  panels: Array<{ title: string; type: string; datasource?: { uid: string }; targets?: Array<{ expr: string; datasource?: { uid: string } }> }>;
  templating: { list: Array<{ name: string; type: string; query?: string | { query: string } }> };
}

const promqlWords = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset', 'inf', 'nan']);

/** metricNames finds the metric names a PromQL expression selects. */
export function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')          // label values
    .replace(/\{[^}]*\}/g, '')                     // label matchers
    .replace(/\[[^\]]*\]/g, '')                    // ranges
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ''); // grouping labels
  const names = new Set<string>();
  for (const m of stripped.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*/g)) {
    const after = stripped.slice(m.index! + m[0].length).trimStart();
    if (after.startsWith('(') || promqlWords.has(m[0].toLowerCase())) continue;
    names.add(m[0]);
  }
  return [...names];
}

/** exportedNames reads the sample names a Prometheus text exposition declares (histograms expanded). */
export function exportedNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    const [, name, type] = m as unknown as [string, string, string];
    if (type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(name + s);
    else if (type === 'summary') for (const s of ['', '_sum', '_count']) names.add(name + s);
    else names.add(name);
  }
  return names;
}

const exprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
for (const v of dashboard.templating.list) {
  if (v.type === 'query') exprs.push(typeof v.query === 'string' ? v.query : v.query!.query);
}
const queried = new Set(exprs.flatMap((e) => metricNames(e.replace(/label_values\(([^,]+),[^)]*\)/, '$1'))));

describe('the metric-name reader', () => {
  it('finds metric names and nothing else, so the comparison can fail', () => {
    assert.deepEqual(metricNames('histogram_quantile(0.99, sum by (le, target) (rate(foo_seconds_bucket{target=~"a|b"}[5m])))'), ['foo_seconds_bucket']);
    assert.deepEqual(metricNames('sum by (t) (rate(a_total{code!~"2.."}[1m])) / sum by (t) (rate(b_total[1m]))'), ['a_total', 'b_total']);
    assert.deepEqual(metricNames('max by (instance) (up) and on (instance) bogus_metric'), ['up', 'bogus_metric']);
    assert.deepEqual([...exportedNames('# TYPE h histogram\n# TYPE c counter\n')].sort(), ['c', 'h_bucket', 'h_count', 'h_sum']);
  });
});

describe('deploy/grafana/infergate.json', () => {
  let gateway: RunningGateway;
  let exported: Set<string>;
  before(async () => {
    // No backends or models: the gateway still exports every metric it defines (prom-client
    // declares labelled metrics before their first sample) plus the Node defaults.
    gateway = await startGateway('version: metrics-scrape\nbackends: {}\nmodels: {}\n');
    const res = await fetch(`${gateway.adminUrl}/metrics`);
    assert.equal(res.status, 200);
    exported = exportedNames(await res.text());
  });
  after(async () => { await gateway?.stop(); });

  it('queries only metrics the gateway exports', () => {
    assert.ok(queried.size >= 10, `${queried.size} metrics queried`);
    const unknown = [...queried].filter((n) => !exported.has(n));
    assert.deepEqual(unknown, [], `not exported by the gateway: ${unknown.join(', ')}`);
  });

  it('uses infergate_* names exactly as src/observe/metrics.ts defines them', () => {
    const source = readFileSync(`${root}src/observe/metrics.ts`, 'utf8');
    const defined = new Set([...source.matchAll(/name: '(infergate_[a-z0-9_]+)'/g)].map((m) => m[1]!));
    for (const name of queried) {
      if (!name.startsWith('infergate_')) continue;
      const base = name.replace(/_(bucket|sum|count)$/, '');
      assert.ok(defined.has(name) || defined.has(base), `${name} is defined in metrics.ts`);
    }
  });

  it('covers traffic and errors by target, latency percentiles, batching, queue delay, breakers and shadow agreement', () => {
    for (const needed of ['infergate_requests_total', 'infergate_request_duration_seconds_bucket', 'infergate_backend_duration_seconds_bucket',
      'infergate_batch_rows_bucket', 'infergate_queue_delay_seconds_bucket', 'infergate_queue_rows', 'infergate_breaker_state',
      'infergate_shadow_agreement_ratio']) {
      assert.ok(queried.has(needed), needed);
    }
    assert.ok(exprs.some((e) => /histogram_quantile\(0\.99, sum by \(le, model\) \(rate\(infergate_request_duration_seconds_bucket/.test(e)));
    assert.ok(exprs.some((e) => /sum by \(target, code\) \(rate\(infergate_requests_total\{[^}]*code!~"2\.\."/.test(e)), 'errors by target');
  });

  it('shows the payload log: events by sink and outcome, and the queue', () => {
    assert.ok(queried.has('infergate_payload_events_total'));
    assert.ok(queried.has('infergate_payload_queue_events'));
  });

  it('every panel query goes to the selected Prometheus datasource', () => {
    for (const p of dashboard.panels.filter((x) => x.type !== 'row')) {
      assert.equal(p.datasource?.uid, '${datasource}', p.title);
      for (const t of p.targets ?? []) assert.equal(t.datasource?.uid, '${datasource}', p.title);
    }
  });
});
