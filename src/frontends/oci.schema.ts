// oci.schema.ts — the `frontends.oci` block, apart from the routes (oci.ts), which the registry
// (index.ts) imports only for a config that has the block: validation needs every schema, a start only its own frontends.

import { z } from 'zod';
import { size } from '../config/units.ts';
import { routePath } from './route-path.ts';

export const ociSchema = z.strictObject({
  model: z.string().describe('Gateway model used when the request has no model_name header.'),
  predictRoute: routePath.default('/predict').describe(
    'POST path for predictions; config/oci.yaml writes "${MODEL_DEPLOY_PREDICT_ENDPOINT:-/predict}".'),
  streamRoute: z.union([routePath, z.literal('')]).default('/predictWithResponseStream').describe(
    'POST path served exactly like predictRoute (a streamed answer streams on both), for callers that use the streaming API\'s name; "" turns it off.'),
  healthRoute: routePath.default('/health').describe(
    'GET path for health (200 only when ready); config/oci.yaml writes "${MODEL_DEPLOY_HEALTH_ENDPOINT:-/health}".'),
  maxResponseBytes: size.prefault('10mb').describe('Largest answer; a larger one is refused with 413 response_too_large, never cut (OCI allows 10 MB).'),
}).describe('OCI Data Science BYOC: /predict and /health; model_name / model_version headers choose the model.');

/** OciConfig is the parsed `frontends.oci` block. */
export type OciConfig = z.infer<typeof ociSchema>;
