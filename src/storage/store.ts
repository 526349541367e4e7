// store.ts — the model-storage layer every backend that reads files goes through: fetchArtifact
// turns a configured location (gs://, s3://, oci://, https://, or a local path) into a local
// path, through the shared cache: served from it when this version is there, else downloaded
// once (whoever holds the lock downloads, the others wait for it), verified, unpacked when an
// archive, and the cache pruned to its budget. The gateway sets the `storage` config here at
// each build (configureStorage); the backends only name locations.

import { createHash } from 'node:crypto';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, resolve, sep } from 'node:path';
import type { Logger } from 'pino';
import { GatewayError } from '../errors.ts';
import { ensureDir, entryFor, markReady, newestReady, prune, readyMarker, touch, tryLock, type Entry } from './cache.ts';
import { downloadObject, Slots } from './download.ts';
import { httpsSource } from './https.ts';
import { localFileSource } from './local.ts';
import { Progress } from './progress.ts';
import { storageSchema, type StorageConfig } from './schema.ts';
import { StorageError, type Listing, type Source } from './source.ts';
import { archiveKind, parseLocation, type Location } from './uri.ts';

let settings: StorageConfig = storageSchema.parse({});
/** Entries this process serves from, with how many users each has: never pruned by it. */
const inUse = new Map<string, number>();
const waitPollMs = 250;

/** configureStorage sets the `storage` block used by every later fetch. */
export function configureStorage(config: StorageConfig): void {
  settings = config;
}

/** cacheDirOf is where artifacts are cached. */
export function cacheDirOf(config: StorageConfig = settings): string {
  return config.cacheDir ?? join(tmpdir(), 'infergate-cache');
}

/** Fetched is a location made local. */
export interface Fetched {
  /** The local file or folder that stands for the location. */
  path: string;
  /** The remote generation/ETag (a hash of them for a folder); '' for a plain local path. */
  version: string;
  /** False when the cache already held it. */
  downloaded: boolean;
  /** Says the caller no longer serves from it (it may be pruned from then on). */
  release(): void;
}

function use(key: string | undefined): () => void {
  if (key === undefined) return () => undefined;
  inUse.set(key, (inUse.get(key) ?? 0) + 1);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    const n = (inUse.get(key) ?? 1) - 1;
    if (n <= 0) inUse.delete(key);
    else inUse.set(key, n);
  };
}

const inUseKeys = (): Set<string> => new Set(inUse.keys());

/** fetchArtifact makes `location` local; `owner` names who asked (`backend "local"`) in status and logs. */
export async function fetchArtifact(location: string, owner: string, log: Logger): Promise<Fetched> {
  const loc = parseLocation(location);
  if (loc.scheme === 'file' && archiveKind(loc.path) === undefined) return { path: loc.path, version: '', downloaded: false, release: use(undefined) };
  const config = settings;
  const cacheDir = cacheDirOf(config);
  await ensureDir(cacheDir);
  const progress = new Progress(location, owner, log, config.progressIntervalMs);
  try {
    const source = await sourceFor(loc, config);
    let listing: Listing;
    try {
      listing = await source.list();
    } catch (err) {
      // Storage unreachable: a copy already in the cache is better than not starting.
      const cached = err instanceof StorageError && err.retryable ? await newestReady(cacheDir, location) : undefined;
      if (cached === undefined) throw err;
      log.warn({ uri: location, error: (err as Error).message, version: cached.marker.version, since: cached.marker.createdAt },
        `cannot list ${location} (${(err as Error).message}); serving the cached version from ${cached.marker.createdAt}`);
      const release = use(cached.entry.key);
      await touch(cached.entry);
      progress.ready(true);
      return { path: join(cached.entry.dir, cached.marker.path), version: cached.marker.version, downloaded: false, release };
    }
    const version = versionOf(listing);
    const entry = entryFor(cacheDir, location, version);
    const release = use(entry.key);
    try {
      return await fromCache(entry, source, listing, progress, config, location, version, release, log);
    } catch (err) {
      release();
      throw err;
    }
  } catch (err) {
    progress.failed((err as Error).message);
    throw err instanceof GatewayError ? err : new StorageError(`fetching ${location} failed: ${(err as Error).message}`, false, err);
  }
}

// fromCache serves the entry when it is complete, else waits for the lock and fills it.
async function fromCache(entry: Entry, source: Source, listing: Listing, progress: Progress, config: StorageConfig, location: string, version: string,
  release: () => void, log: Logger): Promise<Fetched> {
  const cacheDir = cacheDirOf(config);
  for (;;) {
    const marker = await readyMarker(entry);
    if (marker !== undefined) {
      await touch(entry);
      progress.ready(true);
      log.info({ uri: location, version, path: entry.dir }, `model ${location} served from the cache (${cacheDir})`);
      return { path: join(entry.dir, marker.path), version, downloaded: false, release };
    }
    const lock = await tryLock(entry, config.staleLockMs, log);
    if ('holder' in lock) {
      progress.waiting(lock.holder);
      await new Promise((r) => setTimeout(r, waitPollMs));
      continue;
    }
    try {
      if (await readyMarker(entry) !== undefined) continue; // filled while the lock changed hands
      const path = await fill(entry, source, listing, progress, config, location, version);
      progress.ready(false);
      await prune(cacheDir, config.maxCacheBytes, inUseKeys(), log).catch((err: Error) => log.warn({ error: err.message }, `pruning ${cacheDir} failed`));
      return { path, version, downloaded: true, release };
    } finally {
      await lock.release();
    }
  }
}

/** artifactVersion is the location's current remote version ('' for a plain local path); a reload compares it with the loaded one. */
export async function artifactVersion(location: string): Promise<string> {
  const loc = parseLocation(location);
  if (loc.scheme === 'file' && archiveKind(loc.path) === undefined) return '';
  return versionOf(await (await sourceFor(loc, settings)).list());
}

// sourceFor makes the location's client. The cloud SDKs (and the archive readers) load only when a
// location needs them: a gateway serving local files never pays their start-up time.
async function sourceFor(loc: Location, config: StorageConfig): Promise<Source> {
  switch (loc.scheme) {
    case 'gs': return (await import('./gcs.ts')).gcsSource(loc.bucket, loc.path, loc.uri, config.gcs);
    case 's3': {
      const { s3Options, s3Source } = await import('./s3.ts');
      return s3Source(loc.bucket, loc.path, loc.uri, `s3://${loc.bucket}`, s3Options(config.s3));
    }
    case 'oci': {
      const { ociOptions, s3Source } = await import('./s3.ts');
      return s3Source(loc.bucket, loc.path, loc.uri, `oci://${loc.bucket}@${loc.namespace}`, ociOptions(loc.namespace, config.oci));
    }
    case 'https': return httpsSource(loc.url, loc.uri);
    case 'file': return localFileSource(loc.path);
  }
}

// A single object's version is its own; a folder's is a hash of every object's name, size and version.
function versionOf(listing: Listing): string {
  if (listing.single) return listing.objects[0]!.version;
  const rows = listing.objects.map((o) => [o.rel, o.size, o.version]).sort((a, b) => String(a[0]).localeCompare(String(b[0])));
  return createHash('sha256').update(JSON.stringify(rows)).digest('hex');
}

// fill downloads every object into the entry's partial folder (what a killed process left there
// is resumed), then unpacks or moves it to data/ and writes ready.json; gives the local path.
async function fill(entry: Entry, source: Source, listing: Listing, progress: Progress, config: StorageConfig, uri: string, version: string): Promise<string> {
  await rm(entry.data, { recursive: true, force: true });
  await mkdir(entry.work, { recursive: true });
  const root = resolve(entry.work);
  const targets = listing.objects.map((obj) => {
    const target = resolve(root, obj.rel);
    if (!target.startsWith(root + sep) || obj.rel.split('/').includes('..')) {
      throw new StorageError(`object ${obj.uri} in ${uri} escapes the download folder (its name holds ".."); nothing was downloaded`, false);
    }
    return { obj, target };
  });
  progress.downloading(listing.objects.reduce((a, o) => a + o.size, 0));
  const slots = new Slots(config.parallelParts);
  const abort = new AbortController();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < targets.length && !abort.signal.aborted) {
      const { obj, target } = targets[next++]!;
      // Finished (and verified) by an earlier, interrupted fill.
      if (await stat(target).then((s) => s.isFile() && s.size === obj.size, () => false)) {
        progress.add(obj.size);
        continue;
      }
      await mkdir(resolve(target, '..'), { recursive: true });
      await downloadObject(source, obj, target, { partBytes: config.partBytes, retries: config.retries, stallTimeoutMs: config.stallTimeoutMs, slots, signal: abort.signal, onBytes: (n) => progress.add(n) })
        .catch((err: unknown) => { abort.abort(); throw err; });
    }
  };
  await Promise.all(Array.from({ length: Math.min(config.parallelParts, targets.length) }, worker));
  let path: string;
  const kind = listing.single ? archiveKind(listing.objects[0]!.rel) : undefined;
  if (kind !== undefined) {
    progress.unpacking();
    try {
      const { unpack } = await import('./archive.ts');
      await unpack(targets[0]!.target, kind, entry.data, { maxBytes: config.maxUnpackedBytes, maxEntries: config.maxArchiveEntries }, listing.objects[0]!.uri);
    } catch (err) {
      await rm(entry.data, { recursive: true, force: true });
      throw err;
    }
    await rm(entry.work, { recursive: true, force: true });
    path = 'data';
  } else {
    await rename(entry.work, entry.data);
    path = listing.single ? join('data', listing.objects[0]!.rel) : 'data';
  }
  await markReady(entry, { uri, version, bytes: await sizeOf(entry.dir), path: relative(entry.dir, join(entry.dir, path)), createdAt: new Date().toISOString() });
  return join(entry.dir, path);
}

async function sizeOf(dir: string): Promise<number> {
  let total = 0;
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) total += await sizeOf(p);
    else if (e.isFile()) total += (await stat(p)).size;
  }
  return total;
}
