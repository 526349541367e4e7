// fake-s3.ts (test support) — an S3 REST API server on 127.0.0.1 (path-style addressing, as
// MinIO and OCI's compatibility endpoint take it), written from the API reference:
// ListObjectsV2 (GET /bucket?list-type=2, prefix, continuation-token, max-keys → ListBucketResult
// XML), HeadObject and GetObject (Range → 206 + Content-Range; If-Match → 412
// PreconditionFailed; partNumber → that part of a multipart upload, with x-amz-mp-parts-count),
// ETags as S3 makes them (hex MD5; md5-of-part-md5s "-N" for multipart), and errors as
// <Error><Code/><Message/></Error> XML. Requests must carry a SigV4 Authorization header for
// the configured access key id, and its signature is recomputed with the secret key.
// https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html
// https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html
// https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html
// https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html

import { createHash, createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { closeLocal, listenLocal, newFaults, parseRange, sendBody, type Faults, type SeenRequest } from './object-store-faults.ts';

interface StoredObject { data: Buffer; etag: string; partSize?: number; modified: string }

/** FakeS3 is a running fake; `url` is its endpoint. */
export class FakeS3 {
  readonly buckets = new Map<string, Map<string, StoredObject>>();
  readonly faults: Faults = newFaults();
  readonly seen: SeenRequest[] = [];
  readonly media = { now: 0, max: 0 };
  accessKeyId = 'AKIDFAKE';
  secretAccessKey = 'fake-secret';
  pageSize = 1000;
  url = '';
  #server: Server;

  constructor() {
    this.#server = createServer((req, res) => {
      req.resume();
      req.on('end', () => { void this.#handle(req, res).catch(() => res.destroy()); });
    });
  }

  async listen(): Promise<this> {
    this.url = await listenLocal(this.#server);
    return this;
  }

  close(): Promise<void> {
    return closeLocal(this.#server);
  }

  /** put stores an object; with partSize, as a multipart upload of parts that size. */
  put(bucket: string, key: string, data: Buffer | string, options: { partSize?: number } = {}): string {
    const bytes = Buffer.from(data);
    if (!this.buckets.has(bucket)) this.buckets.set(bucket, new Map());
    let etag: string;
    if (options.partSize !== undefined) {
      const digests: Buffer[] = [];
      for (let at = 0; at < bytes.length; at += options.partSize) digests.push(createHash('md5').update(bytes.subarray(at, at + options.partSize)).digest());
      etag = `${createHash('md5').update(Buffer.concat(digests)).digest('hex')}-${digests.length}`;
    } else {
      etag = createHash('md5').update(bytes).digest('hex');
    }
    this.buckets.get(bucket)!.set(key, { data: bytes, etag, modified: new Date().toISOString(), ...(options.partSize === undefined ? {} : { partSize: options.partSize }) });
    return etag;
  }

  /** getRequests lists the GetObject requests seen for a key. */
  getRequests(bucket: string, key: string): SeenRequest[] {
    return this.seen.filter((s) => s.method === 'GET' && s.path === `/${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`);
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url!, 'http://x');
    const seen: SeenRequest = { method: req.method!, path: url.pathname, query: url.searchParams, headers: req.headers };
    this.seen.push(seen);
    const xmlError = (status: number, code: string, message: string, resource = url.pathname): void => {
      res.writeHead(status, { 'content-type': 'application/xml', 'x-amz-request-id': 'FAKE0001' });
      res.end(req.method === 'HEAD' ? undefined : `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${esc(message)}</Message><Resource>${esc(resource)}</Resource><RequestId>FAKE0001</RequestId></Error>`);
    };
    const auth = String(req.headers.authorization ?? '');
    if (!auth.startsWith(`AWS4-HMAC-SHA256 Credential=${this.accessKeyId}/`)) {
      xmlError(403, 'InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.');
      return;
    }
    if (!signatureMatches(req, url, auth, this.secretAccessKey)) {
      xmlError(403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided. Check your key and signing method.');
      return;
    }
    const [, bucketName = '', ...rest] = url.pathname.split('/');
    const key = rest.map(decodeURIComponent).join('/');
    const denied = this.faults.deny.get(`${bucketName}/${key}`) ?? this.faults.deny.get(`${bucketName}/`);
    if (denied !== undefined) {
      if (denied === 403) xmlError(403, 'AccessDenied', 'Access Denied');
      else xmlError(denied, 'InternalError', 'We encountered an internal error. Please try again.');
      return;
    }
    const bucket = this.buckets.get(bucketName);
    if (bucket === undefined) {
      xmlError(404, 'NoSuchBucket', 'The specified bucket does not exist', `/${bucketName}`);
      return;
    }
    if (key === '' && req.method === 'GET') {
      this.#list(bucketName, bucket, url.searchParams, res);
      return;
    }
    const o = bucket.get(key);
    if (o === undefined || (req.method !== 'GET' && req.method !== 'HEAD')) {
      xmlError(404, 'NoSuchKey', 'The specified key does not exist.');
      return;
    }
    const ifMatch = req.headers['if-match'];
    if (ifMatch !== undefined && ifMatch !== `"${o.etag}"` && ifMatch !== '*') {
      xmlError(412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold');
      return;
    }
    let base = o.data;
    const headers: Record<string, string> = { etag: `"${o.etag}"`, 'last-modified': new Date(o.modified).toUTCString(), 'accept-ranges': 'bytes', 'content-type': 'application/octet-stream' };
    const partNumber = url.searchParams.get('partNumber');
    if (partNumber !== null) {
      const size = o.partSize ?? o.data.length;
      const n = Number(partNumber);
      const parts = Math.max(1, Math.ceil(o.data.length / size));
      if (!(n >= 1 && n <= parts)) {
        xmlError(416, 'InvalidPartNumber', 'The requested partnumber is not satisfiable');
        return;
      }
      base = o.data.subarray((n - 1) * size, n * size);
      if (o.partSize !== undefined) headers['x-amz-mp-parts-count'] = String(parts);
    }
    const range = parseRange(req.headers.range, base.length);
    if (range === 'bad') {
      xmlError(416, 'InvalidRange', 'The requested range is not satisfiable');
      return;
    }
    if (range !== undefined) {
      seen.range = range;
      headers['content-range'] = `bytes ${range.start}-${range.end}/${base.length}`;
    }
    const bytes = range === undefined ? base : base.subarray(range.start, range.end + 1);
    headers['content-length'] = String(bytes.length);
    res.writeHead(range === undefined ? 200 : 206, headers);
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    await sendBody(res, bytes, `${bucketName}/${key}`, this.faults, this.media);
  }

  #list(bucketName: string, bucket: Map<string, StoredObject>, q: URLSearchParams, res: ServerResponse): void {
    const prefix = q.get('prefix') ?? '';
    const keys = [...bucket.keys()].filter((k) => k.startsWith(prefix)).sort();
    const max = Math.min(this.pageSize, Number(q.get('max-keys') ?? 1000));
    const start = Number(q.get('continuation-token') ?? '0');
    const page = keys.slice(start, start + max);
    const truncated = start + max < keys.length;
    const contents = page.map((k) => {
      const o = bucket.get(k)!;
      return `<Contents><Key>${esc(k)}</Key><LastModified>${o.modified}</LastModified><ETag>&quot;${o.etag}&quot;</ETag><Size>${o.data.length}</Size><StorageClass>STANDARD</StorageClass></Contents>`;
    }).join('');
    res.writeHead(200, { 'content-type': 'application/xml' });
    res.end(`<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>${esc(bucketName)}</Name><Prefix>${esc(prefix)}</Prefix>` +
      `<KeyCount>${page.length}</KeyCount><MaxKeys>${max}</MaxKeys><IsTruncated>${truncated}</IsTruncated>${contents}` +
      `${truncated ? `<NextContinuationToken>${start + max}</NextContinuationToken>` : ''}</ListBucketResult>`);
  }
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

// signatureMatches recomputes a SigV4 header signature: canonical request (method, the path as
// sent, sorted query, the signed headers, the payload hash header), string to sign, and the
// HMAC chain of date, region and service keyed by the secret.
function signatureMatches(req: IncomingMessage, url: URL, auth: string, secret: string): boolean {
  const m = /Credential=[^/]+\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})/.exec(auth);
  const amzDate = req.headers['x-amz-date'];
  if (m === null || typeof amzDate !== 'string') return false;
  const [, date, region, service, signed, signature] = m as unknown as [string, string, string, string, string, string];
  const enc = (v: string): string => encodeURIComponent(v).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  const query = [...url.searchParams].map(([k, v]) => [enc(k), enc(v)]).sort(([a, x], [b, y]) => (a! < b! ? -1 : a! > b! ? 1 : x! < y! ? -1 : 1)).map(([k, v]) => `${k}=${v}`).join('&');
  const path = req.url!.split('?')[0]!;
  const headers = signed.split(';').map((h) => `${h}:${String(req.headers[h] ?? '').trim().replace(/\s+/g, ' ')}\n`).join('');
  const canonical = [req.method, path, query, headers, signed, String(req.headers['x-amz-content-sha256'] ?? 'UNSIGNED-PAYLOAD')].join('\n');
  const scope = `${date}/${region}/${service}/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, createHash('sha256').update(canonical).digest('hex')].join('\n');
  let key: Buffer = createHmac('sha256', `AWS4${secret}`).update(date).digest();
  for (const part of [region, service, 'aws4_request']) key = createHmac('sha256', key).update(part).digest();
  return createHmac('sha256', key).update(toSign).digest('hex') === signature;
}
