// local.ts — a local archive file as a Source, so a .tar.gz or .zip on a mounted volume is
// unpacked into the cache the same way a downloaded one is. Its version is its mtime and size.

import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { StorageError, type Listing, type Source } from './source.ts';

/** localFileSource reads one local file. */
export function localFileSource(path: string): Source {
  return {
    async list(): Promise<Listing> {
      let st;
      try {
        st = await stat(path);
      } catch (err) {
        throw new StorageError(`reading ${path} failed: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, false, err);
      }
      if (!st.isFile()) throw new StorageError(`${path} is not a file`, false);
      return { single: true, objects: [{ uri: path, rel: basename(path), size: st.size, version: `${st.mtimeMs}-${st.size}`, checksums: {}, ranged: true }] };
    },
    async read(_obj, start, end, signal) {
      return createReadStream(path, { start, end, signal });
    },
  };
}
