// cache.ts — the shared artifact cache in storage.cacheDir. One folder per artifact version,
// named from the URI and its generation/ETag; `ready.json` is written last, so a folder without
// it is a download still running (or abandoned, and resumed by the next one). A lock file per
// version makes processes sharing the folder (pods on one PersistentVolume) download it once:
// the holder refreshes the lock's mtime, and a lock not refreshed for staleLockMs belongs to a
// dead process and is taken over. Least recently used versions are pruned to maxCacheBytes.

import { createHash, randomBytes } from 'node:crypto';
import { unlinkSync } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';

/** Entry is one artifact version's folder. */
export interface Entry {
  key: string;
  dir: string;
  /** Where the artifact's files go. */
  data: string;
  /** Where partial downloads wait (resumable). */
  work: string;
  lock: string;
  marker: string;
}

/** ReadyMarker is ready.json: what the folder holds. */
export interface ReadyMarker {
  uri: string;
  version: string;
  bytes: number;
  /** The artifact's local path, relative to the entry's folder. */
  path: string;
  createdAt: string;
}

/** entryFor names the folder of one URI at one version (hashes: a URI may hold any character). */
export function entryFor(cacheDir: string, uri: string, version: string): Entry {
  const hash = (s: string): string => createHash('sha256').update(s).digest('hex').slice(0, 16);
  const key = `${hash(uri)}-${hash(version)}`;
  const dir = join(cacheDir, key);
  return { key, dir, data: join(dir, 'data'), work: join(dir, 'partial'), lock: join(cacheDir, `${key}.lock`), marker: join(dir, 'ready.json') };
}

/** readyMarker reads an entry's ready.json, or undefined when the entry is not complete. */
export async function readyMarker(entry: Entry): Promise<ReadyMarker | undefined> {
  try {
    return JSON.parse(await readFile(entry.marker, 'utf8')) as ReadyMarker;
  } catch {
    return undefined;
  }
}

/** markReady writes ready.json last, atomically: from then on the entry is served from. */
export async function markReady(entry: Entry, marker: ReadyMarker): Promise<void> {
  const tmp = `${entry.marker}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(marker, null, 2));
  await rename(tmp, entry.marker);
}

/** touch records a use of an entry (pruning keeps the recently used). */
export async function touch(entry: Entry): Promise<void> {
  const now = new Date();
  await utimes(entry.marker, now, now).catch(() => undefined);
}

/** Lock is a held lock file; release() removes it. */
// The lock files this process holds (so a lock naming this pid is told from a previous run's).
const heldHere = new Set<string>();

// A process that exits mid-download (SIGTERM in a rolling update) removes its locks on the way
// out, so the other pods take over at once instead of after staleLockMs.
let exitHook = false;
function releaseOnExit(): void {
  if (exitHook) return;
  exitHook = true;
  process.once('exit', () => {
    for (const lock of heldHere) {
      try { unlinkSync(lock); } catch { /* already gone */ }
    }
  });
}

// deadHere says whether a lock's holder ran on this host and is gone: a container restarted in
// the same pod (its new process may even have the same pid) needs not wait staleLockMs for itself.
function deadHere(doc: { pid?: number; host?: string }, lock: string, host: string): boolean {
  if (doc.host !== host || typeof doc.pid !== 'number') return false;
  if (doc.pid === process.pid) return !heldHere.has(lock);
  try {
    process.kill(doc.pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
export interface Lock { release(): Promise<void> }

/**
 * tryLock takes the entry's lock file, or says who holds it. A lock whose mtime is older than
 * staleMs is taken over: renamed aside first, so two processes taking over at once cannot
 * both remove the other's fresh lock.
 */
export async function tryLock(entry: Entry, staleMs: number, log: Logger): Promise<Lock | { holder: string }> {
  const host = hostname();
  const me = `pid ${process.pid} on ${host}`;
  for (let tries = 0; tries < 3; tries++) {
    try {
      const handle = await open(entry.lock, 'wx');
      await handle.writeFile(JSON.stringify({ holder: me, pid: process.pid, host, since: new Date().toISOString() }));
      await handle.close();
      heldHere.add(entry.lock);
      releaseOnExit();
      const refresh = setInterval(() => {
        const now = new Date();
        void utimes(entry.lock, now, now).catch(() => undefined);
      }, Math.max(100, Math.floor(staleMs / 3)));
      refresh.unref();
      return { release: async () => { clearInterval(refresh); heldHere.delete(entry.lock); await rm(entry.lock, { force: true }); } };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    let held;
    try {
      held = await stat(entry.lock);
    } catch {
      continue; // released meanwhile: try again
    }
    const doc = await readFile(entry.lock, 'utf8').then((t) => JSON.parse(t) as { holder?: string; pid?: number; host?: string }).catch(() => ({} as { holder?: string; pid?: number; host?: string }));
    const holder = doc.holder ?? 'another process';
    if (Date.now() - held.mtimeMs <= staleMs && !deadHere(doc, entry.lock, host)) return { holder };
    const aside = `${entry.lock}.stale-${randomBytes(4).toString('hex')}`;
    try {
      await rename(entry.lock, aside);
    } catch {
      continue;
    }
    const moved = await stat(aside).catch(() => undefined);
    if (moved !== undefined && moved.ino !== held.ino) {
      await rename(aside, entry.lock).catch(() => undefined); // a fresh lock was taken meanwhile: give it back
      return { holder };
    }
    await rm(aside, { force: true });
    log.warn({ lock: entry.lock, holder, staleMs }, `took over the lock of ${holder}, not refreshed for ${Math.round((Date.now() - held.mtimeMs) / 1000)} s or no longer running (that process died)`);
  }
  return { holder: 'another process' };
}

/** pruneGraceMs spares entries used this recently: another process sharing the folder may be loading one it was just handed. */
export const pruneGraceMs = 10 * 60_000;

/**
 * prune deletes the least recently used complete entries until the cache holds at most
 * maxBytes, never one in `keep` (this process serves from it), one whose lock is held, nor one
 * used in the last pruneGraceMs (another process cannot say it is in use).
 */
export async function prune(cacheDir: string, maxBytes: number, keep: ReadonlySet<string>, log: Logger, graceMs = pruneGraceMs): Promise<void> {
  const names = await readdir(cacheDir).catch(() => [] as string[]);
  const entries: Array<{ key: string; bytes: number; used: number; uri: string }> = [];
  for (const key of names) {
    if (key.endsWith('.lock') || key.includes('.lock.') || key.startsWith('.')) continue;
    const marker = join(cacheDir, key, 'ready.json');
    try {
      const [doc, st] = await Promise.all([readFile(marker, 'utf8'), stat(marker)]);
      const m = JSON.parse(doc) as ReadyMarker;
      entries.push({ key, bytes: m.bytes, used: st.mtimeMs, uri: m.uri });
    } catch {
      // incomplete (a download in progress, or to be resumed): not pruned
    }
  }
  let total = entries.reduce((a, e) => a + e.bytes, 0);
  for (const e of entries.sort((a, b) => a.used - b.used)) {
    if (total <= maxBytes) break;
    if (keep.has(e.key) || Date.now() - e.used < graceMs || await stat(join(cacheDir, `${e.key}.lock`)).then(() => true, () => false)) continue;
    // Renamed first: a process that finds the folder meanwhile sees no ready.json, not half a tree.
    const trash = join(cacheDir, `.trash-${e.key}-${randomBytes(4).toString('hex')}`);
    try {
      await rename(join(cacheDir, e.key), trash);
      await rm(trash, { recursive: true, force: true });
      total -= e.bytes;
      log.info({ uri: e.uri, bytes: e.bytes, cacheBytes: total, maxCacheBytes: maxBytes }, `pruned cached model ${e.uri} (least recently used)`);
    } catch {
      // taken by another process's prune
    }
  }
}

/** ensureDir makes the cache folder. */
export async function ensureDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
}

/** newestReady finds the most recently made complete entry of a URI (for a start while its storage cannot be reached). */
export async function newestReady(cacheDir: string, uri: string): Promise<{ entry: Entry; marker: ReadyMarker } | undefined> {
  const prefix = `${createHash('sha256').update(uri).digest('hex').slice(0, 16)}-`;
  let best: { entry: Entry; marker: ReadyMarker } | undefined;
  for (const key of await readdir(cacheDir).catch(() => [] as string[])) {
    if (!key.startsWith(prefix) || key.includes('.')) continue;
    const dir = join(cacheDir, key);
    const entry: Entry = { key, dir, data: join(dir, 'data'), work: join(dir, 'partial'), lock: join(cacheDir, `${key}.lock`), marker: join(dir, 'ready.json') };
    const marker = await readyMarker(entry);
    if (marker !== undefined && marker.uri === uri && (best === undefined || marker.createdAt > best.marker.createdAt)) best = { entry, marker };
  }
  return best;
}
