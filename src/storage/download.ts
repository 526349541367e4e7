// download.ts — fetches one object to a local file: in ranged parts fetched in parallel (a
// shared number of slots across all objects of an artifact), each written at its offset of a
// preallocated `.partial` file. A part whose connection fails or is cut goes on from the byte it
// reached; how far each part got is saved beside the file (`.partial.json`), so a process killed
// mid-download resumes where it stopped. The finished file is verified, then renamed into place.

import { open, readFile, rename, rm, writeFile, type FileHandle } from 'node:fs/promises';
import { verifyFile } from './verify.ts';
import { StorageError, type RemoteObject, type Source } from './source.ts';

/** Slots bounds the ranged requests in flight over every object of one artifact. */
export class Slots {
  #free: number;
  #waiting: Array<() => void> = [];
  constructor(count: number) { this.#free = count; }
  async take(): Promise<void> {
    if (this.#free > 0) { this.#free--; return; }
    await new Promise<void>((resolve) => this.#waiting.push(resolve));
  }
  give(): void {
    const next = this.#waiting.shift();
    if (next !== undefined) next();
    else this.#free++;
  }
}

export interface DownloadOptions {
  partBytes: number;
  retries: number;
  /** A read that gets no byte for this long is abandoned and retried. */
  stallTimeoutMs: number;
  slots: Slots;
  signal: AbortSignal;
  /** Called with each count of bytes received (resumed bytes once, at start; negative when a non-ranged retry starts over). */
  onBytes(n: number): void;
}

interface PartState { version: string; size: number; partBytes: number; done: number[] }

const saveEveryMs = 1000;
const writeBytes = 1024 * 1024;

/** downloadObject writes `obj` to `dest`, verified; throws a StorageError naming the object and the reason. */
export async function downloadObject(source: Source, obj: RemoteObject, dest: string, options: DownloadOptions): Promise<void> {
  const partial = `${dest}.partial`;
  const statePath = `${partial}.json`;
  const partBytes = obj.ranged ? Math.max(1, options.partBytes) : Math.max(1, obj.size);
  const count = Math.max(1, Math.ceil(obj.size / partBytes));
  const state = await resumable(statePath, partial, obj, partBytes, count);
  const handle = await open(partial, state.fresh ? 'w+' : 'r+');
  const done = state.done;
  let saveTimer: NodeJS.Timeout | undefined;
  try {
    if (state.fresh) await handle.truncate(obj.size);
    const resumed = done.reduce((a, b) => a + b, 0);
    if (resumed > 0) options.onBytes(resumed);
    const save = (): Promise<void> => saveState(statePath, { version: obj.version, size: obj.size, partBytes, done });
    saveTimer = setInterval(() => { void save().catch(() => undefined); }, saveEveryMs);
    const failed = new AbortController();
    const signal = AbortSignal.any([options.signal, failed.signal]);
    let next = 0;
    let firstError: unknown;
    const worker = async (): Promise<void> => {
      while (!signal.aborted && next < count) {
        const i = next++;
        await options.slots.take();
        try {
          if (signal.aborted) return; // another part failed while this one waited for a slot
          await fetchPart(source, obj, handle, i, partBytes, done, options, signal);
        } catch (err) {
          firstError ??= err;
          failed.abort();
        } finally {
          options.slots.give();
        }
      }
    };
    await Promise.all(Array.from({ length: count }, worker));
    clearInterval(saveTimer);
    saveTimer = undefined;
    if (firstError !== undefined || options.signal.aborted) {
      await save().catch(() => undefined); // what was written stays, for the next try to resume from
      throw firstError ?? new StorageError(`downloading ${obj.uri} was stopped`, false);
    }
    await handle.close();
  } catch (err) {
    if (saveTimer !== undefined) clearInterval(saveTimer);
    await handle.close().catch(() => undefined);
    throw err;
  }
  try {
    await verifyFile(partial, obj, source);
  } catch (err) {
    // Bytes that do not verify are not worth resuming from.
    await rm(partial, { force: true });
    await rm(statePath, { force: true });
    throw err;
  }
  await rename(partial, dest);
  await rm(statePath, { force: true });
}

// resumable reads the saved progress when it is of this very object version and part layout.
async function resumable(statePath: string, partial: string, obj: RemoteObject, partBytes: number, count: number): Promise<{ fresh: boolean; done: number[] }> {
  try {
    const saved = JSON.parse(await readFile(statePath, 'utf8')) as PartState;
    const handle = await open(partial, 'r');
    const size = (await handle.stat()).size;
    await handle.close();
    if (obj.ranged && saved.version === obj.version && saved.size === obj.size && saved.partBytes === partBytes &&
      saved.done.length === count && size === obj.size && saved.done.every((d, i) => Number.isSafeInteger(d) && d >= 0 && d <= partLength(i, partBytes, obj.size))) {
      return { fresh: false, done: saved.done };
    }
  } catch {
    // no saved progress, or unreadable: start over
  }
  return { fresh: true, done: new Array<number>(count).fill(0) };
}

async function saveState(path: string, state: PartState): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(state));
  await rename(tmp, path);
}

function partLength(i: number, partBytes: number, size: number): number {
  return Math.max(0, Math.min(partBytes, size - i * partBytes));
}

async function fetchPart(source: Source, obj: RemoteObject, handle: FileHandle, i: number, partBytes: number, done: number[],
  options: DownloadOptions, signal: AbortSignal): Promise<void> {
  const start = i * partBytes;
  const length = partLength(i, partBytes, obj.size);
  for (let attempt = 0; ; attempt++) {
    if (done[i]! >= length) return;
    if (!obj.ranged && done[i]! > 0) {
      options.onBytes(-done[i]!); // no ranges: a retry starts the object over
      done[i] = 0;
    }
    // Chunks are gathered up to writeBytes and written with one writev: fewer system calls than
    // one write per network chunk. done[i] counts written bytes only, so a resume never skips any.
    let pending: Uint8Array[] = [];
    let pendingBytes = 0;
    const flush = async (): Promise<void> => {
      if (pendingBytes === 0) return;
      const buffers = pending;
      const bytes = pendingBytes;
      pending = [];
      pendingBytes = 0;
      await handle.writev(buffers, start + done[i]!);
      done[i]! += bytes;
    };
    // A connection that stays open but sends nothing would otherwise hold the start forever.
    const stalled = new AbortController();
    let stallTimer: NodeJS.Timeout | undefined;
    const watch = (): void => {
      clearTimeout(stallTimer);
      stallTimer = setTimeout(() => stalled.abort(), options.stallTimeoutMs);
    };
    try {
      watch();
      const body = await source.read(obj, start + done[i]!, start + length - 1, AbortSignal.any([signal, stalled.signal]));
      try {
        for await (const chunk of body) {
          watch();
          if (chunk.length > length - done[i]! - pendingBytes) throw new StorageError(`downloading ${obj.uri} failed: the server sent more than the ${length} bytes asked for at offset ${start}`, false);
          pending.push(chunk);
          pendingBytes += chunk.length;
          options.onBytes(chunk.length); // progress counts what arrived; done[i] what is on disk
          if (pendingBytes >= writeBytes) await flush();
        }
      } finally {
        await flush(); // what arrived before a cut is kept, for the retry to go on from
      }
      if (done[i]! < length) {
        throw new StorageError(`downloading ${obj.uri} failed: the connection closed after ${start + done[i]!} of ${obj.size} bytes`, true);
      }
      return;
    } catch (caught) {
      if (signal.aborted) throw caught;
      const err = stalled.signal.aborted
        ? new StorageError(`downloading ${obj.uri} failed: no bytes for ${options.stallTimeoutMs} ms after ${start + done[i]!} of ${obj.size}`, true, caught)
        : caught;
      const retryable = !(err instanceof StorageError) || err.retryable;
      if (!retryable || attempt >= options.retries) {
        if (err instanceof StorageError) throw err;
        throw new StorageError(`downloading ${obj.uri} failed: ${(err as Error).message}`, true, err);
      }
      await new Promise((r) => setTimeout(r, Math.min(5000, 200 * 2 ** attempt)));
    } finally {
      clearTimeout(stallTimer);
    }
  }
}
