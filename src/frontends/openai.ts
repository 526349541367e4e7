// openai.ts — OpenAI's API in front: POST /v1/chat/completions, /v1/completions and
// /v1/embeddings route by the body's "model" to the gateway model of that name (or an alias),
// whose path (split, sticky, rollback, guards) ends in an OpenAI-compatible backend; the answer
// is the server's, streamed when it streams. GET /v1/models lists the models. Errors are written
// as OpenAI's error object, which OpenAI clients read.
// https://platform.openai.com/docs/api-reference

import { parseJson } from '../codecs/json.ts';
import { clip, describeValue, GatewayError } from '../errors.ts';
import type { InferRequest } from '../tensors/tensor.ts';
import type { FrontendDeps, FrontendFactory, HttpRequest, ModelHandle, Route } from '../types.ts';
import { openaiFrontSchema, type OpenaiFrontConfig } from './openai.schema.ts';
import { answerReply, jsonReply, type ReplyLimit } from './answer.ts';
import { checkName, callModel, lookupModel } from './model-call.ts';


const paths = ['/v1/chat/completions', '/v1/completions', '/v1/embeddings'] as const;

/** embeddingOptions is the parameter an embeddings request's other fields travel in as rows (backends/openai.ts reads it). */
export const embeddingOptions = 'openai_embedding_options';

/** openaiFront is the registry entry of the OpenAI API frontend. */
export const openaiFront: FrontendFactory<OpenaiFrontConfig> = {
  type: 'openai',
  schema: openaiFrontSchema,
  routes(config, deps) {
    for (const [alias, model] of Object.entries(config.aliases)) {
      if (deps.models(model) === undefined) throw new Error(`frontends.openai.aliases: "${alias}" names model "${model}", which is not configured`);
    }
    const limit: ReplyLimit = { frontend: 'openai', maxResponseBytes: config.maxResponseBytes };
    const routes: Route[] = paths.map((path) => ({
      method: 'POST', path, frontend: 'openai', errorStyle: 'openai',
      async handle(req: HttpRequest) {
        const body = await req.body();
        const doc = parseJson(body, { maxDepth: req.maxJsonDepth });
        const handle = modelOf(deps, config, doc);
        // Embeddings of a list of inputs go as rows, so the model's batcher may merge them.
        const rows = path === '/v1/embeddings' && handle.speaks === 'openai' ? embeddingRows(doc as Record<string, unknown>) : undefined;
        if (rows !== undefined) {
          const { response, headers } = await callModel(req, handle, rows, limit);
          const data = (response.predictions ?? []).map((embedding, index) => ({ object: 'embedding', index, embedding }));
          return jsonReply({ object: 'list', data, model: (doc as { model: string }).model }, limit, headers);
        }
        if (handle.takesPayload !== true) {
          throw new GatewayError('bad_request', `model "${handle.name}" is not served by an OpenAI-compatible backend, so it takes no OpenAI requests`);
        }
        const { response, headers } = await callModel(req, handle, { payload: { contentType: 'application/json', body, path, document: doc as Record<string, unknown> } }, limit);
        if (response.answer === undefined) throw new GatewayError('backend_bad_reply', `model "${handle.name}" answered without an OpenAI answer`);
        return answerReply(response.answer, limit, headers);
      },
    }));
    const listed = (name: string): Record<string, unknown> => ({ id: name, object: 'model', created: 0, owned_by: 'infergate' });
    if (!config.listModels) return routes;
    routes.push(
      { method: 'GET', path: '/v1/models', frontend: 'openai', errorStyle: 'openai', handle: async () => jsonReply({ object: 'list', data: deps.modelNames().map(listed) }, limit) },
      {
        method: 'GET', path: '/v1/models/{model}', frontend: 'openai', errorStyle: 'openai',
        handle: async (req) => jsonReply(listed(lookupModel(deps, config.aliases[req.params.model!] ?? req.params.model!).name), limit),
      },
    );
    return routes;
  },
};

// embeddingRows gives an embeddings request whose input is strings (or one string) as rows:
// one instance per input, the other fields as a parameter, so that only requests asking the
// same of the server share a batch. Token-array inputs go as the body they are.
function embeddingRows(doc: Record<string, unknown>): InferRequest | undefined {
  const { model: _model, input, ...rest } = doc;
  const inputs = typeof input === 'string' ? [input] : input;
  if (!Array.isArray(inputs) || inputs.length === 0 || !inputs.every((i) => typeof i === 'string')) return undefined;
  return { instances: inputs, parameters: { [embeddingOptions]: JSON.stringify(rest) } };
}

// modelOf reads the body's "model": a gateway model name or an alias, else 400 or 404.
function modelOf(deps: FrontendDeps, config: OpenaiFrontConfig, doc: unknown): ModelHandle {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new GatewayError('bad_request', `the request body is ${describeValue(doc)}; expected an OpenAI request object`);
  const model = (doc as { model?: unknown }).model;
  if (typeof model !== 'string' || model === '') throw new GatewayError('bad_request', 'the request body needs "model", the name of a served model (GET /v1/models lists them)');
  const aliased = Object.hasOwn(config.aliases, model) ? config.aliases[model]! : undefined;
  return lookupModel(deps, aliased ?? checkName(clip(model, 300), 'the "model" field'));
}
