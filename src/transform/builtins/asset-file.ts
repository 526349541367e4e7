// asset-file.ts — a step's file (labels, scaler values) read once: a local one when the model is
// built (a bad file is a config error `check` reports), a remote one (gs://, s3://, oci://,
// https://) fetched through the storage cache in the step's load(), so the model is not ready
// until it has arrived, and a failure keeps it not ready with the reason.

import type { Logger } from 'pino';
import { fetchArtifact } from '../../storage/store.ts';
import { isRemote } from '../../storage/uri.ts';

/** AssetFile is a file's parsed content, and for a remote file the load that fetches it. */
export interface AssetFile<T> {
  /** The content; for a remote file, only once load() has resolved (the stage refuses calls before). */
  get(): T;
  load?: () => Promise<void>;
}

/** assetFile reads `file` with `read`, now when it is local, in load() when it is remote. */
export function assetFile<T>(file: string, read: (path: string) => T, step: string, log: Logger): AssetFile<T> {
  if (!isRemote(file)) {
    const value = read(file);
    return { get: () => value };
  }
  let value: T | undefined;
  return {
    get: () => value as T,
    load: async () => {
      const fetched = await fetchArtifact(file, `transform step ${step}`, log);
      value = read(fetched.path);
    },
  };
}
