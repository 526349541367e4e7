// body.ts — a predict request's body in: the content type checked before anything is read
// (415), then rows {"instances", "parameters"}, v2 {"inputs"} tensors, or Triton's binary
// framing (the JSON header size in Inference-Header-Content-Length or in the content type),
// each refused with a 400 that says what is wrong.

import { parseJson } from '../codecs/json.ts';
import { scanRowsBody } from '../codecs/row-scanner.ts';
import { decodeBinaryRequest, headerLengthFromContentType, binaryContentType } from '../codecs/v2-binary.ts';
import { decodeInferRequest } from '../codecs/v2-json.ts';
import { clip, describeValue, GatewayError } from '../errors.ts';
import { blockRequest } from '../tensors/row-block.ts';
import type { InferRequest } from '../tensors/tensor.ts';
import type { HttpRequest, ModelHandle } from '../types.ts';

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

/** sizedContentType is the framing of a binary media type whose json-header-size=N parameter gives the JSON header's byte count. */
export function sizedContentType(mediaType: string): ContentTypeFraming {
  return {
    mediaType,
    headerLength: (contentType) => headerLengthFromContentType(contentType, mediaType),
    contentType: (headerLength) => binaryContentType(headerLength, mediaType),
  };
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

/** header gives a request header as one trimmed string; absent or empty gives undefined. */
export function header(http: HttpRequest, name: string): string | undefined {
  const v = http.headers[name];
  const s = Array.isArray(v) ? v.join(', ') : v;
  return s === undefined || s.trim() === '' ? undefined : s.trim();
}

/**
 * readPredictBody checks the content type (415 before the body is read), reads the body and
 * decodes it as rows, v2 JSON tensors or binary tensors, with a 400 that says what is wrong.
 * For a model with a transform, the request keeps the body as it came (`payload`); when the
 * model takes any body (its transform reads any, or its backends take raw bodies), one that is
 * not rows or tensors goes down the path as is.
 */
export async function readPredictBody(http: HttpRequest, opts: PredictBodyOptions, handle?: ModelHandle): Promise<PredictBody> {
  if (handle === undefined || (handle.transform === undefined && handle.takesPayload !== true)) {
    // A tensor server's rows are typed from one block; other servers are sent the rows as JSON.
    return decodePredictBody(http, opts, handle?.speaks === 'triton' || handle?.speaks === 'onnx');
  }
  const contentType = mediaTypeOf(header(http, 'content-type'));
  try {
    const body = await decodePredictBody(http, opts);
    body.request.payload = { contentType, body: await http.body() };
    return body;
  } catch (err) {
    // Not rows or tensors (an image, CSV, an OpenAI body): the transform or the raw backend takes it.
    if (handle.takesPayload !== true || !notRowsOrTensors.has((err as { code?: string }).code ?? '')) throw err;
    return { request: { payload: { contentType, body: await http.body() } }, framing: opts.binaryType ?? 'header' };
  }
}

// The refusals that say a body is not rows or tensors (as opposed to too large, or unreadable).
const notRowsOrTensors: ReadonlySet<string> = new Set(['unsupported_media_type', 'bad_request', 'invalid_json', 'bad_tensor']);

async function decodePredictBody(http: HttpRequest, opts: PredictBodyOptions, rowBlocks = false): Promise<PredictBody> {
  const contentType = header(http, 'content-type') ?? '';
  const media = mediaTypeOf(contentType);
  const defaultFraming = opts.binaryType ?? 'header';
  const headerField = header(http, 'inference-header-content-length');
  if (opts.tensors && headerField !== undefined) {
    if (!/^\d{1,15}$/.test(headerField)) {
      throw new GatewayError('bad_request', `Inference-Header-Content-Length must be the JSON header's byte count, got ${JSON.stringify(clip(headerField, 30))}`);
    }
    return { request: await readBinary(http, Number(headerField)), framing: 'header' };
  }
  if (opts.tensors && opts.binaryType !== undefined && media === opts.binaryType.mediaType) {
    const n = opts.binaryType.headerLength(contentType);
    if (n === undefined) {
      throw new GatewayError('bad_request', `content type ${opts.binaryType.mediaType} needs json-header-size=N (the JSON header's byte count)`);
    }
    return { request: await readBinary(http, n), framing: opts.binaryType };
  }
  if (!isJsonType(media)) throw unsupportedType(media, opts);
  const body = await http.body();
  if (opts.rows && rowBlocks) {
    // Rows of numbers straight into doubles; any other body is parsed below, as it always was.
    const scanned = scanRowsBody(body, http.maxJsonDepth);
    if (scanned !== undefined) return { request: blockRequest(scanned.block, scanned.parameters), framing: defaultFraming };
  }
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
    if (!isObject(doc)) throw new GatewayError('bad_request', `the request body is ${describeValue(doc)}; expected a v2 inference request {"inputs": [...]}`);
    throw new GatewayError('bad_request', 'the request body has no "inputs"; expected a v2 inference request {"inputs": [...]}');
  }
  return { request: readRows(doc, opts.tensors), framing: defaultFraming };
}

/** readRows checks a parsed {"instances": [...], "parameters": {...}} body and gives the rows request. */
export function readRows(doc: unknown, tensorsToo = false): InferRequest {
  const expected = `{"instances": [...], "parameters": {...}}${tensorsToo ? ' or a v2 request {"inputs": [...]}' : ''}`;
  if (!isObject(doc)) throw new GatewayError('bad_request', `the request body is ${describeValue(doc)}; expected a JSON object ${expected}`);
  const { instances, parameters } = doc;
  if (instances === undefined) throw new GatewayError('bad_request', `the request body has no "instances"; expected ${expected}`);
  if (!Array.isArray(instances)) {
    throw new GatewayError('bad_request', `"instances" must be an array with one element per instance, got ${describeValue(instances)}`);
  }
  if (instances.length === 0) throw new GatewayError('bad_request', '"instances" is an empty array; send at least one instance');
  if (parameters !== undefined && !isObject(parameters)) {
    throw new GatewayError('bad_request', `"parameters" must be a JSON object, got ${describeValue(parameters)}`);
  }
  return parameters === undefined ? { instances } : { instances, parameters };
}

// readBinary decodes a binary-extension body whose JSON header is headerLength bytes. The
// request keeps the bytes as they came, so a v2 backend (Triton) can forward them.
async function readBinary(http: HttpRequest, headerLength: number): Promise<InferRequest> {
  const body = await http.body();
  const request = decodeBinaryRequest(body, headerLength);
  request.raw = { contentType: 'application/octet-stream', body, headerLength };
  return request;
}

function unsupportedType(media: string, opts: PredictBodyOptions): GatewayError {
  const accepted = ['application/json', ...(opts.alsoAccepted ?? [])];
  if (opts.tensors) {
    accepted.push(opts.binaryType === undefined
      ? 'v2 binary tensors with Inference-Header-Content-Length'
      : `${opts.binaryType.mediaType};json-header-size=N`);
  }
  return new GatewayError('unsupported_media_type', `content type "${clip(media, 80)}" is not accepted here; send ${accepted.join(', or ')}`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
