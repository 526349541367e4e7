// sagemaker.schema.ts — the `frontends.sagemaker` block, apart from the routes (sagemaker.ts), which the registry
// (index.ts) imports only for a config that has the block: validation needs every schema, a start only its own frontends.

import { z } from 'zod';
import { size } from '../config/units.ts';
import { batchTransformSchema } from './sagemaker-batch.ts';

export const sagemakerSchema = z.strictObject({
  model: z.string().optional().describe('Gateway model that answers /invocations without X-Amzn-SageMaker-Target-Model; required unless multiModel.'),
  multiModel: z.boolean().default(false).describe(
    'SageMaker multi-model endpoint: POST/GET /models, GET/DELETE /models/{name}, POST /models/{name}/invoke, loading each model from the dynamicModels template.'),
  pageSize: z.coerce.number().int().min(1).max(10_000).default(100).describe('Models per page of GET /models (the next page is asked with next_page_token).'),
  maxResponseBytes: size.prefault('6mb').describe('Largest answer; a larger one is refused with 413 response_too_large, never cut (SageMaker real-time allows 6 MB).'),
  batchTransform: batchTransformSchema.prefault({}),
}).describe('SageMaker BYOC: GET /ping and POST /invocations on SAGEMAKER_BIND_TO_PORT (8080).');

/** SagemakerConfig is the parsed `frontends.sagemaker` block. */
export type SagemakerConfig = z.infer<typeof sagemakerSchema>;
