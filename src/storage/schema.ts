// schema.ts — the config's `storage` block: where remote model artifacts are cached, how they
// are fetched, and the endpoints of S3-compatible and Cloud Storage services.

import { z } from 'zod';
import { duration, size } from '../config/units.ts';

/** storageSchema is the config's `storage` block. */
export const storageSchema = z.strictObject({
  cacheDir: z.string().min(1).optional().describe(
    'Folder holding downloaded artifacts, keyed by URI and generation/ETag (a PersistentVolume or an emptyDir); several processes may share it. Default: <tmpdir>/infergate-cache.'),
  maxCacheBytes: size.prefault('50gb').describe('Size budget of cacheDir: after a download, the least recently used artifacts are deleted until the cache fits (never one in use here, being downloaded, or used in the last 10 minutes).'),
  parallelParts: z.coerce.number().int().min(1).max(64).default(8).describe('Ranged parts of one object fetched at once.'),
  partBytes: size.prefault('32mb').describe('Size of one ranged part; an object no larger is fetched with one request.'),
  retries: z.coerce.number().int().min(0).max(20).default(5).describe('Tries again a part whose connection failed or was cut, from the byte it reached.'),
  stallTimeoutMs: duration.prefault('60s').describe('A part that receives no byte for this long is abandoned and tried again from the byte it reached (a stalled connection).'),
  staleLockMs: duration.prefault('60s').describe('A lock file not refreshed for this long belongs to a process that died: it is taken over. The holder refreshes it every third of this.'),
  maxUnpackedBytes: size.prefault('100gb').describe('Most bytes an archive (.tar.gz, .zip) may unpack to; a larger one is refused as a decompression bomb.'),
  maxArchiveEntries: z.coerce.number().int().min(1).default(100_000).describe('Most entries an archive may hold.'),
  progressIntervalMs: duration.prefault('5s').describe('How often a download logs its progress (bytes, rate, ETA).'),
  gcs: z.strictObject({
    apiEndpoint: z.string().url().optional().describe('Cloud Storage JSON API endpoint (an emulator, a private endpoint); default storage.googleapis.com, or $STORAGE_EMULATOR_HOST.'),
    useAuthWithCustomEndpoint: z.boolean().default(false).describe('Send Application Default Credentials to apiEndpoint too (off: an emulator gets none).'),
    projectId: z.string().optional().describe('Project of the credentials; saves the client looking it up (workload identity federation asks the Resource Manager API otherwise).'),
    userProject: z.string().optional().describe('Project billed for a requester-pays bucket.'),
  }).prefault({}).describe('Cloud Storage (gs://) through @google-cloud/storage with Application Default Credentials.'),
  s3: z.strictObject({
    endpoint: z.string().url().optional().describe('S3 endpoint (MinIO, a VPC endpoint); default AWS, or $AWS_ENDPOINT_URL_S3.'),
    region: z.string().optional().describe('Region; default $AWS_REGION, else us-east-1.'),
    forcePathStyle: z.boolean().default(false).describe('Address buckets as endpoint/bucket/key (MinIO and most S3-compatible servers need it).'),
  }).prefault({}).describe('S3 (s3://) through @aws-sdk/client-s3 with the default credential chain (env, IRSA web identity, ECS and instance roles).'),
  oci: z.strictObject({
    region: z.string().optional().describe('OCI region of oci:// buckets, e.g. us-ashburn-1; default $OCI_REGION or $OCI_RESOURCE_PRINCIPAL_REGION.'),
    endpoint: z.string().url().optional().describe('Overrides https://<namespace>.compat.objectstorage.<region>.oraclecloud.com.'),
  }).prefault({}).describe('OCI Object Storage (oci://bucket@namespace/prefix) through its S3-compatible API, with a customer secret key in $OCI_ACCESS_KEY_ID / $OCI_SECRET_ACCESS_KEY (else the AWS chain).'),
}).describe('Model storage: gs://, s3://, oci://, https:// and local artifacts for modelRepository, modelPath and spawn.modelRepository.');

export type StorageConfig = z.infer<typeof storageSchema>;
