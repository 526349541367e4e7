// The shared cache: a lock held by another process is waited for and its work reused; a stale
// lock (its holder died) is taken over; least recently used versions are pruned to the budget,
// never one in use; a cached copy serves a start while storage cannot be reached.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import { hostname, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createLogger, silentLogger } from '../../src/observe/log.ts';
import { entryFor, tryLock } from '../../src/storage/cache.ts';
import { storageStatus } from '../../src/storage/progress.ts';
import { storageSchema } from '../../src/storage/schema.ts';
import { configureStorage, fetchArtifact } from '../../src/storage/store.ts';
import { FakeGcs } from '../support/fake-gcs.ts';
import { parseRange } from '../support/object-store-faults.ts';
import { waitFor } from '../support/wait-for.ts';

describe('the artifact cache', () => {
  let gcs: FakeGcs;
  const work = mkdtempSync(join(tmpdir(), 'storage-cache-'));
  let n = 0;
  const configure = (extra: Record<string, unknown> = {}): string => {
    const cacheDir = join(work, `cache-${++n}`);
    configureStorage(storageSchema.parse({ cacheDir, gcs: { apiEndpoint: gcs.url }, ...extra }));
    return cacheDir;
  };
  before(async () => { gcs = await new FakeGcs().listen(); });
  after(async () => {
    await gcs.close();
    rmSync(work, { recursive: true, force: true });
  });

  it('waits while another process holds the lock, then downloads once it is released', async () => {
    const cacheDir = configure();
    const generation = gcs.put('m', 'wait/model.onnx', 'bytes');
    mkdirSync(cacheDir, { recursive: true });
    const other = await tryLock(entryFor(cacheDir, 'gs://m/wait/model.onnx', generation), 60_000, silentLogger);
    assert.ok('release' in other);
    const pending = fetchArtifact('gs://m/wait/model.onnx', 'backend "b"', silentLogger);
    await waitFor(async () => storageStatus().find((s) => s.uri === 'gs://m/wait/model.onnx')?.phase === 'waiting');
    assert.match(storageStatus().find((s) => s.uri === 'gs://m/wait/model.onnx')!.holder!, new RegExp(`pid ${process.pid} on `));
    assert.equal(gcs.mediaRequests('wait/model.onnx').length, 0);
    await other.release();
    const got = await pending;
    assert.equal(readFileSync(got.path, 'utf8'), 'bytes');
    assert.equal(gcs.mediaRequests('wait/model.onnx').length, 1);
    got.release();
  });

  it('takes over a lock not refreshed for staleLockMs (its holder died), saying so in the log', async () => {
    const cacheDir = configure({ staleLockMs: '2s' });
    const generation = gcs.put('m', 'stale/model.onnx', 'bytes');
    const lock = entryFor(cacheDir, 'gs://m/stale/model.onnx', generation).lock;
    mkdirSync(dirname(lock), { recursive: true });
    writeFileSync(lock, JSON.stringify({ holder: 'pid 99999 on dead-pod' }));
    const old = new Date(Date.now() - 60_000);
    utimesSync(lock, old, old);
    const lines: string[] = [];
    const log = createLogger('info', { write: (l: string) => { lines.push(l); return true; } } as unknown as NodeJS.WritableStream);
    const got = await fetchArtifact('gs://m/stale/model.onnx', 'test', log);
    assert.equal(got.downloaded, true);
    await waitFor(async () => lines.some((l) => l.includes('took over the lock of pid 99999 on dead-pod')));
    assert.equal(existsSync(lock), false);
    got.release();
  });

  it('takes over at once a fresh lock whose holder ran on this host and is gone (a restarted container)', async () => {
    const cacheDir = configure({ staleLockMs: '1h' });
    const generation = gcs.put('m', 'restarted/model.onnx', 'bytes');
    const lock = entryFor(cacheDir, 'gs://m/restarted/model.onnx', generation).lock;
    mkdirSync(dirname(lock), { recursive: true });
    // A pid that is not running here: a child that has exited.
    const gone = spawnSync(process.execPath, ['-e', '0']).pid;
    writeFileSync(lock, JSON.stringify({ holder: `pid ${gone} on ${hostname()}`, pid: gone, host: hostname() }));
    const got = await fetchArtifact('gs://m/restarted/model.onnx', 'test', silentLogger);
    assert.equal(got.downloaded, true);
    assert.equal(existsSync(lock), false);
    got.release();
  });

  it('prunes the least recently used versions to maxCacheBytes, but never one in use or used in the last minutes', async () => {
    const cacheDir = configure({ maxCacheBytes: 1500 });
    gcs.put('m', 'p/a.bin', Buffer.alloc(1000, 1));
    gcs.put('m', 'p/b.bin', Buffer.alloc(1000, 2));
    gcs.put('m', 'p/c.bin', Buffer.alloc(1000, 3));
    gcs.put('m', 'p/d.bin', Buffer.alloc(1000, 4));
    const a = await fetchArtifact('gs://m/p/a.bin', 'test', silentLogger);
    a.release(); // no longer served from here, but just handed out: another pod may be loading it
    const d = await fetchArtifact('gs://m/p/d.bin', 'test', silentLogger);
    assert.equal(existsSync(a.path), true, 'used within the grace period: kept, over budget or not');
    d.release();
    const lastUsed = new Date(Date.now() - 60 * 60_000);
    for (const p of [a.path, d.path]) utimesSync(join(dirname(dirname(p)), 'ready.json'), lastUsed, lastUsed);
    const b = await fetchArtifact('gs://m/p/b.bin', 'test', silentLogger);
    assert.equal(existsSync(a.path), false, 'the released version unused for an hour was pruned');
    assert.equal(existsSync(d.path), false);
    assert.equal(existsSync(b.path), true);
    const c = await fetchArtifact('gs://m/p/c.bin', 'test', silentLogger);
    assert.equal(existsSync(b.path), true, 'a version in use stays, over budget or not');
    assert.equal(existsSync(c.path), true);
    assert.ok(b.path.startsWith(cacheDir));
    b.release();
    c.release();
  });

  it('serves the cached copy when the storage service cannot be reached', async () => {
    configure();
    // Serves one 5-byte file, whole (HEAD, GET) or as the range asked for.
    const server = createServer((req, res) => {
      const r = parseRange(req.headers.range, 5);
      const headers = { etag: '"e1"', 'accept-ranges': 'bytes' };
      if (req.method === 'HEAD' || r === undefined || r === 'bad') res.writeHead(200, { ...headers, 'content-length': 5 });
      else res.writeHead(206, { ...headers, 'content-range': `bytes ${r.start}-${r.end}/5` });
      res.end(req.method === 'HEAD' ? undefined : r === undefined || r === 'bad' ? 'model' : 'model'.slice(r.start, r.end + 1));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/model.onnx`;
    let first;
    try {
      first = await fetchArtifact(url, 'test', silentLogger);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
    const lines: string[] = [];
    const log = createLogger('info', { write: (l: string) => { lines.push(l); return true; } } as unknown as NodeJS.WritableStream);
    const second = await fetchArtifact(url, 'test', log);
    assert.equal(second.downloaded, false);
    assert.equal(second.path, first.path);
    assert.equal(readFileSync(second.path, 'utf8'), 'model');
    await waitFor(async () => lines.some((l) => l.includes('serving the cached version')));
    first.release();
    second.release();
  });
});
