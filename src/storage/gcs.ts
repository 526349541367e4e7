// gcs.ts — Cloud Storage (gs://) through @google-cloud/storage: Application Default Credentials
// in every form (GOOGLE_APPLICATION_CREDENTIALS key files: service_account, authorized_user,
// external_account for workload identity federation; gcloud's well-known file; the metadata
// server on GKE, Vertex and Cloud Run), token refresh and retries come with it. Each object is
// read at the generation that was listed, so a rewrite during the download is a clear 404, not
// mixed bytes.
// https://cloud.google.com/storage/docs/json_api/v1/objects/list
// https://cloud.google.com/storage/docs/json_api/v1/objects/get

import { Storage, type File } from '@google-cloud/storage';
import { clip } from '../errors.ts';
import type { StorageConfig } from './schema.ts';
import { retryableStatus, selectObjects, StorageError, type Listing, type RemoteObject, type Source } from './source.ts';

const clients = new Map<string, Storage>();

function clientFor(config: StorageConfig['gcs']): Storage {
  const key = JSON.stringify([config.apiEndpoint, config.useAuthWithCustomEndpoint, config.projectId, process.env.STORAGE_EMULATOR_HOST, process.env.GOOGLE_APPLICATION_CREDENTIALS]);
  let client = clients.get(key);
  if (client === undefined) {
    client = new Storage({
      ...(config.apiEndpoint === undefined ? {} : { apiEndpoint: config.apiEndpoint }),
      ...(config.projectId === undefined ? {} : { projectId: config.projectId }),
      useAuthWithCustomEndpoint: config.useAuthWithCustomEndpoint,
      // download.ts retries parts itself, from the byte reached; the client retries listing and metadata.
      retryOptions: { autoRetry: true, maxRetries: 3, maxRetryDelay: 8 },
    });
    clients.set(key, client);
  }
  return client;
}

/** gcsSource reads gs://bucket/path. */
export function gcsSource(bucketName: string, path: string, uri: string, config: StorageConfig['gcs']): Source {
  const bucket = clientFor(config).bucket(bucketName, config.userProject === undefined ? {} : { userProject: config.userProject });
  const files = new Map<string, File>();
  return {
    async list(): Promise<Listing> {
      let found: File[];
      try {
        [found] = await bucket.getFiles({ prefix: path, autoPaginate: true });
      } catch (err) {
        throw failure(`listing ${uri}`, err);
      }
      const { chosen, single } = selectObjects(found.map((f) => ({ name: f.name, file: f })), path, uri);
      const objects = chosen.map(({ name, rel, file }): RemoteObject => {
        const m = file.metadata;
        const generation = String(m.generation ?? '');
        files.set(name, bucket.file(name, generation === '' ? {} : { generation }));
        return {
          uri: `gs://${bucketName}/${name}`, rel, size: Number(m.size ?? 0), version: generation || String(m.etag ?? ''), ranged: true,
          checksums: { ...(m.md5Hash ? { md5: m.md5Hash } : {}), ...(m.crc32c ? { crc32c: m.crc32c } : {}) },
        };
      });
      return { objects, single };
    },
    async read(obj, start, end, signal) {
      const name = obj.uri.slice(`gs://${bucketName}/`.length);
      const file = files.get(name) ?? bucket.file(name);
      // Checksums are checked on the whole file afterwards (a range has none); decompress off: the stored bytes are what is hashed.
      const stream = file.createReadStream({ start, end, validation: false, decompress: false });
      // The response body gets one listener too many from teeny-request 11's pipeline, and Node
      // warns on every download (googleapis/google-cloud-node#9185): raise its limit a little.
      stream.once('response', (res: { setMaxListeners?: (n: number) => void }) => res.setMaxListeners?.(16));
      const abort = (): void => { stream.destroy(new Error('aborted')); };
      if (signal.aborted) abort();
      signal.addEventListener('abort', abort, { once: true });
      stream.once('close', () => signal.removeEventListener('abort', abort));
      return (async function* () {
        try {
          for await (const chunk of stream) yield chunk as Uint8Array;
        } catch (err) {
          throw failure(`downloading ${obj.uri}`, err);
        }
      })();
    },
  };
}

// failure names the call and the service's reason; a 4xx but 408/429 is not worth retrying.
function failure(what: string, err: unknown): StorageError {
  const e = err as { code?: unknown; message?: string; errors?: Array<{ message?: string }> };
  const status = typeof e.code === 'number' ? e.code : undefined;
  const reason = clip(e.errors?.[0]?.message ?? e.message ?? String(err));
  return new StorageError(`${what} failed${status === undefined ? '' : ` with ${status}`}: ${reason}`, retryableStatus(status), err);
}
