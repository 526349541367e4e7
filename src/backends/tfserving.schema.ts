// tfserving.schema.ts — the tfserving backend's config block, apart from its implementation (tfserving.ts), which the
// registry (index.ts) imports only for a config that uses the type: validation needs every schema, a start only its own backends.

import { z } from 'zod';
import { oneOfUrl, serverFields } from './shared/link.schema.ts';
import { metadataOverrideSchema } from './shared/metadata.ts';
import { spawnSchema } from './shared/spawn.schema.ts';

export const tfservingSchema = z.strictObject({
  type: z.literal('tfserving'),
  ...serverFields,
  signatureName: z.string().min(1).optional().describe('Signature to call (signature_name); the server\'s default is serving_default.'),
  metadata: metadataOverrideSchema.optional(),
  spawn: spawnSchema.optional(),
}).superRefine(oneOfUrl).describe('TensorFlow Serving REST API (port 8501).');

/** TfservingConfig is the validated config of one tfserving backend. */
export type TfservingConfig = z.infer<typeof tfservingSchema>;
