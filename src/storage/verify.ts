// verify.ts — checks a downloaded file against what the service says of it: its length always,
// then each checksum it gave: Cloud Storage md5Hash (else crc32c, for composite objects, which
// have no MD5), an S3 ETag (the MD5 of a single-part upload, or of the parts' MD5s for a
// multipart one), a SHA-256.
// https://cloud.google.com/storage/docs/hashes-etags
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html

import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { RemoteObject, Source } from './source.ts';
import { StorageError } from './source.ts';

/** verifyFile throws a StorageError naming the object and both values when `file` is not `obj`'s bytes. */
export async function verifyFile(file: string, obj: RemoteObject, source: Source): Promise<void> {
  const size = (await stat(file)).size;
  const mismatch = (what: string, expected: string, got: string): StorageError =>
    new StorageError(`checksum mismatch for ${obj.uri}: the service says ${what} ${expected}, the downloaded bytes give ${got}`, false);
  if (size !== obj.size) throw mismatch('length', String(obj.size), String(size));
  const c = obj.checksums;
  if (c.md5 !== undefined || c.sha256 !== undefined || (c.s3Etag !== undefined && !c.s3Etag.includes('-'))) {
    const md5 = createHash('md5');
    const sha = c.sha256 === undefined ? undefined : createHash('sha256');
    await readThrough(file, (chunk) => { md5.update(chunk); sha?.update(chunk); });
    const hex = md5.digest();
    if (c.md5 !== undefined && hex.toString('base64') !== c.md5) throw mismatch('md5', c.md5, hex.toString('base64'));
    if (c.s3Etag !== undefined && !c.s3Etag.includes('-') && hex.toString('hex') !== c.s3Etag.toLowerCase()) throw mismatch('ETag (MD5)', c.s3Etag, hex.toString('hex'));
    if (sha !== undefined) {
      const got = sha.digest('hex');
      if (got !== c.sha256) throw mismatch('sha256', c.sha256!, got);
    }
  } else if (c.crc32c !== undefined) {
    // @google-cloud/storage loads only here (and for gs:// itself): a start without one skips it.
    const { CRC32C } = await import('@google-cloud/storage');
    const crc = new CRC32C();
    await readThrough(file, (chunk) => crc.update(chunk));
    if (crc.toString() !== c.crc32c) throw mismatch('crc32c', c.crc32c, crc.toString());
  }
  if (c.s3Etag?.includes('-') === true) await verifyMultipartEtag(file, obj, c.s3Etag, source, mismatch);
}

// A multipart ETag is hex(md5(md5(part 1) ‖ … ‖ md5(part n)))-n; every part but the last has the
// size of the first, which HEAD ?partNumber=1 tells.
async function verifyMultipartEtag(file: string, obj: RemoteObject, etag: string, source: Source,
  mismatch: (what: string, expected: string, got: string) => StorageError): Promise<void> {
  const parts = Number(etag.slice(etag.lastIndexOf('-') + 1));
  const partSize = await source.multipartPartSize?.(obj);
  if (partSize === undefined || partSize <= 0 || !Number.isSafeInteger(parts)) return;
  const outer = createHash('md5');
  let inner: Hash = createHash('md5');
  let inPart = 0;
  let count = 0;
  await readThrough(file, (chunk) => {
    let at = 0;
    while (at < chunk.length) {
      const take = Math.min(chunk.length - at, partSize - inPart);
      inner.update(chunk.subarray(at, at + take));
      inPart += take;
      at += take;
      if (inPart === partSize) {
        outer.update(inner.digest());
        inner = createHash('md5');
        inPart = 0;
        count++;
      }
    }
  });
  if (inPart > 0) {
    outer.update(inner.digest());
    count++;
  }
  const got = `${outer.digest('hex')}-${count}`;
  if (got !== etag.toLowerCase()) throw mismatch('multipart ETag', etag, got);
}

function readThrough(file: string, each: (chunk: Buffer) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const stream = createReadStream(file, { highWaterMark: 1 << 20 });
    stream.on('data', (chunk) => each(chunk as Buffer));
    stream.once('error', reject);
    stream.once('end', resolve);
  });
}
