// vertex.ts — the Vertex AI custom-container contract: POST AIP_PREDICT_ROUTE with
// {"instances": [...], "parameters": {...}} → {"predictions": [...]}, one per instance, in order,
// and GET AIP_HEALTH_ROUTE (200 only when ready). Vertex adds deployedModelId itself, so the
// answer never carries it. v2 {"inputs"} bodies and Triton-on-Vertex binary bodies are taken too.
// The endpoint type sets the limits: a dedicated public endpoint (recommended) takes 10 MB and an
// inference timeout of 10 min by default, configurable up to 1 h; a shared public endpoint 1.5 MB
// and 60 s. The gateway refuses a larger answer itself (413) and answers 504 just before Vertex
// would give the call up, with a reason instead of Vertex's bare timeout.
// https://cloud.google.com/vertex-ai/docs/predictions/custom-container-requirements
// https://cloud.google.com/vertex-ai/docs/predictions/using-dedicated-endpoints
// https://cloud.google.com/vertex-ai/docs/predictions/create-public-endpoint

import { vertexBinaryType } from '../codecs/v2-binary.ts';
import { size } from '../config/units.ts';
import { GatewayError } from '../errors.ts';
import type { Backend, FrontendDeps, FrontendFactory, HttpRequest, RawRoute, Route } from '../types.ts';
import { vertexSchema, type VertexConfig } from './vertex.schema.ts';
import { predictReply } from './answer.ts';
import { readPredictBody, sizedContentType, type PredictBodyOptions } from './body.ts';
import { callModel, lookupModel } from './model-call.ts';
import { readinessReply } from './readiness.ts';


/** vertexEndpoints are each endpoint type's limits, as Vertex documents them. */
export const vertexEndpoints = {
  dedicated: { maxResponseBytes: 10 * 1024 ** 2, timeoutMs: 600_000, maxTimeoutMs: 3_600_000 },
  shared: { maxResponseBytes: Math.round(1.5 * 1024 ** 2), timeoutMs: 60_000, maxTimeoutMs: 60_000 },
} as const;

// The deadline is this much inside the endpoint's timeout, so the gateway's 504 reaches Vertex first.
const answerMarginMs = 1000;

/** vertexBinary is Triton-on-Vertex framing: the JSON header size travels in the content type. */
const vertexBinary = sizedContentType(vertexBinaryType);

const bodyOptions: PredictBodyOptions = { rows: true, tensors: true, binaryType: vertexBinary };

/** vertex is the registry entry of the Vertex AI custom-container frontend. */
export const vertex: FrontendFactory<VertexConfig> = {
  type: 'vertex',
  schema: vertexSchema,
  routes(config, deps) {
    const endpoint = vertexEndpoints[config.endpoint];
    const timeoutMs = config.timeoutMs ?? endpoint.timeoutMs;
    if (timeoutMs > endpoint.maxTimeoutMs) {
      throw new GatewayError('bad_config', `frontends.vertex.timeoutMs: ${timeoutMs} ms is longer than a ${config.endpoint} endpoint allows (${endpoint.maxTimeoutMs / 1000} s)`);
    }
    const limit = { frontend: 'vertex', maxResponseBytes: config.maxResponseBytes ?? endpoint.maxResponseBytes, maxCallMs: Math.max(1, timeoutMs - answerMarginMs) };
    const routes: Array<Route | RawRoute> = [
      {
        method: 'POST',
        path: config.predictRoute,
        frontend: 'vertex',
        async handle(req: HttpRequest) {
          const handle = lookupModel(deps, config.model);
          const body = await readPredictBody(req, bodyOptions, handle);
          const { response, headers } = await callModel(req, handle, body.request, limit);
          return predictReply(body, response, handle, limit, headers);
        },
      },
      { method: 'GET', path: config.healthRoute, frontend: 'vertex', handle: async () => readinessReply(deps, { ready: true }) },
    ];
    if (config.rawPredictRoute !== undefined) routes.push(rawPredict(config, deps));
    if (config.invokeBackend !== undefined) routes.push(invokeRoutes(config.invokeBackend, deps));
    return routes;
  },
};

// invokeRoutes serves /invoke/* as Vertex's invoke method names it: the path after /invoke, on
// the backend, streamed both ways (an LLM server's own routes, streaming answers included).
function invokeRoutes(name: string, deps: FrontendDeps): RawRoute {
  const proxy = rawProxyOf(name, deps, 'frontends.vertex.invokeBackend');
  return {
    method: '*',
    path: '/invoke/*',
    frontend: 'vertex',
    raw(req, res, ctx) {
      const rest = ctx.path.slice('/invoke'.length);
      proxy(req, res, rest.startsWith('/') ? rest : `/${rest}`, ctx.fail);
    },
  };
}

// rawProxyOf finds a backend's raw proxy, or says at build time why it has none.
function rawProxyOf(name: string, deps: FrontendDeps, where: string): NonNullable<Backend['proxy']> {
  const backend = deps.backend(name);
  if (backend === undefined) throw new Error(`${where}: unknown backend "${name}"`);
  if (backend.proxy === undefined) throw new Error(`${where}: backend "${name}" (${backend.type}) cannot stream raw requests`);
  return backend.proxy.bind(backend);
}

// rawPredict streams the body to a backend's raw proxy without parsing it. A wrong backend is
// a config error, found when the routes are built (start or reload), not on the first request.
function rawPredict(config: VertexConfig, deps: FrontendDeps): RawRoute {
  const where = 'frontends.vertex.rawBackend';
  if (config.rawBackend === undefined) throw new Error(`${where}: rawPredictRoute ${config.rawPredictRoute} needs rawBackend, the backend to stream it to`);
  if (config.rawPredictRoute === config.predictRoute) throw new Error('frontends.vertex.rawPredictRoute: must differ from predictRoute');
  const proxy = rawProxyOf(config.rawBackend, deps, where);
  const fixed = config.rawBackendPath;
  return {
    method: 'POST',
    path: config.rawPredictRoute!,
    frontend: 'vertex',
    raw(req, res, ctx) {
      // ctx.path keeps the query string; a fixed backend path takes the client's query along.
      const q = ctx.path.indexOf('?');
      proxy(req, res, fixed === undefined ? ctx.path : fixed + (q < 0 ? '' : ctx.path.slice(q)), ctx.fail);
    },
  };
}
