// Model storage through the real gateway process: an onnx repository from the fake Cloud
// Storage (the process listens while it downloads, readiness answers 503 "downloading model X
// (N %)", /admin/status shows the bytes, the log the rate and ETA), two gateways sharing one
// cache folder (one downloads, the other waits and reuses), a new generation fetched on
// reload, and a spawned server handed the local path of an s3:// repository.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { FakeGcs } from '../support/fake-gcs.ts';
import { FakeS3 } from '../support/fake-s3.ts';
import { startGateway, type RunningGateway } from '../support/gateway.ts';
import { freePort } from '../support/ports.ts';
import { waitFor } from '../support/wait-for.ts';

const irisModel = readFileSync(fileURLToPath(new URL('../../backends/onnx/iris/1/model.onnx', import.meta.url)));
const vocab = randomBytes(1024 * 1024);
const generationServer = fileURLToPath(new URL('../support/generation-server.ts', import.meta.url));

interface Status { ready: boolean; storage: { downloads: Array<{ uri: string; for: string; phase: string; doneBytes: number; totalBytes: number; percent: number; holder?: string; cached: boolean }> } }

describe('model storage behind the gateway', () => {
  let gcs: FakeGcs;
  const work = mkdtempSync(join(tmpdir(), 'storage-gateway-'));
  const running: RunningGateway[] = [];
  const config = (cacheDir: string): string => `
server: { healthIntervalMs: 200, drainDelaySeconds: 0 }
frontends: { vertex: { model: iris }, kserve: {} }
storage: { cacheDir: ${JSON.stringify(cacheDir)}, partBytes: 256kb, parallelParts: 4, progressIntervalMs: 200ms, gcs: { apiEndpoint: "${gcs.url}" } }
backends: { local: { type: onnx, modelRepository: "gs://models/serving" } }
models: { iris: { targets: [ { backend: local } ] } }
`;
  const status = async (gw: RunningGateway): Promise<Status> => (await fetch(`${gw.adminUrl}/admin/status`)).json() as Promise<Status>;
  const total = irisModel.length + vocab.length;
  // Bytes the fake served for each object, over every range: once per object when nothing is fetched twice.
  const servedBytes = (name: string): number => gcs.mediaRequests(name).reduce((a, g) => a + (g.range === undefined ? 0 : g.range.end - g.range.start + 1), 0);

  before(async () => {
    gcs = await new FakeGcs().listen();
    gcs.put('models', 'serving/iris/1/model.onnx', irisModel);
    gcs.put('models', 'serving/assets/vocab.bin', vocab);
  });
  after(async () => {
    await Promise.all(running.map((g) => g.stop()));
    await gcs.close();
    rmSync(work, { recursive: true, force: true });
  });

  it('listens while downloading, says how far it got in readiness, /admin/status and the log, then serves; a second gateway waits for the first and reuses its download', async (t) => {
    const cacheDir = join(work, 'shared-cache');
    let release!: () => void;
    gcs.faults.hold = new Promise<void>((r) => { release = r; });
    t.after(() => { release(); delete gcs.faults.hold; }); // a failed assertion must not leave later tests held
    const first = await startGateway(config(cacheDir), { waitReady: false });
    running.push(first);
    // Liveness: the port answers while the model arrives; readiness says what it waits for.
    let health = { status: 0, body: '' };
    await waitFor(async () => {
      const r = await fetch(`${first.url}/health`);
      health = { status: r.status, body: await r.text() };
      return /downloading model gs:\/\/models\/serving for backend \\"local\\" \(\d+ %\)/.test(health.body);
    });
    assert.equal(health.status, 503);
    assert.equal(JSON.parse(health.body).code, 'not_ready');
    assert.equal((await fetch(`${first.url}/v2/health/live`)).status, 200, 'liveness passes while the model downloads');
    const s = await status(first);
    assert.equal(s.ready, false);
    const d = s.storage.downloads.find((x) => x.uri === 'gs://models/serving')!;
    assert.equal(d.phase, 'downloading');
    assert.equal(d.totalBytes, total);
    assert.ok(d.doneBytes > 0 && d.doneBytes < total, `done ${d.doneBytes} of ${total}`);
    assert.equal(d.for, 'backend "local"');
    await first.waitForLog(/downloading model gs:\/\/models\/serving: [\d.]+ of [\d.]+ MB \(\d+ %\), [\d.]+ MB\/s, ETA/);

    // A second gateway on the same cache folder waits for the lock instead of downloading too.
    const second = await startGateway(config(cacheDir), { waitReady: false });
    running.push(second);
    await waitFor(async () => (await status(second)).storage.downloads.some((x) => x.phase === 'waiting'));
    const waiting = (await status(second)).storage.downloads.find((x) => x.phase === 'waiting')!;
    assert.match(waiting.holder!, new RegExp(`^pid ${first.process.pid} on `));
    assert.match(await (await fetch(`${second.url}/health`)).text(), /waiting for pid \d+ on .* to download model gs:\/\/models\/serving/);

    release();
    delete gcs.faults.hold;
    await first.waitForLog(/"message":"started"/);
    await second.waitForLog(/"message":"started"/);
    for (const gw of [first, second]) {
      assert.equal((await fetch(`${gw.url}/health`)).status, 200);
      const res = await fetch(`${gw.url}/predict`, { method: 'POST', body: '{"instances": [[5.1,3.5,1.4,0.2],[6.7,3.0,5.2,2.3]]}', headers: { 'content-type': 'application/json' } });
      assert.equal(res.status, 200);
      assert.deepEqual(((await res.json()) as { predictions: Array<{ label: number }> }).predictions.map((p) => p.label), [0, 2]);
    }
    assert.match(first.logs(), /downloaded model gs:\/\/models\/serving/);
    assert.match(second.logs(), /model gs:\/\/models\/serving served from the cache/);
    assert.doesNotMatch(second.logs(), /downloaded model/);
    assert.equal(servedBytes('serving/assets/vocab.bin'), vocab.length);
    assert.equal(servedBytes('serving/iris/1/model.onnx'), irisModel.length);
    assert.equal((await status(second)).storage.downloads[0]!.cached, true);

    // A third start on the filled cache downloads nothing.
    gcs.seen.length = 0;
    const third = await startGateway(config(cacheDir));
    running.push(third);
    assert.equal(gcs.seen.filter((x) => x.query.get('alt') === 'media').length, 0);
    assert.equal((await fetch(`${third.url}/health`)).status, 200);
    await third.stop();

    // A new generation of an object: a reload fetches the new version and swaps it in.
    gcs.seen.length = 0;
    const generation = gcs.put('models', 'serving/assets/vocab.bin', randomBytes(1000));
    const reload = await fetch(`${first.adminUrl}/admin/reload`, { method: 'POST' });
    assert.equal(reload.status, 200, await reload.clone().text());
    await first.waitForLog(/the model of backend \\"local\\" changed at its source/);
    assert.ok(gcs.mediaRequests('serving/assets/vocab.bin').some((g) => g.query.get('generation') === generation));
    assert.equal((await fetch(`${first.url}/health`)).status, 200);
    // An unchanged source on reload: nothing fetched again.
    gcs.seen.length = 0;
    assert.equal((await fetch(`${first.adminUrl}/admin/reload`, { method: 'POST' })).status, 200);
    assert.equal(gcs.seen.filter((x) => x.query.get('alt') === 'media').length, 0);
  });

  it('a gateway stopped mid-download leaves no lock, and the next one resumes from the bytes on disk', async () => {
    const cacheDir = join(work, 'resume-cache');
    const big = randomBytes(3 * 1024 * 1024);
    gcs.put('models', 'resume/iris/1/model.onnx', irisModel);
    gcs.put('models', 'resume/assets/big.bin', big);
    gcs.faults.slow = { chunkBytes: 64 * 1024, pauseMs: 40 };
    const yaml = config(cacheDir).replace('gs://models/serving', 'gs://models/resume').replace('partBytes: 256kb', 'partBytes: 8mb');
    try {
      const first = await startGateway(yaml, { waitReady: false });
      running.push(first);
      // Until the saved progress beside the partial file says some bytes are on disk.
      const saved = (): number => {
        if (!existsSync(cacheDir)) return 0; // the gateway makes it once it starts fetching
        for (const d of readdirSync(cacheDir)) {
          const state = join(cacheDir, d, 'partial', 'assets', 'big.bin.partial.json');
          if (existsSync(state)) return (JSON.parse(readFileSync(state, 'utf8')) as { done: number[] }).done.reduce((a, b) => a + b, 0);
        }
        return 0;
      };
      await waitFor(async () => saved() > 0);
      await first.stop();
      assert.deepEqual(readdirSync(cacheDir).filter((f) => f.endsWith('.lock')), [], 'the stopped gateway removed its lock');
      const onDisk = saved();
      delete gcs.faults.slow;
      gcs.seen.length = 0;
      const second = await startGateway(yaml);
      running.push(second);
      const gets = gcs.mediaRequests('resume/assets/big.bin');
      assert.equal(gets.length, 1);
      assert.ok(gets[0]!.range!.start >= onDisk && gets[0]!.range!.start > 0, `resumed at ${gets[0]!.range!.start}, ${onDisk} saved`);
      assert.doesNotMatch(second.logs(), /waiting for/);
      assert.equal((await fetch(`${second.url}/health`)).status, 200);
      await second.stop();
    } finally {
      delete gcs.faults.slow;
    }
  });

  it('a failed download names the object and the reason, and the gateway exits instead of hanging', async () => {
    gcs.faults.deny.set('models/serving/iris/1/model.onnx', 403);
    try {
      const gw = await startGateway(config(join(work, 'denied-cache')), { waitReady: false });
      running.push(gw);
      const line = await gw.waitForLog(/cannot start/);
      assert.match(line, /downloading gs:\/\/models\/serving\/iris\/1\/model\.onnx failed with 403: .*storage\.objects\.get/);
      await new Promise<void>((r) => gw.process.once('exit', () => r()));
    } finally {
      gcs.faults.deny.clear();
    }
  });

  it('downloads spawn.modelRepository from s3:// before the process starts and passes its local path; a new version on reload starts a new process on it', async () => {
    const s3 = await new FakeS3().listen();
    try {
      s3.put('sm-bucket', 'jobs/1/output/model/config.pbtxt', 'name: "m"');
      const port = await freePort();
      const gw = await startGateway(`
server: { healthIntervalMs: 200, drainDelaySeconds: 0 }
frontends: { vertex: { model: m } }
storage: { cacheDir: ${JSON.stringify(join(work, 'spawn-cache'))}, s3: { endpoint: "${s3.url}", forcePathStyle: true, region: us-east-1 } }
backends:
  be:
    type: http
    url: "http://127.0.0.1:${port}"
    spawn:
      modelRepository: s3://sm-bucket/jobs/1/output/model
      stopGraceSeconds: 2
      command: [${JSON.stringify(process.execPath)}, ${JSON.stringify(generationServer)}, "{port}"]
      env: { GEN: "{modelRepository}" }
models: { m: { targets: [ { backend: be } ] } }
`, { env: { AWS_ACCESS_KEY_ID: 'AKIDFAKE', AWS_SECRET_ACCESS_KEY: 'fake-secret' } });
      running.push(gw);
      const served = async (): Promise<string> => {
        const res = await fetch(`${gw.url}/predict`, { method: 'POST', body: '{"instances": [[1]]}', headers: { 'content-type': 'application/json' } });
        assert.equal(res.status, 200);
        return ((await res.json()) as { predictions: string[] }).predictions[0]!.replace(/^gen/, '');
      };
      const path = await served();
      assert.ok(path.startsWith(join(work, 'spawn-cache')), path);
      assert.equal(readFileSync(join(path, 'config.pbtxt'), 'utf8'), 'name: "m"');
      // The repository changes in the bucket: a reload starts a new process on the new copy.
      s3.put('sm-bucket', 'jobs/1/output/model/config.pbtxt', 'name: "m2"');
      const reload = await fetch(`${gw.adminUrl}/admin/reload`, { method: 'POST' });
      assert.equal(reload.status, 200, await reload.clone().text());
      await gw.waitForLog(/the model of backend \\"be\\" changed at its source/);
      const after = await served();
      assert.notEqual(after, path);
      assert.equal(readFileSync(join(after, 'config.pbtxt'), 'utf8'), 'name: "m2"');
      await gw.stop();
    } finally {
      await s3.close();
    }
  });
});
