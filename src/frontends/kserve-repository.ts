// kserve-repository.ts — the model repository extension of the KServe v2 protocol, in the shape
// Triton and MLServer serve it: POST /v2/repository/index lists every model with its state
// (READY, LOADING, UNLOADING, UNAVAILABLE) and the reason; POST /v2/repository/models/{m}/load
// and /unload load and unload one. Load and unload change what is served, so they are off
// unless `repository: true`, and behind server.adminToken when one is set.
// https://github.com/triton-inference-server/server/blob/main/docs/protocol/extension_model_repository.md

import { parseJson } from '../codecs/json.ts';
import { GatewayError } from '../errors.ts';
import type { FrontendDeps, HttpRequest, Route } from '../types.ts';

/** repositoryRoutes gives the index always, and load and unload when `writable`. */
export function repositoryRoutes(writable: boolean, deps: FrontendDeps): Route[] {
  const routes: Route[] = [{
    method: 'POST', path: '/v2/repository/index', frontend: 'kserve',
    async handle(req) {
      const body = await objectBody(req);
      const ready = body.ready;
      if (ready !== undefined && typeof ready !== 'boolean') throw new GatewayError('bad_request', '"ready" must be a boolean');
      const index = await deps.repository.index();
      return { status: 200, body: ready === true ? index.filter((e) => e.state === 'READY') : index };
    },
  }];
  if (!writable) return routes;
  routes.push(
    {
      method: 'POST', path: '/v2/repository/models/{model}/load', frontend: 'kserve', admin: true,
      async handle(req) {
        await objectBody(req);
        await deps.repository.load(req.params.model!);
        return { status: 200, body: {} };
      },
    },
    {
      method: 'POST', path: '/v2/repository/models/{model}/unload', frontend: 'kserve', admin: true,
      async handle(req) {
        await objectBody(req);
        await deps.repository.unload(req.params.model!);
        return { status: 200, body: {} };
      },
    },
  );
  return routes;
}

// objectBody reads an optional JSON object body ({} when empty); the protocol's bodies are optional.
async function objectBody(req: HttpRequest): Promise<Record<string, unknown>> {
  const raw = await req.body();
  if (raw.length === 0) return {};
  const doc = parseJson(raw, { maxDepth: req.maxJsonDepth });
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new GatewayError('bad_request', 'the body must be a JSON object');
  return doc as Record<string, unknown>;
}
