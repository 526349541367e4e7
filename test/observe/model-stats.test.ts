// model-stats.ts: a target's counts as Triton's statistics extension keeps them, and one
// $model_stat summed over the targets serving a model.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { queueDelay } from '../../src/observe/metrics.ts';
import { modelStatistics, TargetStats } from '../../src/observe/model-stats.ts';

test('calls count requests and rows; executions count successful backend calls by batch size', () => {
  const s = new TargetStats();
  s.call(true, 3, 1000);
  s.call(true, 1, 500);
  s.call(false, 2, 700);
  s.execution(true, 4, 800);
  s.execution(false, 2, 100);
  s.execution(true, 1, 200);
  assert.equal(s.inferenceCount, 4, 'rows of successful requests');
  assert.equal(s.executionCount, 2, 'successful executions only');
  assert.deepEqual(s.success, { count: 2, ns: 1500 });
  assert.deepEqual(s.fail, { count: 1, ns: 700 });
  assert.deepEqual(s.computeInfer, { count: 2, ns: 1000 });
  assert.deepEqual(s.batches(), [[1, { count: 1, ns: 200 }], [4, { count: 1, ns: 800 }]]);
  assert.ok(s.lastInference > 0);
});

test('distinct batch sizes are bounded: a client choosing row counts cannot grow the table without end', () => {
  const s = new TargetStats();
  for (let rows = 1; rows <= 5000; rows++) s.execution(true, rows, 1);
  assert.equal(s.batches().length, 1024);
  assert.equal(s.executionCount, 5000, 'every execution still counts');
});

test('a model\'s stat sums its targets and reads the batch queue\'s wait from the metric', async () => {
  const a = new TargetStats();
  const b = new TargetStats();
  a.call(true, 2, 100); a.execution(true, 2, 60);
  b.call(true, 1, 50); b.execution(true, 1, 30); b.execution(true, 2, 40);
  queueDelay.labels('stats-test-a').observe(0.002);
  queueDelay.labels('stats-test-b').observe(0.001);
  queueDelay.labels('stats-test-other').observe(5);
  const stat = await modelStatistics('m', '1', [{ stats: a, labels: ['stats-test-a'] }, { stats: b, labels: ['stats-test-b'] }]) as Record<string, any>;
  assert.equal(stat.name, 'm');
  assert.equal(stat.version, '1');
  assert.equal(stat.inference_count, 3);
  assert.equal(stat.execution_count, 3);
  assert.deepEqual(stat.inference_stats.success, { count: 2, ns: 150 });
  assert.deepEqual(stat.inference_stats.compute_infer, { count: 3, ns: 130 });
  assert.equal(stat.inference_stats.queue.count, 2);
  assert.equal(stat.inference_stats.queue.ns, 3_000_000);
  assert.deepEqual(stat.batch_stats.map((x: any) => [x.batch_size, x.compute_infer.count, x.compute_infer.ns]), [[1, 1, 30], [2, 2, 100]]);
  const unversioned = await modelStatistics('m', undefined, []);
  assert.equal('version' in unversioned, false);
});
