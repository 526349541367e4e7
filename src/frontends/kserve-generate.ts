// kserve-generate.ts — the KServe v2 / Triton generate extension: POST
// /v2/models/{m}[/versions/{v}]/generate answers {"model_name", "model_version", "text_output"};
// /generate_stream answers the same objects as server-sent events, one per chunk. It is
// translated to an OpenAI completion for a model whose servers speak OpenAI (type: openai), and
// passed through unchanged to a model on Triton, which has the extension itself (TensorRT-LLM,
// vLLM backend).
// https://github.com/triton-inference-server/server/blob/main/docs/protocol/extension_generate.md

import { pipeline, Transform } from 'node:stream';
import { parseJson, stringifyJson } from '../codecs/json.ts';
import { SseReader } from '../codecs/sse.ts';
import { describeValue, GatewayError } from '../errors.ts';
import type { FrontendDeps, HttpRequest, ModelHandle, Route } from '../types.ts';
import { answerReply, jsonReply, type ReplyLimit } from './answer.ts';
import { callModel, lookupModel } from './model-call.ts';

// Generate parameters that have an OpenAI completion field of the same meaning.
const carried = ['max_tokens', 'temperature', 'top_p', 'top_k', 'stop', 'seed', 'presence_penalty', 'frequency_penalty', 'repetition_penalty', 'min_tokens'];

/** generateRoutes gives the generate and generate_stream routes, at the model and at a version. */
export function generateRoutes(deps: FrontendDeps, limit: ReplyLimit): Route[] {
  const routes: Route[] = [];
  for (const base of ['/v2/models/{model}', '/v2/models/{model}/versions/{version}']) {
    for (const stream of [false, true]) {
      routes.push({
        method: 'POST', path: `${base}/${stream ? 'generate_stream' : 'generate'}`, frontend: 'kserve',
        async handle(req: HttpRequest) {
          const handle = lookupModel(deps, req.params.model!, req.params.version);
          if (handle.speaks === 'triton') return passThrough(req, handle, stream, limit);
          if (handle.speaks !== 'openai') {
            throw new GatewayError('bad_request', `model "${handle.name}" is served by neither an OpenAI-compatible backend (type: openai), which generate is translated to, nor Triton (type: triton), which has it`);
          }
          const body = completionOf(parseJson(await req.body(), { maxDepth: req.maxJsonDepth }), stream);
          const { response, headers } = await callModel(req, handle, { payload: { contentType: 'application/json', body: Buffer.from(stringifyJson(body)), path: '/v1/completions' } }, limit);
          const answer = response.answer;
          if (answer === undefined || answer.kind === 'json') throw new GatewayError('backend_bad_reply', `model "${handle.name}" answered without a completion`);
          if (answer.kind === 'stream') {
            const events = pipeline(answer.body, generateEvents(handle), () => {});
            return answerReply({ kind: 'stream', body: events, contentType: 'text/event-stream; charset=utf-8' }, limit, headers);
          }
          return jsonReply(generateResponse(handle, textOf(parseJson(answer.body), handle)), limit, headers);
        },
      });
    }
  }
  return routes;
}

// passThrough hands the generate request to Triton as it came, and its answer back as it came:
// streamed events as they arrive, or the one JSON object.
async function passThrough(req: HttpRequest, handle: ModelHandle, stream: boolean, limit: ReplyLimit) {
  const body = await req.body();
  generateRequestOf(parseJson(body, { maxDepth: req.maxJsonDepth }));
  const { response, headers } = await callModel(req, handle, { payload: { contentType: 'application/json', body, path: stream ? 'generate_stream' : 'generate' } }, limit);
  const answer = response.answer;
  if (answer === undefined || answer.kind === 'json') throw new GatewayError('backend_bad_reply', `model "${handle.name}" answered without a generate response`);
  return answerReply(answer, limit, headers);
}

// generateRequestOf checks that a $generate_request is an object; its fields are the server's.
function generateRequestOf(doc: unknown): Record<string, unknown> {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new GatewayError('bad_request', `the request body is ${describeValue(doc)}; expected {"text_input": "...", "parameters": {...}}`);
  return doc as Record<string, unknown>;
}

// completionOf reads a $generate_request into an OpenAI completion request.
function completionOf(doc: unknown, stream: boolean): Record<string, unknown> {
  const { text_input: text, parameters, ...rest } = generateRequestOf(doc);
  if (typeof text !== 'string') throw new GatewayError('bad_request', `"text_input" must be a string, got ${describeValue(text)}`);
  if (parameters !== undefined && (typeof parameters !== 'object' || parameters === null || Array.isArray(parameters))) {
    throw new GatewayError('bad_request', `"parameters" must be an object, got ${describeValue(parameters)}`);
  }
  // Extra properties are parameters too (the extension passes them on as such).
  const given = { ...rest, ...(parameters as Record<string, unknown> | undefined) };
  const out: Record<string, unknown> = { prompt: text, stream };
  for (const key of carried) if (given[key] !== undefined) out[key] = given[key];
  return out;
}

function generateResponse(handle: ModelHandle, text: string): Record<string, unknown> {
  return { model_name: handle.name, model_version: handle.version ?? '', text_output: text };
}

// textOf gives a completion's text, or a 502 saying the answer was not one.
function textOf(doc: unknown, handle: ModelHandle): string {
  const text = (doc as { choices?: Array<{ text?: unknown }> } | null)?.choices?.[0]?.text;
  if (typeof text !== 'string') throw new GatewayError('backend_bad_reply', `model "${handle.name}" answered ${describeValue(doc)}, not a completion with choices[0].text`);
  return text;
}

// generateEvents turns a completion's event stream into generate_stream events, as they come.
function generateEvents(handle: ModelHandle): Transform {
  const events = new SseReader();
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      let out = '';
      for (const data of events.push(chunk)) {
        if (data === '[DONE]') continue;
        let text: string;
        try {
          text = textOf(JSON.parse(data), handle);
        } catch {
          continue; // not a completion chunk (a keep-alive, another object): nothing to say
        }
        out += `data: ${stringifyJson(generateResponse(handle, text))}\n\n`;
      }
      done(null, out === '' ? undefined : out);
    },
  });
}
