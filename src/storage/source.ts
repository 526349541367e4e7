// source.ts — what the download engine needs of a storage service: list the objects a URI
// stands for, and read a byte range of one. gcs.ts, s3.ts and https.ts implement it with the
// services' own clients; sources.ts picks one for a location.

import { GatewayError } from '../errors.ts';

/** Checksums are what a service says an object's bytes hash to; download.ts checks each it has. */
export interface Checksums {
  /** Base64 MD5 (Cloud Storage md5Hash). */
  md5?: string;
  /** Base64 big-endian CRC32C (Cloud Storage crc32c). */
  crc32c?: string;
  /** S3 ETag without quotes: hex MD5, or "<hex>-<parts>" for a multipart upload. */
  s3Etag?: string;
  /** Hex SHA-256 (an https:// URI's #sha256= fragment). */
  sha256?: string;
}

/** RemoteObject is one object to fetch. */
export interface RemoteObject {
  /** The object's own URI, for logs and errors (gs://bucket/name). */
  uri: string;
  /** Its path under the artifact's folder ('/'-separated, as the service names it). */
  rel: string;
  size: number;
  /** Generation, ETag or the like: changes whenever the bytes do. */
  version: string;
  checksums: Checksums;
  /** False when the server cannot serve byte ranges: one request, and a retry starts over. */
  ranged: boolean;
}

/** Listing is what a URI stands for: one object (modelPath, an archive) or a folder of them. */
export interface Listing {
  objects: RemoteObject[];
  single: boolean;
}

/** Source reads one artifact location. */
export interface Source {
  list(): Promise<Listing>;
  /** Bytes start..end (inclusive) of obj; a failure is a StorageError. */
  read(obj: RemoteObject, start: number, end: number, signal: AbortSignal): Promise<AsyncIterable<Uint8Array>>;
  /** S3 only: the part size of a multipart upload, to check its ETag. */
  multipartPartSize?(obj: RemoteObject): Promise<number | undefined>;
}

/** StorageError is a failed storage call; `retryable` says whether trying again may help (a cut connection, a 5xx). */
export class StorageError extends GatewayError {
  readonly retryable: boolean;
  constructor(message: string, retryable: boolean, cause?: unknown) {
    super('backend_unavailable', message, cause === undefined ? {} : { cause });
    this.retryable = retryable;
  }
}

/** retryableStatus says whether an HTTP status is worth another try. */
export function retryableStatus(status: number | undefined): boolean {
  return status === undefined || status === 408 || status === 429 || status >= 500;
}

/**
 * selectObjects applies the URI's meaning to a listing by prefix: the exact object when one has
 * the path's name, else every object under path/ (folder placeholders ending in "/" skipped).
 */
export function selectObjects<T extends { name: string }>(items: T[], path: string, uri: string): { chosen: Array<T & { rel: string }>; single: boolean } {
  const exact = path !== '' && !path.endsWith('/') ? items.find((i) => i.name === path) : undefined;
  if (exact !== undefined) return { chosen: [{ ...exact, rel: path.slice(path.lastIndexOf('/') + 1) }], single: true };
  const prefix = path === '' || path.endsWith('/') ? path : `${path}/`;
  const chosen = items.filter((i) => i.name.startsWith(prefix) && !i.name.endsWith('/')).map((i) => ({ ...i, rel: i.name.slice(prefix.length) }));
  if (chosen.length === 0) throw new StorageError(`${uri} holds no objects`, false);
  return { chosen, single: false };
}
