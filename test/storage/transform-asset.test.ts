// A transform step's file from object storage, through the real gateway: the labels file of the
// iris model on the fake Cloud Storage is fetched in the step's load (the model is not ready
// until it has arrived), then names the classes; a file that cannot be fetched keeps the model
// not ready with the reason.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { FakeGcs } from '../support/fake-gcs.ts';
import { startGateway, type RunningGateway } from '../support/gateway.ts';
import { waitFor } from '../support/wait-for.ts';

const repo = fileURLToPath(new URL('../../backends/onnx', import.meta.url));
let gcs: FakeGcs;
const work = mkdtempSync(join(tmpdir(), 'storage-asset-'));
const running: RunningGateway[] = [];
const config = (file: string): string => `
server: { healthIntervalMs: 200, drainDelaySeconds: 0 }
frontends: { vertex: { model: iris } }
storage: { cacheDir: ${JSON.stringify(join(work, 'cache'))}, gcs: { apiEndpoint: "${gcs.url}" } }
backends: { local: { type: onnx, modelRepository: ${JSON.stringify(repo)} } }
models:
  iris:
    targets: [ { backend: local } ]
    transform: [ { labels: { file: "${file}" } } ]
`;
before(async () => {
  gcs = await new FakeGcs().listen();
  gcs.put('assets', 'iris/labels.txt', 'setosa\nversicolor\nvirginica\n');
});
after(async () => {
  await Promise.all(running.map((g) => g.stop()));
  await gcs.close();
  rmSync(work, { recursive: true, force: true });
});

it('fetches a gs:// labels file before the model is ready, then names the classes with it', async (t) => {
  let release!: () => void;
  gcs.faults.hold = new Promise<void>((r) => { release = r; });
  t.after(() => { release(); delete gcs.faults.hold; });
  const gw = await startGateway(config('gs://assets/iris/labels.txt'), { waitReady: false });
  running.push(gw);
  await waitFor(async () => gcs.mediaRequests('iris/labels.txt').length > 0);
  const held = await fetch(`${gw.url}/health`);
  assert.equal(held.status, 503);
  await held.arrayBuffer();
  release();
  delete gcs.faults.hold;
  await waitFor(async () => (await fetch(`${gw.url}/health`)).status === 200);
  const res = await fetch(`${gw.url}/predict`, { method: 'POST', body: '{"instances": [[5.1,3.5,1.4,0.2],[6.7,3.0,5.2,2.3]]}', headers: { 'content-type': 'application/json' } });
  assert.equal(res.status, 200);
  assert.deepEqual(((await res.json()) as { predictions: Array<{ label: string }> }).predictions.map((p) => p.label), ['setosa', 'virginica']);
});

it('keeps the model not ready, saying why, when the file cannot be fetched', async () => {
  const gw = await startGateway(config('gs://assets/iris/missing.txt'), { waitReady: false });
  running.push(gw);
  let body = '';
  await waitFor(async () => {
    const r = await fetch(`${gw.url}/predict`, { method: 'POST', body: '{"instances": [[5.1,3.5,1.4,0.2]]}', headers: { 'content-type': 'application/json' } });
    body = await r.text();
    return r.status === 503 && /load failed/.test(body);
  });
  assert.match(body, /gs:\/\/assets\/iris\/missing\.txt holds no objects/);
});
