// fake-gcs.ts (test support) — a Cloud Storage JSON API server on 127.0.0.1, written from the
// API reference: objects.list (prefix, pageToken, maxResults; storage#objects pages with
// nextPageToken), objects.get (the object resource; alt=media for its bytes, under
// /storage/v1/… and /download/storage/v1/…, with Range → 206 + Content-Range, a `generation`
// query that must be the live one, and the x-goog-hash / x-goog-generation headers), and
// errors as {"error": {"code", "message", "errors": [{"domain", "reason", "message"}]}}.
// Also an OAuth token endpoint (POST /token) for credential files pointed at it.
// https://cloud.google.com/storage/docs/json_api/v1/objects/list
// https://cloud.google.com/storage/docs/json_api/v1/objects/get
// https://cloud.google.com/storage/docs/json_api/v1/status-codes

import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { CRC32C } from '@google-cloud/storage';
import { closeLocal, listenLocal, newFaults, parseRange, sendBody, type Faults, type SeenRequest } from './object-store-faults.ts';

interface StoredObject { data: Buffer; generation: string; md5Hash?: string; crc32c: string; updated: string }

export interface PutOptions {
  /** Leave md5Hash out of the resource, as for a composite object (crc32c only). */
  noMd5?: boolean;
}

/** FakeGcs is a running fake; `url` is its apiEndpoint. */
export class FakeGcs {
  readonly buckets = new Map<string, Map<string, StoredObject>>();
  readonly faults: Faults = newFaults();
  readonly seen: SeenRequest[] = [];
  readonly media = { now: 0, max: 0 };
  readonly tokens: string[] = [];
  pageSize = 1000;
  url = '';
  #server: Server;
  #generation = 1_700_000_000_000_000;

  constructor() {
    this.#server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => { body += c.toString(); });
      req.on('end', () => { void this.#handle(req, res, body).catch(() => res.destroy()); });
    });
  }

  async listen(): Promise<this> {
    this.url = await listenLocal(this.#server);
    return this;
  }

  close(): Promise<void> {
    return closeLocal(this.#server);
  }

  /** put stores an object at a new generation (as an upload does). */
  put(bucket: string, name: string, data: Buffer | string, options: PutOptions = {}): string {
    const bytes = Buffer.from(data);
    if (!this.buckets.has(bucket)) this.buckets.set(bucket, new Map());
    const generation = String(++this.#generation);
    const crc = new CRC32C();
    crc.update(bytes);
    this.buckets.get(bucket)!.set(name, {
      data: bytes, generation, crc32c: crc.toString(), updated: new Date().toISOString(),
      ...(options.noMd5 === true ? {} : { md5Hash: createHash('md5').update(bytes).digest('base64') }),
    });
    return generation;
  }

  /** mediaRequests lists the alt=media requests seen for an object name. */
  mediaRequests(name: string): SeenRequest[] {
    return this.seen.filter((s) => s.query.get('alt') === 'media' && decodeURIComponent(s.path.slice(s.path.lastIndexOf('/o/') + 3)) === name);
  }

  #resource(bucket: string, name: string, o: StoredObject): Record<string, unknown> {
    return {
      kind: 'storage#object', id: `${bucket}/${name}/${o.generation}`, name, bucket, generation: o.generation, metageneration: '1',
      contentType: 'application/octet-stream', storageClass: 'STANDARD', size: String(o.data.length), crc32c: o.crc32c,
      ...(o.md5Hash === undefined ? { componentCount: 2 } : { md5Hash: o.md5Hash }), etag: `C${o.generation.slice(-6)}=`,
      timeCreated: o.updated, updated: o.updated,
      selfLink: `${this.url}/storage/v1/b/${bucket}/o/${encodeURIComponent(name)}`,
      mediaLink: `${this.url}/download/storage/v1/b/${bucket}/o/${encodeURIComponent(name)}?generation=${o.generation}&alt=media`,
    };
  }

  async #handle(req: IncomingMessage, res: ServerResponse, body: string): Promise<void> {
    const url = new URL(req.url!, 'http://x');
    const seen: SeenRequest = { method: req.method!, path: url.pathname, query: url.searchParams, headers: req.headers };
    this.seen.push(seen);
    const json = (status: number, doc: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8' });
      res.end(JSON.stringify(doc));
    };
    const error = (code: number, reason: string, message: string): void => json(code, { error: { code, message, errors: [{ domain: 'global', reason, message }] } });
    if (req.method === 'POST' && url.pathname === '/token') {
      this.tokens.push(body);
      json(200, { access_token: `fake-token-${this.tokens.length}`, token_type: 'Bearer', expires_in: 3600 });
      return;
    }
    const m = /^(?:\/download)?\/storage\/v1\/b\/([^/]+)\/o(?:\/(.+))?$/.exec(url.pathname);
    if (m === null || req.method !== 'GET') {
      error(404, 'notFound', `Not Found: ${req.method} ${url.pathname}`);
      return;
    }
    const bucketName = decodeURIComponent(m[1]!);
    const name = m[2] === undefined ? undefined : decodeURIComponent(m[2]);
    const denied = this.faults.deny.get(`${bucketName}/${name ?? ''}`) ?? this.faults.deny.get(`${bucketName}/`);
    if (denied !== undefined) {
      const what = name === undefined ? 'storage.objects.list' : 'storage.objects.get';
      if (denied === 403) error(403, 'forbidden', `caller@example.iam.gserviceaccount.com does not have ${what} access to the Google Cloud Storage ${name === undefined ? 'bucket' : 'object'}. Permission '${what}' denied on resource (or it may not exist).`);
      else error(denied, 'backendError', `fault ${denied}`);
      return;
    }
    const bucket = this.buckets.get(bucketName);
    if (bucket === undefined) {
      error(404, 'notFound', 'The specified bucket does not exist.');
      return;
    }
    if (name === undefined) {
      const prefix = url.searchParams.get('prefix') ?? '';
      const names = [...bucket.keys()].filter((n) => n.startsWith(prefix)).sort();
      const size = Math.min(this.pageSize, Number(url.searchParams.get('maxResults') ?? this.pageSize));
      const start = Number(url.searchParams.get('pageToken') ?? '0');
      const page = names.slice(start, start + size);
      json(200, { kind: 'storage#objects', items: page.map((n) => this.#resource(bucketName, n, bucket.get(n)!)),
        ...(start + size < names.length ? { nextPageToken: String(start + size) } : {}) });
      return;
    }
    const o = bucket.get(name);
    const wanted = url.searchParams.get('generation');
    if (o === undefined || (wanted !== null && wanted !== o.generation)) {
      error(404, 'notFound', `No such object: ${bucketName}/${name}`);
      return;
    }
    if (url.searchParams.get('alt') !== 'media') {
      json(200, this.#resource(bucketName, name, o));
      return;
    }
    const range = parseRange(req.headers.range, o.data.length);
    if (range === 'bad') {
      res.writeHead(416, { 'content-range': `bytes */${o.data.length}`, 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 416, message: 'Request range not satisfiable' } }));
      return;
    }
    if (range !== undefined) seen.range = range;
    const headers: Record<string, string> = {
      'content-type': 'application/octet-stream', 'x-goog-generation': o.generation, 'x-goog-metageneration': '1',
      'x-goog-stored-content-length': String(o.data.length), 'x-goog-storage-class': 'STANDARD',
      'x-goog-hash': [`crc32c=${o.crc32c}`, ...(o.md5Hash === undefined ? [] : [`md5=${o.md5Hash}`])].join(','),
      'accept-ranges': 'bytes',
    };
    const bytes = range === undefined ? o.data : o.data.subarray(range.start, range.end + 1);
    if (range !== undefined) headers['content-range'] = `bytes ${range.start}-${range.end}/${o.data.length}`;
    headers['content-length'] = String(bytes.length);
    res.writeHead(range === undefined ? 200 : 206, headers);
    await sendBody(res, bytes, `${bucketName}/${name}`, this.faults, this.media);
  }
}
