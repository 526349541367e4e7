// openai.ts — any OpenAI-compatible server (vLLM, TGI, llama.cpp, SGLang, Ollama): chat
// completions, completions and embeddings, sent on as JSON with `model` set to the server's
// model name, and answered as the server answered, streamed (server-sent events) when the
// client asked `stream: true`. Readiness from GET /v1/models (or healthPath).
// https://platform.openai.com/docs/api-reference

import { parseJson, stringifyJson } from '../codecs/json.ts';
import { describeValue, GatewayError } from '../errors.ts';
import type { InferRequest, InferResponse } from '../tensors/tensor.ts';
import type { Backend, BackendFactory, CallContext, Health } from '../types.ts';
import { openaiSchema, type OpenaiConfig } from './openai.schema.ts';
import { headerOf, ServerLink, statusError } from './shared/link.ts';
import { watchStream } from './shared/stream-watch.ts';
import { tokenMeter } from './shared/token-meter.ts';


/** openaiRoutes are the OpenAI API paths this backend calls, by the body's kind. */
export const openaiRoutes = {
  chat: '/v1/chat/completions',
  completions: '/v1/completions',
  embeddings: '/v1/embeddings',
} as const;

/** openai is the registry entry of the OpenAI-compatible backend. */
export const openai: BackendFactory<OpenaiConfig> = {
  type: 'openai',
  schema: openaiSchema,
  takesPayload: () => true,
  create(name, config, deps): Backend {
    const link = new ServerLink(name, config, deps.log);
    const where = `backend "${name}"`;
    const auth: Record<string, string> = config.apiKey === undefined ? {} : { authorization: `Bearer ${config.apiKey}` };
    const health = (signal?: AbortSignal): Promise<Health> =>
      link.probe(config.healthPath, (a) => (a.status >= 200 && a.status < 300 ? undefined : `${config.healthPath} answered ${a.status}`), signal);
    return {
      name,
      type: 'openai',
      start: async () => {},
      model(model) {
        return {
          health,
          metadata: async () => ({ name: model, platform: 'openai', inputs: [], outputs: [] }),
          infer: async (req: InferRequest, ctx: CallContext): Promise<InferResponse> => {
            const options = req.parameters?.[embeddingOptions];
            if (req.instances !== undefined && typeof options === 'string') {
              return { modelName: model, predictions: await embed(link, { ...(JSON.parse(options) as object), model, input: req.instances }, req.instances.length, ctx, auth, where) };
            }
            const body = openaiBody(req, model);
            const path = req.payload?.path ?? routeOf(body);
            const stream = body.stream === true;
            const labels = { backend: name, target: ctx.target ?? '' };
            const started = performance.now();
            const answer = await link.exchange({
              method: 'POST', path, body: stringifyJson(body), ctx,
              headers: { 'content-type': 'application/json', accept: stream ? 'text/event-stream' : 'application/json', ...auth },
              streamWhen: () => stream,
            }, (a) => {
              if (a.status < 200 || a.status >= 300) throw statusError(a, where);
              const contentType = headerOf(a, 'content-type') ?? (stream ? 'text/event-stream' : 'application/json');
              if (a.stream !== undefined) {
                return { kind: 'stream' as const, body: watchStream(a.stream, config.streamIdleTimeoutMs, labels, where, tokenMeter(labels, started)), contentType };
              }
              return { kind: 'bytes' as const, body: a.body, contentType };
            });
            return { modelName: model, answer };
          },
        };
      },
      health,
      endpoints: () => link.endpoints(),
      close: async () => {},
    };
  },
};

// The parameter an embeddings request's other fields come in as rows (frontends/openai.ts sets it).
const embeddingOptions = 'openai_embedding_options';

// embed asks for the embeddings of a (possibly merged) list of inputs and gives them in input
// order, one per input, by each answer's index.
async function embed(link: ServerLink, body: Record<string, unknown>, count: number, ctx: CallContext, auth: Record<string, string>, where: string): Promise<unknown[]> {
  return link.exchange({ method: 'POST', path: openaiRoutes.embeddings, body: stringifyJson(body), ctx, headers: { 'content-type': 'application/json', ...auth } }, (a) => {
    if (a.status < 200 || a.status >= 300) throw statusError(a, where);
    const data = (parseJson(a.body, { maxDepth: 64 }) as { data?: Array<{ index?: unknown; embedding?: unknown }> } | null)?.data;
    const out: unknown[] = new Array(count);
    for (const d of Array.isArray(data) ? data : []) {
      if (typeof d.index === 'number' && Number.isInteger(d.index) && d.index >= 0 && d.index < count) out[d.index] = d.embedding;
    }
    for (let i = 0; i < count; i++) {
      if (out[i] === undefined) throw new GatewayError('backend_bad_reply', `${where} answered no embedding for input ${i} of ${count}`);
    }
    return out;
  });
}

// openaiBody reads an OpenAI request body and names the server's model in it.
function openaiBody(req: InferRequest, model: string): Record<string, unknown> {
  if (req.payload === undefined) {
    throw new GatewayError('bad_request', 'an OpenAI-compatible model takes OpenAI request bodies ({"messages": ...}, {"prompt": ...} or {"input": ...}), not rows or tensors');
  }
  const doc = req.payload.document ?? parseJson(req.payload.body, { maxDepth: 64 });
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new GatewayError('bad_request', `the request body is ${describeValue(doc)}; expected an OpenAI request object`);
  return { ...(doc as Record<string, unknown>), model };
}

// routeOf tells an OpenAI body's kind by its keys, for bodies that came on a platform route.
function routeOf(body: Record<string, unknown>): string {
  if (body.messages !== undefined) return openaiRoutes.chat;
  if (body.prompt !== undefined) return openaiRoutes.completions;
  if (body.input !== undefined) return openaiRoutes.embeddings;
  throw new GatewayError('bad_request', 'the request body has none of "messages" (chat), "prompt" (completions) or "input" (embeddings)');
}
