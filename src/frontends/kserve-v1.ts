// kserve-v1.ts — the KServe v1 contract (TF Serving's V1 HTTP API shape) for every configured
// model: list, readiness, and predict with {"instances": [...]} → {"predictions": [...]}.
// It reads the same `kserve` block as kserve-v2.ts; the registry serves both from that block.
// https://github.com/kserve/website/blob/main/docs/modelserving/data_plane/v1_protocol.md

import type { FrontendFactory, HttpRequest } from '../types.ts';
import { jsonReply, predictReply, type ReplyLimit } from './answer.ts';
import { readPredictBody } from './body.ts';
import { kserveSchema, type KserveConfig } from './kserve.schema.ts';
import { callModel, lookupModel } from './model-call.ts';
import { modelReadiness } from './readiness.ts';

/** kserveV1 is the registry entry of the KServe v1 frontend (the `kserve` block with v1 on). */
export const kserveV1: FrontendFactory<KserveConfig> = {
  type: 'kserve',
  schema: kserveSchema,
  routes(config, deps) {
    if (!config.v1) return [];
    const limit: ReplyLimit = { frontend: 'kserve', maxResponseBytes: config.maxResponseBytes };
    return [
      { method: 'GET', path: '/v1/models', frontend: 'kserve', handle: async () => jsonReply({ models: deps.modelNames() }, limit) },
      {
        method: 'GET',
        path: '/v1/models/{model}',
        frontend: 'kserve',
        async handle(req: HttpRequest) {
          const handle = lookupModel(deps, req.params.model!);
          await modelReadiness(handle);
          return { status: 200, body: { name: handle.name, ready: true } };
        },
      },
      {
        method: 'POST',
        path: '/v1/models/{model}:predict',
        frontend: 'kserve',
        async handle(req: HttpRequest) {
          const handle = lookupModel(deps, req.params.model!);
          const body = await readPredictBody(req, { rows: true, tensors: false }, handle);
          const { response, headers } = await callModel(req, handle, body.request, limit);
          return predictReply(body, response, handle, limit, headers);
        },
      },
    ];
  },
};
