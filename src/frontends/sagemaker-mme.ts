// sagemaker-mme.ts — the container side of SageMaker multi-model endpoints: SageMaker loads a
// model it downloaded (POST /models {model_name, url}), lists (GET /models, paged with
// next_page_token), reads (GET /models/{name}), unloads (DELETE /models/{name}) and invokes
// (POST /models/{name}/invoke) them. 409 when a name is already loaded, 507 when it does not fit
// the memory budget (SageMaker then unloads models itself), 404 for a model not loaded.
// https://docs.aws.amazon.com/sagemaker/latest/dg/mms-container-apis.html

import { parseJson } from '../codecs/json.ts';
import { clip, GatewayError } from '../errors.ts';
import type { FrontendDeps, HttpReply, HttpRequest, LoadedModel, ModelHandle, Route } from '../types.ts';
import { checkName } from './model-call.ts';

/** multiModelRoutes gives the multi-model API; `invoke` answers an invocation of a handle as /invocations does. */
export function multiModelRoutes(deps: FrontendDeps, pageSize: number, invoke: (req: HttpRequest, handle: ModelHandle) => Promise<HttpReply>): Route[] {
  const route = (method: Route['method'], path: string, handle: (req: HttpRequest) => Promise<HttpReply>): Route => ({ method, path, frontend: 'sagemaker', handle });
  const loadedModel = (name: string): LoadedModel => {
    const m = deps.repository.loaded().find((x) => x.name === name);
    if (m === undefined) throw notLoaded(name, deps);
    return m;
  };
  return [
    route('POST', '/models', async (req) => {
      const { name, url } = loadRequest(parseJson(await req.body(), { maxDepth: req.maxJsonDepth }));
      await deps.repository.load(name, { source: url, exclusive: true });
      return { status: 200, body: { modelName: name, modelUrl: url } };
    }),
    route('GET', '/models', async (req) => {
      const all = deps.repository.loaded();
      const token = req.query?.get('next_page_token') ?? undefined;
      // The token is the last name of the page before: a load or unload meanwhile shifts nothing.
      const after = token === undefined || token === '' ? undefined : decodeToken(token);
      const rest = after === undefined ? all : all.filter((m) => m.name > after);
      const page = rest.slice(0, pageSize);
      return {
        status: 200,
        body: {
          models: page.map((m) => ({ modelName: m.name, modelUrl: m.source })),
          ...(rest.length > page.length ? { nextPageToken: Buffer.from(page.at(-1)!.name).toString('base64url') } : {}),
        },
      };
    }),
    route('GET', '/models/{name}', async (req) => {
      const m = loadedModel(req.params.name!);
      return { status: 200, body: { modelName: m.name, modelUrl: m.source } };
    }),
    route('DELETE', '/models/{name}', async (req) => {
      loadedModel(req.params.name!);
      await deps.repository.unload(req.params.name!);
      return { status: 200, body: {} };
    }),
    route('POST', '/models/{name}/invoke', async (req) => {
      const handle = deps.models(req.params.name!);
      if (handle === undefined) throw notLoaded(req.params.name!, deps);
      return invoke(req, handle);
    }),
  ];
}

/** notLoaded is the 404 for a model SageMaker asked for that is not loaded, naming those that are. */
export function notLoaded(name: string, deps: FrontendDeps): GatewayError {
  const names = deps.modelNames();
  const list = names.length === 0 ? 'none' : names.slice(0, 20).map((n) => `"${n}"`).join(', ') + (names.length > 20 ? `, … (${names.length})` : '');
  return new GatewayError('model_not_found', `model "${clip(name, 80)}" is not loaded; loaded models: ${list}`);
}

// loadRequest checks the load model body: {"model_name": NAME, "url": PATH}.
function loadRequest(doc: unknown): { name: string; url: string } {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new GatewayError('bad_request', 'the body must be {"model_name": ..., "url": ...}');
  const { model_name: name, url } = doc as Record<string, unknown>;
  if (typeof name !== 'string') throw new GatewayError('bad_request', '"model_name" must be a string');
  if (typeof url !== 'string' || !url.startsWith('/')) throw new GatewayError('bad_request', '"url" must be the absolute path of the model\'s folder (SageMaker\'s /opt/ml/models/...)');
  return { name: checkName(name, 'model_name'), url };
}

function decodeToken(token: string): string {
  if (!/^[A-Za-z0-9_-]{1,256}$/.test(token)) throw new GatewayError('bad_request', 'next_page_token is not a token this API gave');
  return Buffer.from(token, 'base64url').toString();
}
