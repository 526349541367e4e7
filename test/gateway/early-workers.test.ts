// gateway/early-workers.ts: a config whose text names an onnx backend (block or flow style) gets
// one ONNX worker before its schemas load; another config gets none; and the worker is ended
// once the validated config turns out to have no onnx backend that loads at start.

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import type { Worker } from 'node:worker_threads';
import { settleEarlyWorkers, startEarlyWorkers } from '../../src/gateway/early-workers.ts';

const dir = mkdtempSync(join(tmpdir(), 'early-workers-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const started: Worker[] = [];
const onWorker = (w: Worker): void => void started.push(w);
process.on('worker', onWorker);
after(() => { process.off('worker', onWorker); });

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

it('starts none for a config without an onnx backend, or a missing file', async () => {
  startEarlyWorkers(file('http.yaml', 'backends:\n  b: { type: http, url: "http://x" }\n  # type: onnx (a comment)\n'));
  startEarlyWorkers(join(dir, 'missing.yaml'));
  await new Promise((r) => setTimeout(r, 100)); // a worker is announced within a tick or two of its start
  assert.equal(started.length, 0);
});

for (const [style, text] of [['block', 'backends:\n  local:\n    type: onnx\n    modelRepository: m\n'], ['flow', 'backends: { local: { type: onnx, modelRepository: m } }\n']] as const) {
  it(`starts one for an onnx backend in ${style} style, ended when the validated config has none that loads at start`, async () => {
    const announced = once(process, 'worker');
    startEarlyWorkers(file(`${style}.yaml`, text));
    const [worker] = await announced as [Worker];
    const exited = once(worker, 'exit');
    settleEarlyWorkers({ backends: { local: { type: 'onnx', lazy: true } as { type: string } } });
    assert.deepEqual(await exited, [0]);
  });
}
