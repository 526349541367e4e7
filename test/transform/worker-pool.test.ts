// The worker pool on its own: a bounded queue (429 beyond it), calls aborted while they wait,
// and close() failing what waits instead of leaving it hanging.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { pino } from 'pino';
import { WorkerPool } from '../../src/transform/worker-pool.ts';

const dir = mkdtempSync(join(tmpdir(), 'worker-pool-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const script = new URL('../../src/transform/module-worker.ts', import.meta.url);
const file = join(dir, 'slow.js');
writeFileSync(file, 'export async function preprocess(r) { await new Promise((ok) => setTimeout(ok, Number(r.headers.wait))); return { instances: [r.headers.wait] }; }\n');

function pool(maxQueue: number): WorkerPool {
  return new WorkerPool({ script, workerData: { file, model: 'm', options: {}, generation: 1 }, size: 1, maxQueue, name: 'module slow.js', log: pino({ level: 'silent' }) });
}

test('calls beyond maxQueue are refused with 429 queue_full; the others are answered in order', async () => {
  const p = pool(1);
  try {
    await p.start();
    const signal = new AbortController().signal;
    const first = p.run({ fn: 'preprocess', request: { headers: { wait: '200' } } }, signal);
    const second = p.run({ fn: 'preprocess', request: { headers: { wait: '1' } } }, signal);
    await assert.rejects(p.run({ fn: 'preprocess', request: { headers: { wait: '1' } } }, signal), (e: { code: string; status: number }) => e.code === 'queue_full' && e.status === 429);
    assert.deepEqual(await first, { id: 1, ok: true, value: { instances: ['200'] } });
    assert.deepEqual(await second, { id: 2, ok: true, value: { instances: ['1'] } });
  } finally {
    await p.close();
  }
});

test('a waiting call aborted leaves the queue; close() fails the calls still waiting', async () => {
  const p = pool(10);
  await p.start();
  const signal = new AbortController().signal;
  const running = p.run({ fn: 'preprocess', request: { headers: { wait: '300' } } }, signal);
  const gone = new AbortController();
  const aborted = p.run({ fn: 'preprocess', request: { headers: { wait: '1' } } }, gone.signal);
  gone.abort(new Error('client left'));
  await assert.rejects(aborted, /client left/);
  assert.equal(p.status().queued, 0);
  const waiting = assert.rejects(p.run({ fn: 'preprocess', request: { headers: { wait: '1' } } }, signal), (e: { code: string }) => e.code === 'not_ready');
  const cut = assert.rejects(running, (e: { code: string }) => e.code === 'not_ready');
  await p.close();
  await waiting;
  await cut;
});
