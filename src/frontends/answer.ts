// answer.ts — a predict call's answer out: one prediction per instance for rows, the v2 form
// (only the outputs asked, JSON or binary) for tensors, and never more bytes than the
// frontend's response limit: a larger answer is refused with 413, never cut.

import { tensorsToPredictions } from '../codecs/instances.ts';
import { stringifyJson } from '../codecs/json.ts';
import { predictionsJson, tensorPredictionsJson } from '../codecs/predictions-json.ts';
import { unreadRows } from '../codecs/row-answer.ts';
import { encodeBinaryResponse, wantsBinaryOutputs } from '../codecs/v2-binary.ts';
import { stringifyInferResponse } from '../codecs/v2-json.ts';
import { GatewayError } from '../errors.ts';
import { hasRows, instanceCount } from '../tensors/row-block.ts';
import type { InferRequest, InferResponse, Tensor } from '../tensors/tensor.ts';
import type { HttpReply, ModelHandle } from '../types.ts';
import type { PredictBody } from './body.ts';

/** ReplyLimit names the frontend and its response limit, for the response_too_large message. */
export interface ReplyLimit {
  frontend: string;
  maxResponseBytes: number;
}

/** predictionsOf gives exactly one prediction per instance, in order, or a 502 backend_bad_reply. */
export function predictionsOf(request: InferRequest, response: InferResponse): unknown[] {
  const predictions = response.predictions ?? (response.outputs === undefined ? undefined : tensorsToPredictions(response.outputs));
  if (!Array.isArray(predictions)) throw new GatewayError('backend_bad_reply', 'the backend answered without predictions');
  const want = instanceCount(request) ?? predictions.length;
  if (predictions.length !== want) {
    throw new GatewayError('backend_bad_reply', `the backend returned ${predictions.length} predictions for ${want} instances; expected one per instance`);
  }
  return predictions;
}

/**
 * predictReply answers a predict body: {"predictions"} for rows, the v2 form for tensors, and a
 * transform's own answer as it made it. A transformed model's answer is the transform's to
 * shape, so its predictions are not counted against the instances.
 */
export function predictReply(body: PredictBody, response: InferResponse, handle: ModelHandle, limit: ReplyLimit, headers: Record<string, string>): HttpReply {
  if (response.answer !== undefined) return answerReply(response.answer, limit, headers);
  const { request } = body;
  if (request.inputs !== undefined) return tensorReply(body, response, handle, limit, headers);
  // Rows, or a body that was neither (a transform made the rest): counted only when the model's
  // own rows answer the client's instances.
  const counted = hasRows(request) && handle.transform === undefined ? request : {};
  // An FP32 output's rows that nothing has read yet are written from the tensor itself.
  const rows = unreadRows(response);
  if (rows !== undefined && rows.shape[0] === (instanceCount(counted) ?? rows.shape[0])) {
    const bytes = tensorPredictionsJson(rows);
    if (bytes !== undefined) return bytesReply(bytes, limit, headers);
  }
  const predictions = predictionsOf(counted, response);
  // Rows of numbers (most answers) are written as bytes, an FP32 model's floats without V8's printer.
  const bytes = predictionsJson(predictions);
  if (bytes === undefined) return jsonReply({ predictions }, limit, headers);
  return bytesReply(bytes, limit, headers);
}

function bytesReply(bytes: Buffer, limit: ReplyLimit, headers: Record<string, string>): HttpReply {
  checkResponseSize(bytes.length, limit);
  return { status: 200, headers: { ...headers, 'content-type': 'application/json' }, body: bytes };
}

/**
 * tensorReply writes a v2 answer: only the requested outputs (in the order asked), the
 * client's id echoed, the gateway's model name; outputs asked as binary (binary_data /
 * binary_data_output) go in the request's binary framing, the rest as JSON.
 */
export function tensorReply(body: PredictBody, response: InferResponse, handle: ModelHandle, limit: ReplyLimit, headers: Record<string, string>): HttpReply {
  if (response.answer !== undefined) return answerReply(response.answer, limit, headers);
  const { request } = body;
  const outputs = selectOutputs(request, response, handle);
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

/**
 * selectOutputs gives the outputs a v2 request asked for, in the order asked (all when it named
 * none): an output the model does not make is a 400 naming those it does.
 */
export function selectOutputs(request: InferRequest, response: InferResponse, handle: ModelHandle): Tensor[] {
  const all = response.outputs;
  if (all === undefined) throw new GatewayError('backend_bad_reply', 'the backend answered with predictions where v2 output tensors were expected');
  if (request.outputs === undefined || request.outputs.length === 0) return all;
  return request.outputs.map((o) => {
    const t = all.find((x) => x.name === o.name);
    if (t === undefined) {
      throw new GatewayError('bad_request', `model "${handle.name}" has no output "${o.name}"; its outputs: ${all.map((x) => `"${x.name}"`).join(', ')}`);
    }
    return t;
  });
}

/** answerReply writes a transform's own answer: JSON as it is, or bytes with their content type. */
export function answerReply(answer: NonNullable<InferResponse['answer']>, limit: ReplyLimit, headers: Record<string, string>): HttpReply {
  if (answer.kind === 'json') return jsonReply(answer.value, limit, headers);
  // A stream has no size to check: its memory is bounded by backpressure, not by buffering.
  if (answer.kind === 'stream') return { status: 200, headers: { ...headers, 'content-type': answer.contentType }, body: answer.body };
  checkResponseSize(answer.body.length, limit);
  return { status: 200, headers: { ...headers, 'content-type': answer.contentType }, body: answer.body };
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
