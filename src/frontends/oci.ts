// oci.ts — the OCI Data Science BYOC contract: POST /predict and GET /health (or the paths
// OCI puts in MODEL_DEPLOY_PREDICT_ENDPOINT / MODEL_DEPLOY_HEALTH_ENDPOINT). As in OCI's Triton
// mode, the `model_name` and `model_version` request headers pick the model and version. An
// answer the backend streams is streamed through (OCI's predictWithResponseStream, with
// MODEL_DEPLOY_ENABLE_STREAMING=true, relays it chunk by chunk and refuses an answer that is not).
// https://docs.oracle.com/iaas/data-science/using/mod-dep-byoc.htm

import type { FrontendFactory, HttpRequest } from '../types.ts';
import { ociSchema, type OciConfig } from './oci.schema.ts';
import { predictReply } from './answer.ts';
import { header, readPredictBody } from './body.ts';
import { callModel, checkName, lookupModel } from './model-call.ts';
import { readinessReply } from './readiness.ts';


/** oci is the registry entry of the OCI Data Science BYOC frontend. */
export const oci: FrontendFactory<OciConfig> = {
  type: 'oci',
  schema: ociSchema,
  routes(config, deps) {
    const limit = { frontend: 'oci', maxResponseBytes: config.maxResponseBytes };
    const paths = [config.predictRoute, ...(config.streamRoute === '' || config.streamRoute === config.predictRoute ? [] : [config.streamRoute])];
    return [
      ...paths.map((path) => ({
        method: 'POST' as const,
        path,
        frontend: 'oci',
        async handle(req: HttpRequest) {
          const named = header(req, 'model_name');
          const version = header(req, 'model_version');
          const name = named === undefined ? config.model : checkName(named, 'the model_name header');
          const handle = lookupModel(deps, name, version === undefined ? undefined : checkName(version, 'the model_version header'));
          const body = await readPredictBody(req, { rows: true, tensors: true }, handle);
          const { response, headers } = await callModel(req, handle, body.request, limit);
          return predictReply(body, response, handle, limit, headers);
        },
      })),
      { method: 'GET', path: config.healthRoute, frontend: 'oci', handle: async () => readinessReply(deps, { ready: true }) },
    ];
  },
};
