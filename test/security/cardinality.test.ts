// Client-chosen names never become unbounded state. 20,000 requests with random versions and
// model names, through every route that takes one (KServe v2 infer and metadata, OCI's
// model_version header), against a Triton backend and a model open to any version: /metrics
// gains no series, the gateway's memory after GC stays flat, and a Triton backend is not asked for the
// metadata of versions the config does not serve.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { startFakeTriton, type FakeTriton } from '../support/fake-triton.ts';
import { startGateway, type RunningGateway } from '../support/gateway.ts';

let triton: FakeTriton;
let gw: RunningGateway;
// A probe inside the gateway (NODE_OPTIONS --import): on SIGUSR2 it collects garbage and logs
// its memory, so the test reads what is retained rather than what the allocator kept.
const dir = mkdtempSync(join(tmpdir(), 'infergate-cardinality-'));
const probeFile = join(dir, 'probe.mjs');
writeFileSync(probeFile, `
let seq = 0;
process.on('SIGUSR2', () => {
  for (let i = 0; i < 3; i++) globalThis.gc();
  const m = process.memoryUsage();
  process.stderr.write(JSON.stringify({ message: 'memory-probe', seq: ++seq, heapMb: m.heapUsed / 2 ** 20, rssMb: m.rss / 2 ** 20 }) + '\\n');
});
`);

before(async () => {
  triton = await startFakeTriton();
  gw = await startGateway(`
frontends: { kserve: {}, oci: { model: linear } }
backends: { tri: { type: triton, url: "${triton.url}" } }
models:
  linear: { targets: [ { backend: tri, version: "1" } ] }
  open: { targets: [ { backend: tri, model: linear, versions: any, maxVersions: 4 } ] }
`, { env: { NODE_OPTIONS: `--expose-gc --import=${probeFile}` } });
});

after(async () => {
  await gw?.stop();
  await triton?.close();
  rmSync(dir, { recursive: true, force: true });
});

let probes = 0;
async function memory(): Promise<{ heapMb: number; rssMb: number }> {
  probes++;
  gw.process.kill('SIGUSR2');
  const line = await gw.waitForLog(new RegExp(`"memory-probe","seq":${probes},`), 10_000);
  return JSON.parse(line) as { heapMb: number; rssMb: number };
}

const body = JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }] });

// The gateway's own series (Node's defaults add a GC kind or two the first time one runs).
async function series(): Promise<number> {
  return (await (await fetch(`${gw.adminUrl}/metrics`)).text()).split('\n').filter((l) => l.startsWith('infergate_')).length;
}

async function storm(n: number, offset: number): Promise<Record<string, number>> {
  const pool = new Pool(gw.url, { connections: 16 });
  const statuses: Record<string, number> = {};
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < n) {
      const i = offset + next++;
      const kind = i % 5;
      // The open model's versions start with "o", every other made-up version with "v".
      const made = `${kind === 4 ? 'o' : 'v'}${(i * 2654435761 % 2 ** 32).toString(36)}`;
      const res = kind === 0 ? await pool.request({ path: `/v2/models/linear/versions/${made}/infer`, method: 'POST', body, headers: { 'content-type': 'application/json' } })
        : kind === 1 ? await pool.request({ path: `/v2/models/linear/versions/${made}`, method: 'GET' })
          : kind === 2 ? await pool.request({ path: '/predict', method: 'POST', body, headers: { 'content-type': 'application/json', model_version: made } })
            : kind === 3 ? await pool.request({ path: `/v2/models/${made}/infer`, method: 'POST', body, headers: { 'content-type': 'application/json' } })
              : await pool.request({ path: `/v2/models/open/versions/${made}/infer`, method: 'POST', body, headers: { 'content-type': 'application/json' } });
      await res.body.dump();
      const key = `${kind}:${res.statusCode}`;
      statuses[key] = (statuses[key] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  await pool.close();
  return statuses;
}

test('20,000 requests naming random versions and models leave /metrics, RSS and backend calls flat', async () => {
  // Warm-up: JIT, pools, every status code's series once, and the allocator's high-water mark
  // for this concurrency (RSS climbs through the first storm, then stays).
  await storm(10_000, 0);
  await series(); // the first scrape adds the admin route's own series
  const seriesBefore = await series();
  const before = await memory();
  const callsBefore = triton.calls.length;
  const statuses = await storm(20_000, 10_000);
  const seriesAfter = await series();
  const after = await memory();
  // Unpinned versions and unknown models are 404 at once; versions of the open model reach
  // Triton through at most maxVersions live paths (the fake serves only version 1: 404).
  // (Triton answers an unknown version 400 "unknown model" on infer, which reaches the client as a 4xx.)
  for (const [key, n] of Object.entries(statuses)) assert.match(key, /^([0-3]:404|4:40[04])$/, `unexpected ${key} × ${n}`);
  assert.ok(seriesAfter - seriesBefore === 0, `series ${seriesBefore} → ${seriesAfter}`);
  assert.ok(after.heapMb - before.heapMb < 16, `heap after GC ${before.heapMb.toFixed(0)} → ${after.heapMb.toFixed(0)} MB`);
  // RSS moves with the allocator's arenas (±60 MB here run to run), so its bound is looser; the
  // unbounded growth this guards against was +490 MB per 20,000 requests.
  assert.ok(after.rssMb - before.rssMb < 128, `RSS after GC ${before.rssMb.toFixed(0)} → ${after.rssMb.toFixed(0)} MB`);
  const calls = triton.calls.slice(callsBefore);
  // Versions the config does not serve never reach Triton, for infer or metadata; versions of
  // the open model do, one path (and one metadata fetch of two calls) per version at most.
  assert.deepEqual(calls.filter((c) => c.url.includes('/versions/v')).map((c) => c.url), []);
  const open = calls.filter((c) => c.url.includes('/versions/o'));
  assert.ok(open.length <= 3 * 4_000, `${open.length} calls for 4,000 open versions`);
  const status = await (await fetch(`${gw.adminUrl}/admin/status`)).json() as { models: { open: { targets: Array<{ versions: { live: string[] } }> } } };
  assert.ok(status.models.open.targets[0]!.versions.live.length <= 4);
  console.log(JSON.stringify({ seriesBefore, seriesAfter, heapMb: [before.heapMb, after.heapMb].map(Math.round), rssMb: [before.rssMb, after.rssMb].map(Math.round), tritonCalls: calls.length, statuses }));
});
