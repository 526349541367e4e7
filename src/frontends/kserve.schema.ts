// kserve.schema.ts — the `frontends.kserve` block, apart from the routes (kserve-v2.ts), which the registry
// (index.ts) imports only for a config that has the block: validation needs every schema, a start only its own frontends.

import { z } from 'zod';
import { size } from '../config/units.ts';

/** kserveSchema is the one `kserve` block: kserve-v1.ts reads it too. */
export const kserveSchema = z.strictObject({
  v1: z.boolean().default(true).describe('Serve KServe v1: GET /v1/models, GET /v1/models/{m}, POST /v1/models/{m}:predict.'),
  v2: z.boolean().default(true).describe('Serve KServe v2: /v2/health/live|ready, /v2, /v2/models/{m}[/versions/{v}][/ready|/infer].'),
  repository: z.boolean().default(false).describe(
    'Serve the repository extension\'s load and unload: POST /v2/repository/models/{m}/load|unload (behind server.adminToken when set). POST /v2/repository/index is always served.'),
  maxResponseBytes: size.prefault('64mb').describe('Largest answer; a larger one is refused with 413 response_too_large, never cut.'),
}).describe('KServe v1 and v2 (Open Inference Protocol) for every configured model.');

/** KserveConfig is the parsed `kserve` block. */
export type KserveConfig = z.infer<typeof kserveSchema>;
