// https.ts — an artifact at an https:// (or http://) URL: HEAD for its length and ETag, ranged
// GETs when the server says Accept-Ranges: bytes (RFC 9110 §14), one GET otherwise. If-Range
// pins the version that was seen, so a changed file answers 200 whole rather than mixing bytes.
// A `#sha256=<hex>` fragment is checked against the downloaded file.

import { clip } from '../errors.ts';
import { retryableStatus, StorageError, type Listing, type RemoteObject, type Source } from './source.ts';

/** httpsSource reads one file at a URL. */
export function httpsSource(url: URL, uri: string): Source {
  const sha256 = /(?:^|&)sha256=([0-9a-f]{64})(?:&|$)/i.exec(url.hash.slice(1))?.[1]?.toLowerCase();
  const target = new URL(url);
  target.hash = '';
  const shown = target.toString();
  let ifRange: string | undefined;
  return {
    async list(): Promise<Listing> {
      let res: Response;
      try {
        res = await fetch(target, { method: 'HEAD', redirect: 'follow' });
      } catch (err) {
        throw new StorageError(`reading ${shown} failed: ${(err as Error).message}`, true, err);
      }
      if (!res.ok) throw new StorageError(`reading ${shown} failed with ${res.status} ${res.statusText}`, retryableStatus(res.status));
      const size = Number(res.headers.get('content-length') ?? Number.NaN);
      if (!Number.isSafeInteger(size)) throw new StorageError(`reading ${shown} failed: its HEAD answer has no Content-Length`, false);
      const etag = res.headers.get('etag');
      const modified = res.headers.get('last-modified');
      // If-Range takes a strong ETag or a date (a weak ETag never matches): without one, no ranges.
      ifRange = etag !== null && !etag.startsWith('W/') ? etag : modified ?? undefined;
      const version = etag ?? `${modified ?? ''}/${size}`;
      const name = decodeURIComponent(target.pathname.slice(target.pathname.lastIndexOf('/') + 1)) || 'download';
      const object: RemoteObject = {
        uri: shown, rel: name, size, version, checksums: sha256 === undefined ? {} : { sha256 },
        ranged: res.headers.get('accept-ranges')?.toLowerCase() === 'bytes' && ifRange !== undefined,
      };
      return { objects: [object], single: true };
    },
    async read(obj, start, end, signal) {
      const headers: Record<string, string> = {};
      if (obj.ranged && ifRange !== undefined) {
        headers.range = `bytes=${start}-${end}`;
        headers['if-range'] = ifRange;
      }
      let res: Response;
      try {
        res = await fetch(target, { headers, signal, redirect: 'follow' });
      } catch (err) {
        throw new StorageError(`downloading ${shown} failed: ${(err as Error).message}`, true, err);
      }
      if (obj.ranged ? res.status !== 206 : !res.ok) {
        // 200 to a ranged request: the file changed since HEAD (If-Range failed).
        const why = res.status === 200 ? 'the file changed during the download' : `${res.status}: ${clip(await res.text().catch(() => ''))}`;
        throw new StorageError(`downloading ${shown} failed with ${why}`, res.status === 200 ? false : retryableStatus(res.status));
      }
      const body = res.body!;
      return (async function* () {
        try {
          for await (const chunk of body) yield chunk;
        } catch (err) {
          throw new StorageError(`downloading ${shown} failed: ${(err as Error).message}`, true, err);
        }
      })();
    },
  };
}
