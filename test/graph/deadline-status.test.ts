// A graph's deadline covers the whole graph: each step runs with what is left of it (the deadline
// Triton is sent), and a step slower than that answers 504 within the graph's timeoutMs, though
// the step model's own timeoutMs is far longer. And what the
// graph did is in /admin/status (a `graph` block, each step's counts) and /metrics.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startNodeServer, type Proc } from '../../bench/support/processes.ts';
import { expectError } from '../support/expect-error.ts';
import { startFakeTriton, type FakeTriton } from '../support/fake-triton.ts';
import { startGateway, type RunningGateway } from '../support/gateway.ts';
import { startRowModels, type RowModelServer } from '../support/row-models.ts';

interface StepStatus { model: string; ready: boolean; calls: number; ok: number; failed: number; dropped: number; meanMs: number | null }

describe('a graph\'s deadline, status and metrics', () => {
  let models: RowModelServer;
  let slow: Proc;
  let triton: FakeTriton;
  let gw: RunningGateway;
  before(async () => {
    models = await startRowModels();
    triton = await startFakeTriton();
    slow = await startNodeServer(new URL('../support/slow-backend.ts', import.meta.url).href);
    gw = await startGateway(`
frontends: { kserve: {} }
backends:
  rows: { type: http, url: "${models.url}", predictPath: "/m/{model}" }
  slow: { type: http, url: "http://127.0.0.1:${slow.port}", predictPath: /predict, healthPath: /health }
  triton: { type: triton, url: "${triton.url}" }
models:
  double: { targets: [ { backend: rows } ] }
  sum: { targets: [ { backend: slow } ], timeoutMs: 20s }
  linear: { targets: [ { backend: triton } ], timeoutMs: 20s }
  g: { graph: { sequence: [double, sum] }, timeoutMs: 300ms }
  tg: { graph: { sequence: [linear] }, timeoutMs: 300ms }
`);
  });
  after(async () => {
    await gw?.stop();
    slow?.stop();
    await triton?.close();
    await models?.close();
  });

  const call = (instances: unknown[]): Promise<Response> => fetch(`${gw.url}/v1/models/g:predict`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ instances }),
  });
  const steps = async (): Promise<StepStatus[]> => {
    const status = await (await fetch(`${gw.adminUrl}/admin/status`)).json() as { models: Record<string, { graph: { kind: string; steps: StepStatus[] } }> };
    assert.equal(status.models.g!.graph.kind, 'sequence');
    return status.models.g!.graph.steps;
  };

  it('answers through both steps while they are quick', async () => {
    const res = await call([[1, 2], [3, 4]]);
    // double → [[2,4],[6,8]]; the slow backend sums each row.
    assert.deepEqual(await res.json(), { predictions: [6, 14] });
  });

  it('a step\'s deadline is what is left of the graph\'s: Triton is sent at most the graph\'s 300 ms, not the step model\'s 20 s', async () => {
    const res = await fetch(`${gw.url}/v2/models/tg/infer`, { method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }] }) });
    assert.equal(res.status, 200, await res.text());
    const sent = triton.calls.filter((c) => c.url.endsWith('/infer')).at(-1)!;
    const length = Number(sent.headers['inference-header-content-length'] ?? sent.body.length);
    const timeout = (JSON.parse(sent.body.subarray(0, length).toString()) as { parameters: { timeout: number } }).parameters.timeout;
    assert.ok(timeout > 0 && timeout <= 300_000, `Triton's timeout parameter is ${timeout} µs`);
  });

  it('a step slower than the rest of the graph\'s budget is cut at the graph\'s deadline, not its own', async () => {
    await fetch(`http://127.0.0.1:${slow.port}/admin/delay?ms=5000`);
    try {
      const before = await steps();
      const body = await expectError(await call([[1, 2]]), 504, 'deadline_exceeded');
      assert.match(body.error, /within \d+ ms for model "(g|sum)"/);
      // The step shares the graph call's signal and deadline: it had ended, failed, when the graph
      // answered, rather than waiting on for the 5 s backend within its own 20 s.
      const after = await steps();
      assert.equal(after[1]!.failed, before[1]!.failed + 1);
      assert.equal(after[1]!.ok, before[1]!.ok);
      assert.equal(after[0]!.ok, before[0]!.ok + 1);
    } finally {
      await fetch(`http://127.0.0.1:${slow.port}/admin/delay?ms=0`);
    }
  });

  it('/admin/status shows each step with its counts; /metrics has them under config labels', async () => {
    const [first, second] = await steps();
    assert.deepEqual([first!.model, first!.ready, first!.calls, first!.ok, first!.failed], ['double', true, 2, 2, 0]);
    assert.deepEqual([second!.model, second!.calls, second!.ok, second!.failed, second!.dropped], ['sum', 2, 1, 1, 0]);
    assert.equal(typeof second!.meanMs, 'number');
    const metrics = await (await fetch(`${gw.adminUrl}/metrics`)).text();
    assert.match(metrics, /infergate_graph_step_calls_total\{model="g",step="double",outcome="ok"\} 2\n/);
    assert.match(metrics, /infergate_graph_step_calls_total\{model="g",step="sum",outcome="failed"\} 1\n/);
    assert.match(metrics, /infergate_graph_step_duration_seconds_count\{model="g",step="sum"\} 2\n/);
  });
});
