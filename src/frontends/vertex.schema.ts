// vertex.schema.ts — the `frontends.vertex` block, apart from the routes (vertex.ts), which the registry
// (index.ts) imports only for a config that has the block: validation needs every schema, a start only its own frontends.

import { z } from 'zod';
import { duration, size } from '../config/units.ts';
import { routePath } from './route-path.ts';

export const vertexSchema = z.strictObject({
  model: z.string().describe('Gateway model that answers the predict route.'),
  predictRoute: routePath.default('/predict').describe(
    'POST path for predictions. Vertex passes it as AIP_PREDICT_ROUTE: write "${AIP_PREDICT_ROUTE:-/predict}" (config/vertex.yaml does).'),
  healthRoute: routePath.default('/health').describe(
    'GET path for health (200 only when ready). Vertex passes it as AIP_HEALTH_ROUTE: write "${AIP_HEALTH_ROUTE:-/health}".'),
  rawPredictRoute: routePath.optional().describe('POST path streamed unparsed to rawBackend (rawPredict-style: any payload, any answer).'),
  rawBackend: z.string().optional().describe('Backend whose raw proxy serves rawPredictRoute (http or passthrough).'),
  rawBackendPath: routePath.optional().describe('Path on rawBackend for rawPredictRoute; default the request\'s own path.'),
  invokeBackend: z.string().optional().describe(
    'Backend (http or passthrough) that serves Vertex\'s invoke routes (models uploaded with invokeRoutePrefix "/*", on dedicated endpoints): /invoke/foo/bar is streamed to its /foo/bar, any method, unparsed.'),
  endpoint: z.enum(['dedicated', 'shared']).default('dedicated').describe(
    'The Vertex endpoint type the model is deployed to: "dedicated" (recommended: 10 MB answers, inference timeout 10 min by default, up to 1 h) or "shared" (1.5 MB, 60 s). It sets the defaults of maxResponseBytes and timeoutMs.'),
  timeoutMs: duration.optional().describe(
    'The endpoint\'s inference timeout (a dedicated endpoint\'s clientConnectionConfig.inferenceTimeout): each call gets a deadline 1 s inside it (504 with a reason, before Vertex gives up). Default 10 min (dedicated) or 60 s (shared); at most 1 h (dedicated) or 60 s (shared).'),
  maxResponseBytes: size.optional().describe(
    'Largest answer; a larger one is refused with 413 response_too_large, never cut. Default 10 MB (dedicated) or 1.5 MB (shared).'),
}).describe('Vertex AI custom container: AIP_PREDICT_ROUTE and AIP_HEALTH_ROUTE.');

/** VertexConfig is the parsed `frontends.vertex` block. */
export type VertexConfig = z.infer<typeof vertexSchema>;
