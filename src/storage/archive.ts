// archive.ts — unpacks a .tar.gz (tar) or .zip (yauzl) artifact, as SageMaker's model.tar.gz and
// OCI's zipped model artifacts come. Every entry is checked before anything is written: its
// path stays inside the target (no absolute path, no ".." — "zip slip"), a symbolic or hard
// link points inside it, no device or FIFO entries, and the declared sizes add up to at most
// maxBytes (a decompression bomb is refused from its headers; yauzl also checks that each
// entry inflates to no more than it declares).

import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rm, symlink } from 'node:fs/promises';
import { dirname, isAbsolute, resolve, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Parser, x as extractTar, type ReadEntry } from 'tar';
import yauzl from 'yauzl';
import { GatewayError } from '../errors.ts';

export interface UnpackLimits {
  maxBytes: number;
  maxEntries: number;
}

/** ArchiveEntry is what the checks need of a tar or zip entry. */
interface ArchiveEntry {
  path: string;
  kind: 'file' | 'dir' | 'symlink' | 'hardlink' | 'other';
  size: number;
  linkpath?: string;
}

/** unpack extracts `file` into the folder `into` (created), or throws bad_config naming the archive and the entry. */
export async function unpack(file: string, kind: 'tar.gz' | 'zip', into: string, limits: UnpackLimits, name: string): Promise<void> {
  await mkdir(into, { recursive: true });
  try {
    await unpackInto(file, kind, into, checker(into, limits, name));
  } catch (err) {
    await rm(into, { recursive: true, force: true });
    throw err;
  }
}

async function unpackInto(file: string, kind: 'tar.gz' | 'zip', into: string, check: Check): Promise<void> {
  if (kind === 'tar.gz') {
    await scanTar(file, check);
    // The same checks again as a filter: what was scanned is what is written.
    await extractTar({ file, cwd: into, strict: true, preservePaths: false, preserveOwner: false, filter: (_p, e) => { check(tarEntry(e as ReadEntry), true); return true; } });
  } else {
    await withZip(file, async (zip, entries) => {
      for await (const entry of entries(zip)) check(zipEntry(entry));
    });
    check.reset();
    await withZip(file, async (zip, entries) => {
      for await (const entry of entries(zip)) await writeZipEntry(zip, entry, check(zipEntry(entry)), check);
    });
  }
}

type Check = ((e: ArchiveEntry, again?: boolean) => string) & { reset(): void };

// checker returns the function that refuses a bad entry and gives the path it is written to.
function checker(root: string, limits: UnpackLimits, name: string): Check {
  const top = resolve(root);
  const inside = (p: string): boolean => p === top || p.startsWith(top + sep);
  let bytes = 0;
  let entries = 0;
  const fail = (entry: string, why: string): GatewayError => new GatewayError('bad_config', `archive ${name}: entry ${JSON.stringify(entry)} ${why}; nothing was unpacked from it`);
  const check = ((e: ArchiveEntry, again = false): string => {
    if (!again && ++entries > limits.maxEntries) throw fail(e.path, `is past the limit of ${limits.maxEntries} entries (storage.maxArchiveEntries)`);
    const segments = e.path.split(/[\\/]+/);
    if (isAbsolute(e.path) || /^[a-zA-Z]:/.test(e.path) || segments.includes('..')) throw fail(e.path, 'would be written outside the target folder');
    const target = resolve(top, e.path);
    if (!inside(target)) throw fail(e.path, 'would be written outside the target folder');
    if (e.kind === 'other') throw fail(e.path, 'is a device, FIFO or other special file');
    // A zip symlink's target is its data, unknown until read: checked then (writeZipEntry).
    if ((e.kind === 'symlink' || e.kind === 'hardlink') && (e.linkpath !== undefined || e.kind === 'hardlink')) {
      const link = e.linkpath ?? '';
      const to = e.kind === 'symlink' ? resolve(dirname(target), link) : resolve(top, link);
      if (link === '' || isAbsolute(link) || !inside(to)) throw fail(e.path, `links to ${JSON.stringify(link)}, outside the target folder`);
    }
    if (!again) {
      bytes += e.size;
      if (bytes > limits.maxBytes) throw fail(e.path, `takes the unpacked size past ${limits.maxBytes} bytes (storage.maxUnpackedBytes): a decompression bomb, or raise the limit`);
    }
    return target;
  }) as Check;
  check.reset = () => { bytes = 0; entries = 0; };
  return check;
}

function tarEntry(e: ReadEntry): ArchiveEntry {
  const kinds: Record<string, ArchiveEntry['kind']> = { File: 'file', OldFile: 'file', ContiguousFile: 'file', Directory: 'dir', SymbolicLink: 'symlink', Link: 'hardlink' };
  return { path: e.path, kind: kinds[e.type] ?? 'other', size: e.size ?? 0, ...(e.linkpath === undefined ? {} : { linkpath: e.linkpath }) };
}

// scanTar reads the headers (gunzipping the bodies it skips) and stops at the first bad entry.
function scanTar(file: string, check: Check): Promise<void> {
  return new Promise<void>((resolvePromise, reject) => {
    const source = createReadStream(file);
    let settled = false;
    const settle = (err?: unknown): void => {
      if (settled) return;
      settled = true;
      if (err === undefined) resolvePromise();
      else { source.destroy(); reject(err); }
    };
    const parser = new Parser({
      onReadEntry: (entry) => {
        try {
          check(tarEntry(entry));
        } catch (err) {
          settle(err);
        }
        entry.resume();
      },
    });
    parser.on('error', (err: Error) => settle(new GatewayError('bad_config', `archive ${file} is not a readable .tar.gz: ${err.message}`)));
    parser.on('end', () => settle());
    source.once('error', settle);
    source.pipe(parser);
  }).then(() => check.reset());
}

function zipEntry(e: yauzl.Entry): ArchiveEntry {
  const mode = (e.externalFileAttributes >>> 16) & 0o170000;
  const kind = e.fileName.endsWith('/') ? 'dir' : mode === 0o120000 ? 'symlink' : mode === 0 || mode === 0o100000 ? 'file' : mode === 0o040000 ? 'dir' : 'other';
  return { path: e.fileName, kind, size: e.uncompressedSize };
}

type Entries = (zip: yauzl.ZipFile) => AsyncIterable<yauzl.Entry>;

async function withZip(file: string, use: (zip: yauzl.ZipFile, entries: Entries) => Promise<void>): Promise<void> {
  const zip = await new Promise<yauzl.ZipFile>((res, rej) => yauzl.open(file, { lazyEntries: true, autoClose: false, validateEntrySizes: true },
    (err, z) => (err ? rej(new GatewayError('bad_config', `archive ${file} is not a readable .zip: ${err.message}`)) : res(z))));
  const entries: Entries = (z) => ({
    [Symbol.asyncIterator]: () => ({
      next: () => new Promise<IteratorResult<yauzl.Entry>>((res, rej) => {
        const cleanup = (): void => { z.off('entry', onEntry); z.off('end', onEnd); z.off('error', onError); };
        const onEntry = (entry: yauzl.Entry): void => { cleanup(); res({ value: entry, done: false }); };
        const onEnd = (): void => { cleanup(); res({ value: undefined, done: true }); };
        // yauzl refuses absolute and ".." names itself ("invalid relative path").
        const onError = (err: Error): void => { cleanup(); rej(new GatewayError('bad_config', `archive ${file}: ${err.message}; nothing was unpacked from it`)); };
        z.on('entry', onEntry); z.on('end', onEnd); z.on('error', onError);
        z.readEntry();
      }),
    }),
  });
  try {
    await use(zip, entries);
  } finally {
    zip.close();
  }
}

// A zip symlink's target is its data: checked once read, before the link is made (the caller
// removes the half-unpacked folder when a check fails).
async function writeZipEntry(zip: yauzl.ZipFile, entry: yauzl.Entry, target: string, check: Check): Promise<void> {
  const kind = zipEntry(entry).kind;
  if (kind === 'dir') {
    await mkdir(target, { recursive: true });
    return;
  }
  await mkdir(dirname(target), { recursive: true });
  const stream = await new Promise<NodeJS.ReadableStream>((res, rej) => zip.openReadStream(entry, (err, s) => (err ? rej(err) : res(s))));
  if (kind === 'symlink') {
    let link = '';
    for await (const chunk of stream) link += String(chunk);
    check({ path: entry.fileName, kind: 'symlink', size: 0, linkpath: link }, true);
    await symlink(link, target);
    return;
  }
  await pipeline(stream, createWriteStream(target));
}
