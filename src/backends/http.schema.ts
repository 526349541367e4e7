// http.schema.ts — the http backend's config block, apart from its implementation (http.ts), which the
// registry (index.ts) imports only for a config that uses the type: validation needs every schema, a start only its own backends.

import { z } from 'zod';
import { duration } from '../config/units.ts';
import { tensorSpecSchema } from '../tensors/spec.ts';
import { oneOfUrl, serverFields } from './shared/link.schema.ts';
import { spawnSchema } from './shared/spawn.schema.ts';

const { url, urls, connectTimeoutMs, maxResponseBytes, outlierDetection } = serverFields;

export const httpSchema = z.strictObject({
  type: z.literal('http'),
  url: url.describe('Server URL, e.g. http://127.0.0.1:5000 (a base path is kept).'),
  urls,
  predictPath: z.string().regex(/^\//).default('/predict').describe('POST path for predictions; {model} and {version} are replaced.'),
  healthPath: z.string().regex(/^\//).default('/health').describe('GET path for health; 2xx = ready.'),
  connectTimeoutMs,
  maxResponseBytes,
  raw: z.boolean().default(false).describe(
    'Take bodies that are not {"instances"} JSON (an image, CSV, an OpenAI request) on the platform predict routes: sent to predictPath unchanged with their content type, the answer returned unchanged (Vertex rawPredict).'),
  rawTimeoutMs: duration.prefault('60s').describe('Raw (passthrough) routes and streamed raw answers from this server: longest wait for its next byte.'),
  metadata: z.strictObject({
    inputs: z.array(tensorSpecSchema).optional(),
    outputs: z.array(tensorSpecSchema).optional(),
    maxBatchSize: z.coerce.number().int().min(0).optional(),
  }).optional().describe('What the server would report as model metadata (such servers report none); needed to answer tensor requests.'),
  outlierDetection,
  spawn: spawnSchema.optional(),
}).superRefine(oneOfUrl).describe('Any HTTP model server speaking {"instances"} → {"predictions"} (Flask, gunicorn, FastAPI).');

/** HttpConfig is the validated config of one http backend. */
export type HttpConfig = z.infer<typeof httpSchema>;
