// The storage layer against the fake S3 REST API (test/support/fake-s3.ts), through
// @aws-sdk/client-s3 pointed at it with storage.s3.endpoint + forcePathStyle and fake keys in
// the environment (the default credential chain reads them): ListObjectsV2 pages, ranged
// GetObject with If-Match, ETag checks (single and multipart), clear errors, OCI's
// S3-compatible endpoint, and an https:// URL.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { GatewayError } from '../../src/errors.ts';
import { silentLogger } from '../../src/observe/log.ts';
import { storageSchema } from '../../src/storage/schema.ts';
import { configureStorage, fetchArtifact } from '../../src/storage/store.ts';
import { FakeS3 } from '../support/fake-s3.ts';
import { parseRange } from '../support/object-store-faults.ts';

const rejectsWith = (pattern: RegExp) => (err: unknown): boolean => {
  assert.ok(err instanceof GatewayError, String(err));
  assert.match(err.message, pattern);
  return true;
};

describe('s3:// and oci:// through @aws-sdk/client-s3', () => {
  let s3: FakeS3;
  const work = mkdtempSync(join(tmpdir(), 'storage-s3-'));
  let n = 0;
  const big = randomBytes(700_000);
  const saved = { ...process.env };
  const configure = (extra: Record<string, unknown> = {}): void => {
    configureStorage(storageSchema.parse({ cacheDir: join(work, `cache-${++n}`), partBytes: '64kb', parallelParts: 4,
      s3: { endpoint: s3.url, forcePathStyle: true, region: 'eu-west-1' }, oci: { endpoint: s3.url, region: 'eu-frankfurt-1' }, ...extra }));
  };

  before(async () => {
    s3 = await new FakeS3().listen();
    s3.pageSize = 2;
    process.env.AWS_ACCESS_KEY_ID = 'AKIDFAKE';
    process.env.AWS_SECRET_ACCESS_KEY = 'fake-secret';
    delete process.env.AWS_SESSION_TOKEN;
    delete process.env.AWS_PROFILE;
    s3.put('sm', 'jobs/out/model/1/model.onnx', big);
    s3.put('sm', 'jobs/out/model/config.pbtxt', 'name: "m"');
    s3.put('sm', 'jobs/out/model/', '');
    s3.put('sm', 'jobs/out/modelx/other.txt', 'not under model/');
    s3.put('sm', 'multi.bin', big, { partSize: 256 * 1024 });
  });
  beforeEach(() => {
    s3.seen.length = 0;
    s3.faults.cutAfter.clear();
    s3.faults.corrupt.clear();
    s3.faults.deny.clear();
    s3.accessKeyId = 'AKIDFAKE';
    s3.secretAccessKey = 'fake-secret';
  });
  after(async () => {
    process.env = saved;
    await s3.close();
    rmSync(work, { recursive: true, force: true });
  });

  it('lists with ListObjectsV2 across pages and copies the prefix, signed with the chain\'s keys', async () => {
    configure();
    const got = await fetchArtifact('s3://sm/jobs/out/model', 'test', silentLogger);
    assert.deepEqual(readFileSync(join(got.path, '1', 'model.onnx')), big);
    assert.equal(readFileSync(join(got.path, 'config.pbtxt'), 'utf8'), 'name: "m"');
    const lists = s3.seen.filter((s) => (s.path === '/sm' || s.path === '/sm/') && s.query.get('list-type') === '2');
    assert.ok(lists.length >= 2, `pages: ${lists.length}`);
    assert.ok(lists.slice(1).every((s) => s.query.get('continuation-token') !== null));
    assert.ok(s3.seen.every((s) => String(s.headers.authorization).startsWith('AWS4-HMAC-SHA256 Credential=AKIDFAKE/')));
    assert.ok(s3.seen.every((s) => String(s.headers.authorization).includes('/eu-west-1/s3/aws4_request')));
    got.release();
  });

  it('reads a large object in ranged parts with If-Match on the listed ETag, and checks the ETag (MD5)', async () => {
    configure();
    const got = await fetchArtifact('s3://sm/jobs/out/model/1/model.onnx', 'test', silentLogger);
    assert.deepEqual(readFileSync(got.path), big);
    const gets = s3.getRequests('sm', 'jobs/out/model/1/model.onnx');
    assert.equal(gets.length, Math.ceil(big.length / 65536));
    assert.ok(gets.every((g) => g.headers['if-match'] === `"${createHash('md5').update(big).digest('hex')}"`));
    assert.equal(gets.reduce((a, g) => a + g.range!.end - g.range!.start + 1, 0), big.length);
    got.release();
  });

  it('checks a multipart ETag with the part size HEAD ?partNumber=1 gives', async () => {
    configure();
    const got = await fetchArtifact('s3://sm/multi.bin', 'test', silentLogger);
    assert.deepEqual(readFileSync(got.path), big);
    assert.ok(s3.seen.some((s) => s.method === 'HEAD' && s.query.get('partNumber') === '1'));
    s3.faults.corrupt.add('sm/multi.bin');
    configure();
    await assert.rejects(fetchArtifact('s3://sm/multi.bin', 'test', silentLogger), rejectsWith(/^checksum mismatch for s3:\/\/sm\/multi\.bin: the service says multipart ETag [0-9a-f]{32}-3, the downloaded bytes give/));
    got.release();
  });

  it('refuses bytes that do not match a single-part ETag, naming the object', async () => {
    configure();
    s3.faults.corrupt.add('sm/jobs/out/model/config.pbtxt');
    await assert.rejects(fetchArtifact('s3://sm/jobs/out/model/config.pbtxt', 'test', silentLogger), rejectsWith(/^checksum mismatch for s3:\/\/sm\/jobs\/out\/model\/config\.pbtxt: the service says ETag \(MD5\)/));
  });

  it('resumes after a connection cut mid-object', async () => {
    configure({ partBytes: '8mb' });
    s3.faults.cutAfter.set('sm/jobs/out/model/1/model.onnx', 250_000);
    const got = await fetchArtifact('s3://sm/jobs/out/model/1/model.onnx', 'test', silentLogger);
    assert.deepEqual(readFileSync(got.path), big);
    const gets = s3.getRequests('sm', 'jobs/out/model/1/model.onnx');
    assert.equal(gets.length, 2);
    assert.ok(gets[1]!.range!.start > 0 && gets[1]!.range!.start <= 250_000, `resumed at ${gets[1]!.range!.start}`);
    got.release();
  });

  it('abandons a stalled part after stallTimeoutMs and resumes it', async () => {
    configure({ partBytes: '8mb', stallTimeoutMs: '300ms' });
    s3.faults.stallAfter.set('sm/jobs/out/model/1/model.onnx', 120_000);
    const got = await fetchArtifact('s3://sm/jobs/out/model/1/model.onnx', 'test', silentLogger);
    assert.deepEqual(readFileSync(got.path), big);
    const gets = s3.getRequests('sm', 'jobs/out/model/1/model.onnx');
    assert.equal(gets.length, 2);
    assert.ok(gets[1]!.range!.start > 0 && gets[1]!.range!.start <= 120_000, `resumed at ${gets[1]!.range!.start}`);
    got.release();
  });

  it('turns AccessDenied, NoSuchBucket and a wrong key into errors with the status and S3\'s code', async () => {
    configure();
    s3.faults.deny.set('sm/', 403);
    await assert.rejects(fetchArtifact('s3://sm/jobs/out/model', 'test', silentLogger), rejectsWith(/^listing s3:\/\/sm\/jobs\/out\/model failed with 403: AccessDenied: Access Denied/));
    s3.faults.deny.clear();
    await assert.rejects(fetchArtifact('s3://nope/x', 'test', silentLogger), rejectsWith(/^listing s3:\/\/nope\/x failed with 404: NoSuchBucket: The specified bucket does not exist/));
    s3.accessKeyId = 'SOMEONE-ELSE';
    await assert.rejects(fetchArtifact('s3://sm/multi.bin', 'test', silentLogger), rejectsWith(/failed with 403: InvalidAccessKeyId/));
    s3.accessKeyId = 'AKIDFAKE';
    s3.secretAccessKey = 'another-secret';
    try {
      await assert.rejects(fetchArtifact('s3://sm/multi.bin', 'test', silentLogger), rejectsWith(/failed with 403: SignatureDoesNotMatch/));
    } finally {
      s3.secretAccessKey = 'fake-secret';
    }
  });

  it('reads oci://bucket@namespace/prefix through the S3-compatible endpoint with the customer secret key', async () => {
    configure();
    process.env.OCI_ACCESS_KEY_ID = 'OCIKEY';
    process.env.OCI_SECRET_ACCESS_KEY = 'oci-secret';
    s3.accessKeyId = 'OCIKEY';
    s3.secretAccessKey = 'oci-secret';
    s3.put('artifacts', 'catalog/model.onnx', 'oci model');
    try {
      const got = await fetchArtifact('oci://artifacts@mytenancy/catalog/model.onnx', 'test', silentLogger);
      assert.equal(readFileSync(got.path, 'utf8'), 'oci model');
      assert.ok(s3.seen.every((s) => String(s.headers.authorization).includes('Credential=OCIKEY/') && String(s.headers.authorization).includes('/eu-frankfurt-1/s3/')));
      got.release();
    } finally {
      delete process.env.OCI_ACCESS_KEY_ID;
      delete process.env.OCI_SECRET_ACCESS_KEY;
      s3.secretAccessKey = 'fake-secret';
    }
  });
});

describe('https:// artifacts', () => {
  let server: Server;
  let base = '';
  const work = mkdtempSync(join(tmpdir(), 'storage-https-'));
  const file = randomBytes(200_000);
  const ranges: string[] = [];
  before(async () => {
    server = createServer((req, res) => {
      const headers = { etag: '"v1"', 'accept-ranges': 'bytes', 'content-type': 'application/octet-stream' };
      if (req.method === 'HEAD') { res.writeHead(200, { ...headers, 'content-length': file.length }); res.end(); return; }
      if (req.url === '/missing.onnx') { res.writeHead(404); res.end('no'); return; }
      const r = parseRange(req.headers.range, file.length);
      if (r === undefined || r === 'bad') { res.writeHead(200, headers); res.end(file); return; }
      ranges.push(`${r.start}-${r.end}`);
      res.writeHead(206, { ...headers, 'content-range': `bytes ${r.start}-${r.end}/${file.length}` });
      res.end(file.subarray(r.start, r.end + 1));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
    rmSync(work, { recursive: true, force: true });
  });

  it('fetches in ranged parts and checks a #sha256= fragment', async () => {
    configureStorage(storageSchema.parse({ cacheDir: join(work, 'a'), partBytes: '64kb' }));
    const sha = createHash('sha256').update(file).digest('hex');
    const got = await fetchArtifact(`${base}/model.onnx#sha256=${sha}`, 'test', silentLogger);
    assert.deepEqual(readFileSync(got.path), file);
    assert.equal(ranges.length, 4);
    got.release();
    configureStorage(storageSchema.parse({ cacheDir: join(work, 'b') }));
    await assert.rejects(fetchArtifact(`${base}/model.onnx#sha256=${'0'.repeat(64)}`, 'test', silentLogger), rejectsWith(/checksum mismatch for http:\/\/127\.0\.0\.1:\d+\/model\.onnx: the service says sha256 0{64}/));
  });
});
