// Version routes through the real gateway process: a version a target pins goes down that
// target's stages; a version no target pins is 404 (no side door to the backend); a target
// with `versions: any` serves any version through the same stages, with at most maxVersions
// paths alive, and calls named "<target>@any" in metric labels whatever versions clients send.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startGateway, type RunningGateway } from '../support/gateway.ts';

let backend: Server;
let calls: string[] = [];
let gw: RunningGateway;

before(async () => {
  // An HTTP model server that answers on /models/{model}/versions/{version}/predict with the
  // version it was asked for, so a test can see which backend path served a call.
  backend = createServer((req, res) => {
    if (req.method === 'GET') { res.writeHead(200).end('ok'); return; }
    const m = /^\/models\/([^/]+)\/versions\/([^/]*)\/predict$/.exec(req.url ?? '');
    calls.push(req.url ?? '');
    req.resume();
    req.on('end', () => {
      res.writeHead(m === null ? 404 : 200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(m === null ? { error: 'no such path' } : { predictions: [`${m[1]}@${m[2]}`] }));
    });
  });
  await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(backend.address() as AddressInfo).port}`;
  gw = await startGateway(`
frontends: { oci: { model: pinned } }
backends:
  b: { type: http, url: "${url}", predictPath: "/models/{model}/versions/{version}/predict", healthPath: /health }
models:
  pinned:
    targets: [ { backend: b, name: v1, version: "1" } ]
  open:
    batching: { maxBatchSize: 8 }
    breaker: { volumeThreshold: 5 }
    targets: [ { backend: b, name: any, versions: any, maxVersions: 2 } ]
`);
});

after(async () => {
  await gw?.stop();
  await new Promise((r) => backend?.close(r));
});

async function predict(model: string, version?: string): Promise<{ status: number; target: string | null; body: Record<string, unknown> }> {
  const headers: Record<string, string> = { 'content-type': 'application/json', model_name: model };
  if (version !== undefined) headers.model_version = version;
  const res = await fetch(`${gw.url}/predict`, { method: 'POST', headers, body: JSON.stringify({ instances: [[1]] }) });
  return { status: res.status, target: res.headers.get('x-infergate-target'), body: await res.json() as Record<string, unknown> };
}

test('a pinned version is served by the target that pins it', async () => {
  const r = await predict('pinned', '1');
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.target, 'v1');
  assert.deepEqual(r.body.predictions, ['pinned@1']);
});

test('a version no target pins is 404 model_not_found and never reaches the backend', async () => {
  calls = [];
  const r = await predict('pinned', '2');
  assert.equal(r.status, 404);
  assert.equal(r.body.code, 'model_not_found');
  assert.match(String(r.body.error), /version "2"/);
  assert.deepEqual(calls, []);
});

test('a target open to any version serves each named version on its own backend path, named <target>@any', async () => {
  const a = await predict('open', '7');
  assert.equal(a.status, 200, JSON.stringify(a.body));
  assert.deepEqual(a.body.predictions, ['open@7']);
  assert.equal(a.target, 'any@any');
  const b = await predict('open', '8');
  assert.deepEqual(b.body.predictions, ['open@8']);
  assert.equal(b.target, 'any@any');
  const c = await predict('open', '9');
  assert.equal(c.status, 200);
  assert.deepEqual(c.body.predictions, ['open@9']);
  assert.equal(c.target, 'any@any');
  // Without a version it is the target's own path (the backend's default version).
  const d = await predict('open');
  assert.equal(d.status, 200);
  assert.equal(d.target, 'any');
});

test('however many versions clients name, paths and metric labels stay bounded', async () => {
  for (let v = 100; v < 140; v++) assert.equal((await predict('open', String(v))).status, 200);
  const status = await (await fetch(`${gw.adminUrl}/admin/status`)).json() as {
    models: Record<string, { targets: Array<{ name: string; versions?: { live: string[]; max: number } }> }>;
  };
  const open = status.models.open!.targets[0]!;
  assert.equal(open.versions!.max, 2);
  assert.ok(open.versions!.live.length <= 2, JSON.stringify(open.versions));
  assert.deepEqual(open.versions!.live, ['138', '139']);
  const metrics = await (await fetch(`${gw.adminUrl}/metrics`)).text();
  const labels = new Set([...metrics.matchAll(/target="(any[^"]*)"/g)].map((m) => m[1]));
  assert.deepEqual([...labels].sort(), ['any', 'any@any']);
});
