// predict-route.ts — what every frontend's predict POST shares: the body in (rows
// {"instances", "parameters"}, v2 {"inputs"} tensors, or Triton's binary framing), the model
// lookup and call, and the answer out (predictions or v2 outputs), never larger than the
// frontend's response limit. Pure over HttpRequest, so frontends are tested without a socket.

import { z } from 'zod';
import { tensorsToPredictions } from '../codecs/instances.ts';
import { parseJson, stringifyJson } from '../codecs/json.ts';
import { decodeBinaryRequest, encodeBinaryResponse, wantsBinaryOutputs } from '../codecs/v2-binary.ts';
import { decodeInferRequest, describe, stringifyInferResponse } from '../codecs/v2-json.ts';
import { GatewayError } from '../errors.ts';
import type { InferRequest, InferResponse } from '../tensors/tensor.ts';
import type { FrontendDeps, HttpReply, HttpRequest, ModelHandle } from '../types.ts';

/** routePath is the config type of a frontend route: an absolute raw path, no query, no {placeholders}. */
export const routePath = z.string().regex(/^\/[\x21\x22\x24-\x3e\x40-\x7a\x7c\x7e]*$/,
  'expected an absolute path such as /predict (printable ASCII, no spaces, "?", "#", "{" or "}")');

/** ContentTypeFraming is a platform's binary content type that carries the JSON header size (Vertex, SageMaker). */
export interface ContentTypeFraming {
  mediaType: string;
  headerLength(contentType: string): number | undefined;
  contentType(headerLength: number): string;
}

/** PredictBodyOptions says which body forms a predict route accepts. */
export interface PredictBodyOptions {
  /** {"instances": [...], "parameters": {...}} rows. */
  rows: boolean;
  /** v2 {"inputs": [...]} tensors, and the binary extension (Inference-Header-Content-Length). */
  tensors: boolean;
  /** The platform's binary content type, when it has one; answers with binary outputs use it. */
  binaryType?: ContentTypeFraming;
  /** More media types the route takes itself (named in the 415 message). */
  alsoAccepted?: string[];
}

/** PredictBody is a decoded predict request and, for tensors, how a binary answer is framed. */
export interface PredictBody {
  request: InferRequest;
  framing: 'header' | ContentTypeFraming;
}

/** ReplyLimit names the frontend and its response limit, for the response_too_large message. */
export interface ReplyLimit {
  frontend: string;
  maxResponseBytes: number;
}

/** mediaTypeOf gives the lower-cased media type of a Content-Type value, without parameters. */
export function mediaTypeOf(contentType: string | undefined): string {
  return (contentType ?? '').split(';', 1)[0]!.trim().toLowerCase();
}

/**
 * isJsonType says whether a media type is read as JSON: none, application/json, text/json, any
 * +json type, and the types generic clients put on a string body without being asked —
 * application/x-www-form-urlencoded (`curl -d`) and text/plain (fetch). A body that is not
 * JSON still gets its 400; only types that say "not JSON" (csv, xml, images, …) get 415.
 */
export function isJsonType(mediaType: string): boolean {
  return mediaType === '' || mediaType === 'application/json' || mediaType === 'text/json' || mediaType.endsWith('+json') ||
    mediaType === 'application/x-www-form-urlencoded' || mediaType === 'text/plain';
}

/**
 * readPredictBody checks the content type (415 before the body is read), reads the body and
 * decodes it as rows, v2 JSON tensors or binary tensors, with a 400 that says what is wrong.
 */
export async function readPredictBody(http: HttpRequest, opts: PredictBodyOptions): Promise<PredictBody> {
  const contentType = header(http, 'content-type') ?? '';
  const media = mediaTypeOf(contentType);
  const defaultFraming = opts.binaryType ?? 'header';
  const headerField = header(http, 'inference-header-content-length');
  if (opts.tensors && headerField !== undefined) {
    if (!/^\d{1,15}$/.test(headerField.trim())) {
      throw new GatewayError('bad_request', `Inference-Header-Content-Length must be the JSON header's byte count, got ${JSON.stringify(headerField)}`);
    }
    const body = await http.body();
    const request = decodeBinaryRequest(body, Number(headerField));
    // Decoded to check it; kept so a v2 backend (Triton) can forward the tensor bytes as they came.
    request.raw = { contentType: 'application/octet-stream', body, headerLength: Number(headerField) };
    return { request, framing: 'header' };
  }
  if (opts.tensors && opts.binaryType !== undefined && media === opts.binaryType.mediaType) {
    const n = opts.binaryType.headerLength(contentType);
    if (n === undefined) {
      throw new GatewayError('bad_request', `content type ${opts.binaryType.mediaType} needs json-header-size=N (the JSON header's byte count)`);
    }
    const body = await http.body();
    const request = decodeBinaryRequest(body, n);
    request.raw = { contentType: 'application/octet-stream', body, headerLength: n };
    return { request, framing: opts.binaryType };
  }
  if (!isJsonType(media)) throw unsupportedType(media, opts);
  const body = await http.body();
  const doc = parseJson(body, { maxDepth: http.maxJsonDepth });
  if (opts.tensors && isObject(doc) && doc.inputs !== undefined) {
    if (doc.instances !== undefined) {
      throw new GatewayError('bad_request', 'the request body has both "instances" (rows) and "inputs" (v2 tensors); send one of them');
    }
    const request = decodeInferRequest(doc);
    // Kept so a v2 backend (Triton) can forward the client's bytes without re-encoding.
    request.raw = { contentType: 'application/json', body };
    return { request, framing: defaultFraming };
  }
  if (!opts.rows) {
    if (!isObject(doc)) throw new GatewayError('bad_request', `the request body is ${describe(doc)}; expected a v2 inference request {"inputs": [...]}`);
    throw new GatewayError('bad_request', 'the request body has no "inputs"; expected a v2 inference request {"inputs": [...]}');
  }
  return { request: readRows(doc, opts.tensors), framing: defaultFraming };
}

/** readRows checks a parsed {"instances": [...], "parameters": {...}} body and gives the rows request. */
export function readRows(doc: unknown, tensorsToo = false): InferRequest {
  const expected = `{"instances": [...], "parameters": {...}}${tensorsToo ? ' or a v2 request {"inputs": [...]}' : ''}`;
  if (!isObject(doc)) throw new GatewayError('bad_request', `the request body is ${describe(doc)}; expected a JSON object ${expected}`);
  const { instances, parameters } = doc;
  if (instances === undefined) throw new GatewayError('bad_request', `the request body has no "instances"; expected ${expected}`);
  if (!Array.isArray(instances)) throw new GatewayError('bad_request', `"instances" must be an array with one element per instance, got ${describe(instances)}`);
  if (instances.length === 0) throw new GatewayError('bad_request', '"instances" is an empty array; send at least one instance');
  if (parameters !== undefined && !isObject(parameters)) {
    throw new GatewayError('bad_request', `"parameters" must be a JSON object, got ${describe(parameters)}`);
  }
  return parameters === undefined ? { instances } : { instances, parameters };
}

/** lookupModel resolves a model (and version) or throws 404 model_not_found naming what exists. */
export function lookupModel(deps: FrontendDeps, name: string, version?: string): ModelHandle {
  const handle = deps.models(name, version);
  if (handle !== undefined) return handle;
  if (version !== undefined && deps.models(name) !== undefined) {
    throw new GatewayError('model_not_found', `model "${name}" has no version "${version}" here`);
  }
  const names = deps.modelNames();
  const list = names.length === 0 ? 'none' : names.slice(0, 20).map((n) => `"${n}"`).join(', ') + (names.length > 20 ? ', …' : '');
  throw new GatewayError('model_not_found', `model "${truncate(name)}" is not served here; models: ${list}`);
}

const namePattern = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/** checkName throws bad_name unless a client-supplied name (from a header) is a strict model name. */
export function checkName(value: string, what: string): string {
  if (!namePattern.test(value) || value === '.' || value === '..') {
    throw new GatewayError('bad_name', `${what} ${JSON.stringify(truncate(value))} is not a model name (letters, digits, "_", "." and "-", at most 128)`);
  }
  return value;
}

/** header gives a request header as one trimmed string; absent or empty gives undefined. */
export function header(http: HttpRequest, name: string): string | undefined {
  const v = http.headers[name];
  const s = Array.isArray(v) ? v.join(', ') : v;
  return s === undefined || s.trim() === '' ? undefined : s.trim();
}

/** callModel runs the model with the request's deadline; the headers carry x-infergate-target. */
export async function callModel(http: HttpRequest, handle: ModelHandle, request: InferRequest): Promise<{ response: InferResponse; headers: Record<string, string> }> {
  const ctx = http.context(handle.name, handle.timeoutMs);
  const response = await handle.infer(request, ctx);
  const headers: Record<string, string> = {};
  if (ctx.target !== undefined) headers['x-infergate-target'] = ctx.target;
  return { response, headers };
}

/** predictionsOf gives exactly one prediction per instance, in order, or a 502 backend_bad_reply. */
export function predictionsOf(request: InferRequest, response: InferResponse): unknown[] {
  const predictions = response.predictions ?? (response.outputs === undefined ? undefined : tensorsToPredictions(response.outputs));
  if (!Array.isArray(predictions)) throw new GatewayError('backend_bad_reply', 'the backend answered without predictions');
  const want = request.instances?.length ?? predictions.length;
  if (predictions.length !== want) {
    throw new GatewayError('backend_bad_reply', `the backend returned ${predictions.length} predictions for ${want} instances; expected one per instance`);
  }
  return predictions;
}

/** predictReply answers a predict body: {"predictions"} for rows, the v2 form for tensors. */
export function predictReply(body: PredictBody, response: InferResponse, handle: ModelHandle, limit: ReplyLimit, headers: Record<string, string>): HttpReply {
  if (body.request.instances !== undefined) return jsonReply({ predictions: predictionsOf(body.request, response) }, limit, headers);
  return tensorReply(body, response, handle, limit, headers);
}

/**
 * tensorReply writes a v2 answer: only the requested outputs (in the order asked), the
 * client's id echoed, the gateway's model name; outputs asked as binary (binary_data /
 * binary_data_output) go in the request's binary framing, the rest as JSON.
 */
export function tensorReply(body: PredictBody, response: InferResponse, handle: ModelHandle, limit: ReplyLimit, headers: Record<string, string>): HttpReply {
  const { request } = body;
  const all = response.outputs;
  if (all === undefined) throw new GatewayError('backend_bad_reply', 'the backend answered with predictions where v2 output tensors were expected');
  let outputs = all;
  if (request.outputs !== undefined && request.outputs.length > 0) {
    outputs = request.outputs.map((o) => {
      const t = all.find((x) => x.name === o.name);
      if (t === undefined) {
        throw new GatewayError('bad_request', `model "${handle.name}" has no output "${o.name}"; its outputs: ${all.map((x) => `"${x.name}"`).join(', ')}`);
      }
      return t;
    });
  }
  const answer: InferResponse = { modelName: handle.name, outputs };
  const version = handle.version ?? response.modelVersion;
  if (version !== undefined) answer.modelVersion = version;
  if (request.id !== undefined) answer.id = request.id;
  if (response.parameters !== undefined) answer.parameters = response.parameters;
  const binary = wantsBinaryOutputs(request);
  if (binary === undefined) return jsonTextReply(stringifyInferResponse(answer), limit, headers);
  const { body: bytes, headerLength } = encodeBinaryResponse(answer, { binaryOutputs: binary });
  checkResponseSize(bytes.length, limit);
  const out: Record<string, string> = { ...headers };
  if (body.framing === 'header') {
    out['content-type'] = 'application/octet-stream';
    out['inference-header-content-length'] = String(headerLength);
  } else out['content-type'] = body.framing.contentType(headerLength);
  return { status: 200, headers: out, body: bytes };
}

/** jsonReply writes a JSON answer, refusing one larger than the frontend's limit. */
export function jsonReply(value: unknown, limit: ReplyLimit, headers: Record<string, string> = {}): HttpReply {
  return jsonTextReply(stringifyJson(value), limit, headers);
}

/** jsonTextReply is jsonReply for JSON text already written (v2 answers, by their fast writer). */
export function jsonTextReply(text: string, limit: ReplyLimit, headers: Record<string, string> = {}): HttpReply {
  // UTF-8 is 1–3 bytes per UTF-16 unit: only the uncertain band pays for an exact count.
  if (text.length > limit.maxResponseBytes) checkResponseSize(text.length, limit, true);
  else if (text.length * 3 > limit.maxResponseBytes) checkResponseSize(Buffer.byteLength(text), limit);
  return { status: 200, headers: { ...headers, 'content-type': 'application/json' }, body: text };
}

/** checkResponseSize throws 413 response_too_large naming the limit; an answer is never cut. */
export function checkResponseSize(bytes: number, limit: ReplyLimit, atLeast = false): void {
  if (bytes <= limit.maxResponseBytes) return;
  throw new GatewayError('response_too_large',
    `the answer would be ${atLeast ? 'at least ' : ''}${bytes} bytes, above the ${limit.frontend} limit of ${limit.maxResponseBytes} bytes ` +
    `(frontends.${limit.frontend}.maxResponseBytes); send fewer instances per request`);
}

/** readinessReply answers a health route: 200 when the gateway is ready, else 503 not_ready. */
export function readinessReply(deps: FrontendDeps, body?: unknown): HttpReply {
  if (!deps.ready()) throw new GatewayError('not_ready', 'the gateway is not ready: a served model is starting, down, or the gateway is draining');
  return { status: 200, body };
}

function unsupportedType(media: string, opts: PredictBodyOptions): GatewayError {
  const accepted = ['application/json', ...(opts.alsoAccepted ?? [])];
  if (opts.tensors) {
    accepted.push(opts.binaryType === undefined
      ? 'v2 binary tensors with Inference-Header-Content-Length'
      : `${opts.binaryType.mediaType};json-header-size=N`);
  }
  return new GatewayError('unsupported_media_type', `content type "${truncate(media)}" is not accepted here; send ${accepted.join(', or ')}`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function truncate(s: string): string {
  return s.length > 80 ? `${s.slice(0, 80)}…` : s;
}
