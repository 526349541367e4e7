// kserve-v2.ts — the KServe v2 / Open Inference Protocol REST contract for every configured
// model: health, server and model metadata, model readiness, and infer with v2 JSON or Triton's
// binary tensor extension. Plain v2 JSON bodies keep their bytes (req.raw) so a Triton target
// can forward them without re-encoding.
// https://github.com/kserve/kserve/blob/master/docs/predict-api/v2/required_api.md
// https://github.com/triton-inference-server/server/blob/main/docs/protocol/extension_binary_data.md
// Triton's model configuration and statistics extensions (.../config, .../stats) answer what
// Triton tooling (tritonclient, perf_analyzer, model_analyzer) asks besides the metadata:
// https://github.com/triton-inference-server/server/blob/main/docs/protocol/extension_model_configuration.md
// https://github.com/triton-inference-server/server/blob/main/docs/protocol/extension_statistics.md

import pkg from '../../package.json' with { type: 'json' };
import { encodeMetadata } from '../codecs/v2-json.ts';
import { GatewayError } from '../errors.ts';
import type { FrontendDeps, FrontendFactory, HttpReply, HttpRequest, ModelHandle, Route } from '../types.ts';
import { kserveSchema, type KserveConfig } from './kserve.schema.ts';
import { jsonReply, tensorReply, type ReplyLimit } from './answer.ts';
import { readPredictBody } from './body.ts';
import { generateRoutes } from './kserve-generate.ts';
import { callModel, lookupModel } from './model-call.ts';
import { repositoryRoutes } from './kserve-repository.ts';
import { modelReadiness, readinessReply } from './readiness.ts';


/** serverMetadata is the v2 server metadata: name, version and the protocol extensions served. */
export const serverMetadata = { name: 'infergate', version: pkg.version, extensions: ['binary_tensor_data', 'model_configuration', 'statistics', 'model_repository'] } as const;

/** kserveV2 is the registry entry of the KServe v2 frontend (the `kserve` block with v2 on). */
export const kserveV2: FrontendFactory<KserveConfig> = {
  type: 'kserve',
  schema: kserveSchema,
  routes(config, deps) {
    if (!config.v2) return [];
    const limit: ReplyLimit = { frontend: 'kserve', maxResponseBytes: config.maxResponseBytes };
    const get = (path: string, handle: (req: HttpRequest) => Promise<HttpReply>): Route => ({ method: 'GET', path, frontend: 'kserve', handle });
    const routes: Route[] = [
      // KServe's v1 client asks GET / for liveness (is_server_live).
      get('/', async () => ({ status: 200, body: { status: 'alive' } })),
      // Liveness is the process: answering at all is the proof.
      get('/v2/health/live', async () => ({ status: 200, body: { live: true } })),
      get('/v2/health/ready', async () => readinessReply(deps, { ready: true })),
      get('/v2', async () => ({ status: 200, body: serverMetadata })),
      // Every model's statistics (graphs count none of their own: their steps are models here).
      get('/v2/models/stats', async () => {
        const handles = deps.modelNames().map((n) => deps.models(n)).filter((h) => h?.stats !== undefined);
        return jsonReply({ model_stats: (await Promise.all(handles.map((h) => h!.stats!()))).flat() }, limit);
      }),
    ];
    for (const base of ['/v2/models/{model}', '/v2/models/{model}/versions/{version}']) {
      routes.push(
        get(base, async (req) => {
          const handle = model(deps, req);
          return jsonReply(encodeMetadata(await handle.metadata()), limit);
        }),
        get(`${base}/config`, async (req) => {
          const handle = model(deps, req);
          if (handle.config === undefined) throw new GatewayError('not_found', `model "${handle.name}" has no model configuration`);
          return jsonReply(await handle.config(), limit);
        }),
        get(`${base}/stats`, async (req) => {
          const handle = model(deps, req);
          if (handle.stats === undefined) {
            throw new GatewayError('not_found', `model "${handle.name}" is a graph: it keeps no statistics of its own; its steps' are under their model names`);
          }
          return jsonReply({ model_stats: await handle.stats() }, limit);
        }),
        get(`${base}/ready`, async (req) => {
          const handle = model(deps, req);
          await modelReadiness(handle);
          return { status: 200, body: { name: handle.name, ...(handle.version === undefined ? {} : { version: handle.version }), ready: true } };
        }),
        {
          method: 'POST',
          path: `${base}/infer`,
          frontend: 'kserve',
          async handle(req) {
            const handle = model(deps, req);
            const body = await readPredictBody(req, { rows: false, tensors: true }, handle);
            const { response, headers } = await callModel(req, handle, body.request, limit);
            return tensorReply(body, response, handle, limit, headers);
          },
        },
      );
    }
    routes.push(...generateRoutes(deps, limit), ...repositoryRoutes(config.repository, deps));
    return routes;
  },
};

function model(deps: FrontendDeps, req: HttpRequest): ModelHandle {
  return lookupModel(deps, req.params.model!, req.params.version);
}
