// spawn.schema.ts — the `spawn` block's schema, apart from the supervisor (spawn.ts), so that
// validating a config does not load the process code.

import { z } from 'zod';
import { duration, maxDurationMs } from '../../config/units.ts';
import { locationSchema } from '../../storage/uri.ts';

/** spawnSchema is the `spawn` block of http, triton, tfserving and torchserve backends. */
export const spawnSchema = z.strictObject({
  command: z.array(z.string().min(1)).min(1).describe('Program and arguments, e.g. [tritonserver, --model-repository=/models]; run without a shell. `{port}` (here or in env) is the port the process must listen on: the url\'s port at start, a free one for each process a reload starts (the old one serves until the new one is ready).'),
  env: z.record(z.string(), z.coerce.string()).default({}).describe('Variables added to the gateway\'s own environment for the process; `{port}` as in command.'),
  cwd: z.string().optional().describe('Working directory (relative to the gateway\'s own); default the gateway\'s.'),
  readyTimeoutSeconds: z.coerce.number().positive().max(maxDurationMs / 1000).default(120).describe('Start fails when the backend\'s health check has not passed within this time.'),
  restartBackoffMs: duration.prefault('1s').describe('Wait before the first restart after the process exits; doubles on each exit in a row.'),
  maxRestartBackoffMs: duration.prefault('30s').describe('Longest wait between restarts.'),
  stopGraceSeconds: z.coerce.number().min(0).max(maxDurationMs / 1000).default(8).describe('On shutdown, time between SIGTERM and SIGKILL.'),
  modelRepository: locationSchema.optional().describe(
    'A model repository fetched through the `storage` cache before the process starts (gs://, s3://, oci://, https://, a local path; archives unpacked); `{modelRepository}` in command or env is its local path, e.g. [tritonserver, "--model-repository={modelRepository}"].'),
}).describe('Start and supervise the model server process; the backend is not ready until its health check passes.');

export type SpawnConfig = z.infer<typeof spawnSchema>;
