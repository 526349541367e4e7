// The storage layer against the fake Cloud Storage JSON API (test/support/fake-gcs.ts), through
// @google-cloud/storage pointed at it with storage.gcs.apiEndpoint: listing, parallel ranged
// parts, resume after a cut connection, checksums, clear errors, the cache and generations.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { CRC32C } from '@google-cloud/storage';
import { GatewayError } from '../../src/errors.ts';
import { silentLogger } from '../../src/observe/log.ts';
import { storageStatus } from '../../src/storage/progress.ts';
import { storageSchema } from '../../src/storage/schema.ts';
import { artifactVersion, configureStorage, fetchArtifact } from '../../src/storage/store.ts';
import { FakeGcs } from '../support/fake-gcs.ts';

const rejectsWith = (pattern: RegExp) => (err: unknown): boolean => {
  assert.ok(err instanceof GatewayError, String(err));
  assert.equal(err.code, 'backend_unavailable');
  assert.match(err.message, pattern);
  return true;
};

describe('gs:// through @google-cloud/storage', () => {
  let gcs: FakeGcs;
  const work = mkdtempSync(join(tmpdir(), 'storage-gcs-'));
  let n = 0;
  const weights = randomBytes(1024 * 1024 + 123);
  const configure = (extra: Record<string, unknown> = {}): string => {
    const cacheDir = join(work, `cache-${++n}`);
    configureStorage(storageSchema.parse({ cacheDir, partBytes: '64kb', parallelParts: 4, gcs: { apiEndpoint: gcs.url }, ...extra }));
    return cacheDir;
  };

  before(async () => {
    gcs = await new FakeGcs().listen();
    gcs.pageSize = 2;
    gcs.put('models', 'serving/iris/1/model.onnx', weights);
    gcs.put('models', 'serving/iris/1/', '');
    gcs.put('models', 'serving/iris/config.pbtxt', 'name: "iris"');
    gcs.put('models', 'serving/deep/a/b/c.bin', 'deep');
    gcs.put('models', 'serving/with space#and?.txt', 'odd name');
    gcs.put('models', 'serving-other/not-mine.txt', 'outside the prefix');
    gcs.put('models', 'single/model.onnx', 'one file');
  });
  beforeEach(() => {
    gcs.seen.length = 0;
    gcs.media.max = 0;
    gcs.faults.cutAfter.clear();
    gcs.faults.corrupt.clear();
    gcs.faults.deny.clear();
  });
  after(async () => {
    await gcs.close();
    rmSync(work, { recursive: true, force: true });
  });

  it('CRC32C as the fake and the verifier compute it is the Castagnoli checksum (RFC 3720 check value)', () => {
    const crc = new CRC32C();
    crc.update(Buffer.from('123456789'));
    assert.equal(Buffer.from(crc.toString(), 'base64').readUInt32BE(0), 0xe3069283);
  });

  it('copies every object under a prefix, keeping sub-folders and bytes, following every list page', async () => {
    configure();
    const got = await fetchArtifact('gs://models/serving', 'test', silentLogger);
    assert.equal(got.downloaded, true);
    assert.deepEqual(readFileSync(join(got.path, 'iris', '1', 'model.onnx')), weights);
    assert.equal(readFileSync(join(got.path, 'iris', 'config.pbtxt'), 'utf8'), 'name: "iris"');
    assert.equal(readFileSync(join(got.path, 'deep', 'a', 'b', 'c.bin'), 'utf8'), 'deep');
    assert.equal(readFileSync(join(got.path, 'with space#and?.txt'), 'utf8'), 'odd name');
    assert.deepEqual(readdirSync(got.path).sort(), ['deep', 'iris', 'with space#and?.txt']);
    const lists = gcs.seen.filter((s) => s.path === '/storage/v1/b/models/o');
    assert.ok(lists.length >= 3, `pages: ${lists.length}`);
    assert.ok(lists.every((s) => s.query.get('prefix') === 'serving'));
    got.release();
  });

  it('fetches a large object in parallel ranged parts that cover it exactly once, each at the listed generation', async () => {
    configure();
    gcs.faults.slow = { chunkBytes: 16 * 1024, pauseMs: 2 }; // so that parts overlap on the fake's side
    const got = await fetchArtifact('gs://models/serving/iris/1/model.onnx', 'test', silentLogger).finally(() => { delete gcs.faults.slow; });
    assert.deepEqual(readFileSync(got.path), weights);
    const gets = gcs.mediaRequests('serving/iris/1/model.onnx');
    assert.equal(gets.length, Math.ceil(weights.length / 65536));
    const ranges = gets.map((g) => g.range!).sort((a, b) => a.start - b.start);
    let next = 0;
    for (const r of ranges) {
      assert.equal(r.start, next);
      next = r.end + 1;
    }
    assert.equal(next, weights.length);
    assert.ok(gcs.media.max > 1 && gcs.media.max <= 4, `parts in flight at most: ${gcs.media.max}`);
    const generation = gcs.buckets.get('models')!.get('serving/iris/1/model.onnx')!.generation;
    assert.ok(gets.every((g) => g.query.get('generation') === generation));
    got.release();
  });

  it('serves a second fetch of the same generation from the cache, with no download', async () => {
    configure();
    const first = await fetchArtifact('gs://models/serving', 'test', silentLogger);
    gcs.seen.length = 0;
    const second = await fetchArtifact('gs://models/serving', 'test', silentLogger);
    assert.equal(second.downloaded, false);
    assert.equal(second.path, first.path);
    assert.equal(gcs.seen.filter((s) => s.query.get('alt') === 'media').length, 0);
    assert.equal(storageStatus().find((s) => s.uri === 'gs://models/serving')?.cached, true);
    first.release();
    second.release();
  });

  it('resumes a part whose connection was cut mid-object from the byte it reached', async () => {
    configure({ partBytes: '4mb' });
    gcs.faults.cutAfter.set('models/serving/iris/1/model.onnx', 300_000);
    const got = await fetchArtifact('gs://models/serving/iris/1/model.onnx', 'test', silentLogger);
    assert.deepEqual(readFileSync(got.path), weights);
    const gets = gcs.mediaRequests('serving/iris/1/model.onnx');
    assert.equal(gets.length, 2);
    assert.equal(gets[0]!.range!.start, 0);
    assert.ok(gets[1]!.range!.start > 0 && gets[1]!.range!.start <= 300_000, `resumed at ${gets[1]!.range!.start}`);
    got.release();
  });

  it('abandons a part that stalls (the connection open, no bytes) after stallTimeoutMs and goes on from the byte it reached', async () => {
    configure({ partBytes: '4mb', stallTimeoutMs: '300ms' });
    gcs.faults.stallAfter.set('models/serving/iris/1/model.onnx', 100_000);
    const got = await fetchArtifact('gs://models/serving/iris/1/model.onnx', 'test', silentLogger);
    assert.deepEqual(readFileSync(got.path), weights);
    const gets = gcs.mediaRequests('serving/iris/1/model.onnx');
    assert.equal(gets.length, 2);
    assert.ok(gets[1]!.range!.start > 0 && gets[1]!.range!.start <= 100_000, `resumed at ${gets[1]!.range!.start}`);
    got.release();
  });

  it('resumes in a later fetch what an interrupted one wrote (the progress saved beside the partial file)', async () => {
    configure({ partBytes: '4mb', retries: 0 });
    gcs.faults.cutAfter.set('models/serving/iris/1/model.onnx', 500_000);
    await assert.rejects(fetchArtifact('gs://models/serving/iris/1/model.onnx', 'test', silentLogger), rejectsWith(/connection closed after \d+ of 1048699 bytes|socket|terminated|aborted/i));
    const got = await fetchArtifact('gs://models/serving/iris/1/model.onnx', 'test', silentLogger);
    assert.deepEqual(readFileSync(got.path), weights);
    const gets = gcs.mediaRequests('serving/iris/1/model.onnx');
    assert.equal(gets.length, 2);
    assert.ok(gets[1]!.range!.start > 0, `the second fetch starts at ${gets[1]!.range!.start}`);
    got.release();
  });

  it('refuses bytes whose md5 does not match, naming the object, and keeps nothing of them', async () => {
    const cacheDir = configure();
    gcs.faults.corrupt.add('models/single/model.onnx');
    await assert.rejects(fetchArtifact('gs://models/single/model.onnx', 'test', silentLogger),
      rejectsWith(/^checksum mismatch for gs:\/\/models\/single\/model\.onnx: the service says md5 \S+, the downloaded bytes give \S+/));
    gcs.faults.corrupt.clear();
    const got = await fetchArtifact('gs://models/single/model.onnx', 'test', silentLogger);
    assert.equal(readFileSync(got.path, 'utf8'), 'one file');
    assert.equal(got.downloaded, true);
    assert.ok(got.path.startsWith(cacheDir));
    got.release();
  });

  it('checks crc32c when the object has no md5Hash (a composite object)', async () => {
    configure();
    gcs.put('models', 'composite.bin', randomBytes(5000), { noMd5: true });
    gcs.faults.corrupt.add('models/composite.bin');
    await assert.rejects(fetchArtifact('gs://models/composite.bin', 'test', silentLogger), rejectsWith(/checksum mismatch for gs:\/\/models\/composite\.bin: the service says crc32c/));
  });

  it('turns 403 and 404 into errors naming the URI, the status and the service\'s reason', async () => {
    configure();
    gcs.faults.deny.set('models/', 403);
    await assert.rejects(fetchArtifact('gs://models/serving', 'test', silentLogger), rejectsWith(/^listing gs:\/\/models\/serving failed with 403: .*does not have storage\.objects\.list access/));
    gcs.faults.deny.clear();
    await assert.rejects(fetchArtifact('gs://no-such-bucket/models', 'test', silentLogger), rejectsWith(/^listing gs:\/\/no-such-bucket\/models failed with 404: The specified bucket does not exist/));
    await assert.rejects(fetchArtifact('gs://models/nothing-here', 'test', silentLogger), rejectsWith(/gs:\/\/models\/nothing-here holds no objects/));
    gcs.faults.deny.set('models/single/model.onnx', 403);
    await assert.rejects(fetchArtifact('gs://models/single/model.onnx', 'test', silentLogger), rejectsWith(/^downloading gs:\/\/models\/single\/model\.onnx failed with 403: .*storage\.objects\.get/));
    const status = storageStatus().find((s) => s.uri === 'gs://models/single/model.onnx')!;
    assert.equal(status.phase, 'failed');
    assert.match(status.error!, /403/);
  });

  it('refuses an object name that would land outside the download folder', async () => {
    const cacheDir = configure();
    gcs.put('evil', 'm/../../../escaped.txt', 'pwned');
    await assert.rejects(fetchArtifact('gs://evil/m', 'test', silentLogger), rejectsWith(/object gs:\/\/evil\/m\/\.\.\/\.\.\/\.\.\/escaped\.txt in gs:\/\/evil\/m escapes the download folder/));
    assert.equal(existsSync(join(cacheDir, '..', 'escaped.txt')), false);
  });

  it('gives a new version, and a new download, after the object is rewritten (a new generation)', async () => {
    configure();
    gcs.put('models', 'gen/model.onnx', 'v1');
    const v1 = await fetchArtifact('gs://models/gen/model.onnx', 'test', silentLogger);
    assert.equal(await artifactVersion('gs://models/gen/model.onnx'), v1.version);
    gcs.put('models', 'gen/model.onnx', 'v2');
    const now = await artifactVersion('gs://models/gen/model.onnx');
    assert.notEqual(now, v1.version);
    const v2 = await fetchArtifact('gs://models/gen/model.onnx', 'test', silentLogger);
    assert.equal(v2.version, now);
    assert.equal(v2.downloaded, true);
    assert.notEqual(v2.path, v1.path);
    assert.equal(readFileSync(v2.path, 'utf8'), 'v2');
    assert.equal(readFileSync(v1.path, 'utf8'), 'v1');
    v1.release();
    v2.release();
  });

  describe('with Application Default Credentials (google-auth-library), sent to the fake with useAuthWithCustomEndpoint', () => {
    const saved = process.env.GOOGLE_APPLICATION_CREDENTIALS;
    after(() => {
      if (saved === undefined) delete process.env.GOOGLE_APPLICATION_CREDENTIALS;
      else process.env.GOOGLE_APPLICATION_CREDENTIALS = saved;
    });
    const keyFile = (doc: Record<string, unknown>): string => {
      const file = join(work, `key-${++n}.json`);
      writeFileSync(file, JSON.stringify(doc));
      return file;
    };

    // A service_account or authorized_user key file is not tried here: google-auth-library sends
    // those to oauth2.googleapis.com whatever the file's token_uri says, and this machine has no
    // network. external_account files name their token_url, so the fake can stand in for STS.
    it('an external_account file (workload identity federation): the subject token is exchanged at token_url', async () => {
      const subject = join(work, 'subject-token');
      writeFileSync(subject, 'oidc-token-from-the-platform');
      process.env.GOOGLE_APPLICATION_CREDENTIALS = keyFile({
        type: 'external_account', audience: '//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/pool/providers/prov',
        subject_token_type: 'urn:ietf:params:oauth:token-type:jwt', token_url: `${gcs.url}/token`, credential_source: { file: subject },
      });
      configure({ gcs: { apiEndpoint: gcs.url, useAuthWithCustomEndpoint: true, projectId: 'p' } });
      const before = gcs.tokens.length;
      const got = await fetchArtifact('gs://models/single/model.onnx', 'test', silentLogger);
      assert.equal(readFileSync(got.path, 'utf8'), 'one file');
      const form = new URLSearchParams(gcs.tokens[before]!);
      assert.equal(form.get('grant_type'), 'urn:ietf:params:oauth:grant-type:token-exchange');
      assert.equal(form.get('subject_token'), 'oidc-token-from-the-platform');
      assert.ok(gcs.seen.filter((x) => x.path.startsWith('/storage/')).every((x) => /^Bearer fake-token-\d+$/.test(String(x.headers.authorization))));
      got.release();
    });
  });
});
