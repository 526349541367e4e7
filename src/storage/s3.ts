// s3.ts — S3 (s3://) and S3-compatible stores through @aws-sdk/client-s3: the default credential
// chain (environment, shared files, IRSA web identity on EKS, ECS task and EC2 instance roles),
// SigV4 signing and retries come with it. OCI Object Storage (oci://bucket@namespace/path) is
// read through its S3-compatible endpoint with a customer secret key. Each object is read
// with If-Match on the listed ETag, so a rewrite during the download is a clear 412.
// https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html
// https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html
// https://docs.oracle.com/en-us/iaas/Content/Object/Tasks/s3compatibleapi.htm

import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { clip, GatewayError } from '../errors.ts';
import type { StorageConfig } from './schema.ts';
import { retryableStatus, selectObjects, StorageError, type Listing, type RemoteObject, type Source } from './source.ts';

const clients = new Map<string, S3Client>();

function clientFor(options: S3ClientConfig): S3Client {
  const key = JSON.stringify(options);
  let client = clients.get(key);
  if (client === undefined) {
    // Checksums are checked on the whole file afterwards; a ranged GET carries none to validate.
    client = new S3Client({ ...options, maxAttempts: 3, requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' });
    clients.set(key, client);
  }
  return client;
}

/** s3Options is the client config for s3:// locations. */
export function s3Options(config: StorageConfig['s3']): S3ClientConfig {
  return {
    region: config.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
    ...(config.endpoint === undefined ? {} : { endpoint: config.endpoint }),
    forcePathStyle: config.forcePathStyle,
  };
}

/** ociOptions is the client config for an OCI namespace's S3-compatible endpoint. */
export function ociOptions(namespace: string, config: StorageConfig['oci']): S3ClientConfig {
  const region = config.region ?? process.env.OCI_REGION ?? process.env.OCI_RESOURCE_PRINCIPAL_REGION;
  if (region === undefined && config.endpoint === undefined) {
    throw new GatewayError('bad_config', 'an oci:// location needs storage.oci.region (or $OCI_REGION) to find its S3-compatible endpoint');
  }
  const keyId = process.env.OCI_ACCESS_KEY_ID;
  const secret = process.env.OCI_SECRET_ACCESS_KEY;
  return {
    region: region ?? 'us-ashburn-1',
    endpoint: config.endpoint ?? `https://${namespace}.compat.objectstorage.${region}.oraclecloud.com`,
    // OCI's compatibility API addresses buckets by path only.
    forcePathStyle: true,
    ...(keyId !== undefined && secret !== undefined ? { credentials: { accessKeyId: keyId, secretAccessKey: secret } } : {}),
  };
}

/**
 * s3Source reads s3://bucket/path (or an oci:// location, given ociOptions) with the given
 * client config; `base` is how object URIs begin in logs and errors (s3://bucket, oci://bucket@ns).
 */
export function s3Source(bucket: string, path: string, uri: string, base: string, options: S3ClientConfig): Source {
  const client = clientFor(options);
  const objectUri = (key: string): string => `${base}/${key}`;
  const keys = new Map<string, string>();
  return {
    async list(): Promise<Listing> {
      const items: Array<{ name: string; size: number; etag: string }> = [];
      let token: string | undefined;
      try {
        do {
          const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: path, ...(token === undefined ? {} : { ContinuationToken: token }) }));
          for (const c of page.Contents ?? []) items.push({ name: c.Key!, size: Number(c.Size ?? 0), etag: unquote(c.ETag ?? '') });
          token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
        } while (token !== undefined);
      } catch (err) {
        throw failure(`listing ${uri}`, err);
      }
      const { chosen, single } = selectObjects(items, path, uri);
      const objects = chosen.map((c): RemoteObject => {
        const own = objectUri(c.name);
        keys.set(own, c.name);
        return { uri: own, rel: c.rel, size: c.size, version: c.etag, ranged: true, checksums: c.etag === '' ? {} : { s3Etag: c.etag } };
      });
      return { objects, single };
    },
    async read(obj, start, end, signal) {
      const key = keys.get(obj.uri)!;
      let body: AsyncIterable<Uint8Array>;
      try {
        const res = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key, Range: `bytes=${start}-${end}`, ...(obj.version === '' ? {} : { IfMatch: `"${obj.version}"` }) }), { abortSignal: signal });
        body = res.Body as unknown as AsyncIterable<Uint8Array>;
      } catch (err) {
        throw failure(`downloading ${obj.uri}`, err);
      }
      return (async function* () {
        try {
          for await (const chunk of body) yield chunk;
        } catch (err) {
          throw failure(`downloading ${obj.uri}`, err);
        }
      })();
    },
    async multipartPartSize(obj) {
      // HEAD with partNumber=1 answers with the first part's length: the part size of the upload.
      try {
        const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: keys.get(obj.uri)!, PartNumber: 1 }));
        return head.ContentLength;
      } catch (err) {
        throw failure(`reading the part size of ${obj.uri}`, err);
      }
    },
  };
}

function unquote(etag: string): string {
  return etag.replace(/^W\//, '').replace(/^"|"$/g, '');
}

// failure names the call and S3's reason (its error code and message).
function failure(what: string, err: unknown): StorageError {
  const e = err as { name?: string; message?: string; $metadata?: { httpStatusCode?: number }; code?: string };
  const status = e.$metadata?.httpStatusCode;
  const code = e.name !== undefined && e.name !== 'Error' && !/^\d+$/.test(e.name) ? `${e.name}` : undefined;
  const reason = clip([code, e.message && e.message !== code && e.message !== 'UnknownError' ? e.message : undefined].filter(Boolean).join(': ') || String(err));
  return new StorageError(`${what} failed${status === undefined ? '' : ` with ${status}`}: ${reason}`, retryableStatus(status), err);
}
