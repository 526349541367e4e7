// Archives as SageMaker (model.tar.gz) and OCI (a zipped artifact) hand them over: unpacked
// into the cache, and refused — naming the archive and the entry, nothing left behind — when an
// entry would escape the folder (zip slip), links outside it, or unpacks past the size limit.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { c as createTar } from 'tar';
import { GatewayError } from '../../src/errors.ts';
import { silentLogger } from '../../src/observe/log.ts';
import { unpack } from '../../src/storage/archive.ts';
import { storageSchema } from '../../src/storage/schema.ts';
import { configureStorage, fetchArtifact } from '../../src/storage/store.ts';
import { zipFile } from '../support/zip-writer.ts';

const limits = { maxBytes: 1024 * 1024, maxEntries: 100 };
const refused = (pattern: RegExp) => (err: unknown): boolean => {
  assert.ok(err instanceof GatewayError, String(err));
  assert.equal(err.code, 'bad_config');
  assert.match(err.message, pattern);
  return true;
};

describe('archives', () => {
  const work = mkdtempSync(join(tmpdir(), 'storage-archive-'));
  let n = 0;
  const fresh = (): string => join(work, `out-${++n}`);
  after(() => rmSync(work, { recursive: true, force: true }));

  // tarOf packs the files under `src` (names relative to it; preservePaths keeps "../" and "/" names).
  async function tarOf(src: string, names: string[]): Promise<string> {
    const file = join(work, `a-${++n}.tar.gz`);
    await createTar({ gzip: true, file, cwd: src, preservePaths: true, portable: true }, names);
    return file;
  }

  it('unpacks a SageMaker-style model.tar.gz from a local path into the cache, with symlinks inside it kept', async () => {
    const src = join(work, 'sm');
    mkdirSync(join(src, 'iris', '1'), { recursive: true });
    writeFileSync(join(src, 'iris', '1', 'model.onnx'), 'weights');
    writeFileSync(join(src, 'iris', 'config.pbtxt'), 'name: "iris"');
    symlinkSync('1', join(src, 'iris', 'latest'));
    const file = await tarOf(src, ['iris']);
    configureStorage(storageSchema.parse({ cacheDir: join(work, 'cache') }));
    const got = await fetchArtifact(file, 'test', silentLogger);
    assert.equal(readFileSync(join(got.path, 'iris', '1', 'model.onnx'), 'utf8'), 'weights');
    assert.equal(readlinkSync(join(got.path, 'iris', 'latest')), '1');
    const again = await fetchArtifact(file, 'test', silentLogger);
    assert.equal(again.downloaded, false);
    assert.equal(again.path, got.path);
    got.release();
    again.release();
  });

  it('refuses a tar entry with "../" in its path (zip slip), writing nothing outside', async () => {
    const src = join(work, 'slip', 'inner');
    mkdirSync(src, { recursive: true });
    writeFileSync(join(src, '..', 'evil.txt'), 'pwned');
    writeFileSync(join(src, 'ok.txt'), 'ok');
    const file = await tarOf(src, ['ok.txt', '../evil.txt']);
    const into = fresh();
    await assert.rejects(unpack(file, 'tar.gz', into, limits, 's3://b/model.tar.gz'), refused(/^archive s3:\/\/b\/model\.tar\.gz: entry "\.\.\/evil\.txt" would be written outside the target folder/));
    assert.equal(existsSync(join(into, '..', 'evil.txt')), false);
    assert.equal(existsSync(join(into, 'ok.txt')), false);
  });

  it('refuses a tar entry with an absolute path', async () => {
    const abs = join(work, 'abs.txt');
    writeFileSync(abs, 'x');
    const file = await tarOf(work, [abs]);
    await assert.rejects(unpack(file, 'tar.gz', fresh(), limits, 'm.tar.gz'), refused(/would be written outside the target folder/));
  });

  it('refuses a tar symlink pointing outside the target, absolute or relative', async () => {
    for (const target of ['/etc/passwd', '../../outside']) {
      const src = join(work, `links-${++n}`);
      mkdirSync(src, { recursive: true });
      symlinkSync(target, join(src, 'link'));
      const file = await tarOf(src, ['link']);
      await assert.rejects(unpack(file, 'tar.gz', fresh(), limits, 'm.tar.gz'), refused(new RegExp(`entry "link" links to "${target.replace(/[./]/g, '\\$&')}", outside the target folder`)));
    }
  });

  it('refuses a tar that unpacks past maxUnpackedBytes from its headers (a decompression bomb)', async () => {
    const src = join(work, 'bomb');
    mkdirSync(src, { recursive: true });
    writeFileSync(join(src, 'zeros.bin'), Buffer.alloc(2 * 1024 * 1024)); // 2 MiB of zeros gzip to a few KB
    const file = await tarOf(src, ['zeros.bin']);
    const into = fresh();
    await assert.rejects(unpack(file, 'tar.gz', into, limits, 'm.tar.gz'), refused(/entry "zeros\.bin" takes the unpacked size past 1048576 bytes \(storage\.maxUnpackedBytes\)/));
    assert.equal(existsSync(join(into, 'zeros.bin')), false);
  });

  it('unpacks an OCI-style zip, folders and files', async () => {
    const file = join(work, 'model.zip');
    writeFileSync(file, zipFile([{ name: 'artifact/' }, { name: 'artifact/model.onnx', data: 'weights' }, { name: 'score.py', data: 'def predict(): pass' }]));
    const into = fresh();
    await unpack(file, 'zip', into, limits, 'oci://b@ns/model.zip');
    assert.equal(readFileSync(join(into, 'artifact', 'model.onnx'), 'utf8'), 'weights');
    assert.equal(readFileSync(join(into, 'score.py'), 'utf8'), 'def predict(): pass');
  });

  it('refuses zip entries named "../x" or "/x" (zip slip)', async () => {
    for (const name of ['../evil.txt', '/etc/evil.txt', 'a/../../evil.txt']) {
      const file = join(work, `slip-${++n}.zip`);
      writeFileSync(file, zipFile([{ name: 'ok.txt', data: 'ok' }, { name, data: 'pwned' }]));
      const into = fresh();
      await assert.rejects(unpack(file, 'zip', into, limits, 'm.zip'), refused(/invalid relative path|absolute path|outside the target folder/));
      assert.equal(existsSync(join(into, 'ok.txt')), false);
      assert.equal(existsSync(join(work, 'evil.txt')), false);
    }
  });

  it('refuses a zip symlink pointing outside the target', async () => {
    const file = join(work, 'link.zip');
    writeFileSync(file, zipFile([{ name: 'link', data: '../../../etc', mode: 0o120777 }]));
    const into = fresh();
    await assert.rejects(unpack(file, 'zip', into, limits, 'm.zip'), refused(/entry "link" links to "\.\.\/\.\.\/\.\.\/etc", outside the target folder/));
    assert.equal(existsSync(into), false);
  });

  it('refuses a zip whose declared sizes pass the limit, and one whose entry inflates past what it declares', async () => {
    const bomb = join(work, 'bomb.zip');
    writeFileSync(bomb, zipFile([{ name: 'zeros.bin', data: Buffer.alloc(2 * 1024 * 1024) }]));
    await assert.rejects(unpack(bomb, 'zip', fresh(), limits, 'm.zip'), refused(/takes the unpacked size past 1048576 bytes/));
    const liar = join(work, 'liar.zip');
    writeFileSync(liar, zipFile([{ name: 'zeros.bin', data: Buffer.alloc(512 * 1024), declaredSize: 10 }]));
    await assert.rejects(unpack(liar, 'zip', fresh(), limits, 'm.zip'), (err: unknown) => /too many bytes|size|larger/i.test(String(err)));
  });

  it('refuses an archive with more entries than maxArchiveEntries', async () => {
    const file = join(work, 'many.zip');
    writeFileSync(file, zipFile(Array.from({ length: 5 }, (_, i) => ({ name: `f${i}`, data: 'x' }))));
    await assert.rejects(unpack(file, 'zip', fresh(), { maxBytes: 1e9, maxEntries: 4 }, 'm.zip'), refused(/entry "f4" is past the limit of 4 entries/));
  });
});
