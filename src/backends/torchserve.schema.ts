// torchserve.schema.ts — the torchserve backend's config block, apart from its implementation (torchserve.ts), which the
// registry (index.ts) imports only for a config that uses the type: validation needs every schema, a start only its own backends.

import { z } from 'zod';
import { oneOfUrl, serverFields } from './shared/link.schema.ts';
import { metadataOverrideSchema } from './shared/metadata.ts';
import { spawnSchema } from './shared/spawn.schema.ts';

export const torchserveSchema = z.strictObject({
  type: z.literal('torchserve'),
  ...serverFields,
  body: z.enum(['instances', 'list']).default('instances')
    .describe('What the handler reads: {"instances": [...]} (instances) or the bare JSON list of rows (list).'),
  metadata: metadataOverrideSchema.optional(),
  spawn: spawnSchema.optional(),
}).superRefine(oneOfUrl).describe('TorchServe inference API (port 8080).');

/** TorchserveConfig is the validated config of one torchserve backend. */
export type TorchserveConfig = z.infer<typeof torchserveSchema>;
