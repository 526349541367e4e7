// triton-http.ts — the HTTP half of the Triton backend: a tensor request as v2 JSON or with the
// binary tensor extension (the client's own v2 body forwarded without re-encoding when it can
// be), readiness and model config per model, metadata with max_batch_size, and Triton's errors.
// https://github.com/triton-inference-server/server/blob/main/docs/protocol/extension_binary_data.md

import { parseJson, stringifyJson } from '../codecs/json.ts';
import { binaryRequestBody, decodeBinaryResponse } from '../codecs/v2-binary.ts';
import { inferRequestBytes } from '../codecs/v2-json-bytes.ts';
import { scanInferResponse } from '../codecs/v2-answer-scan.ts';
import { decodeInferResponse, decodeMetadata } from '../codecs/v2-json.ts';
import { GatewayError } from '../errors.ts';
import { elementSize } from '../tensors/datatype.ts';
import type { InferRequest, InferResponse, ModelMetadata, Parameters } from '../tensors/tensor.ts';
import type { CallContext } from '../types.ts';
import { headerOf, retryAfterOf, statusError, type ServerAnswer, type ServerLink } from './shared/link.ts';
import type { MetadataCache } from './shared/metadata.ts';

// TensorCall is what differs between the protocols: a tensor request sent, a model's readiness asked.
export interface TensorCall {
  infer(req: InferRequest, ctx: CallContext): Promise<InferResponse>;
  /** Resolves with why the model is not ready, or undefined when it is. */
  unready(signal?: AbortSignal): Promise<string | undefined>;
  /** Triton's own model configuration, where the protocol gives it (else it is built from the metadata). */
  config?(signal?: AbortSignal): Promise<Record<string, unknown>>;
}

// httpCall is the v2 REST form of a model's calls: the client's own v2 body forwarded when it
// can be (req.raw), else JSON or the binary extension.
export function httpCall(link: ServerLink, base: string, where: string, binary: boolean, binaryOutputs: BinaryChoice): TensorCall {
  return {
    async infer(req, ctx) {
      const timeout = timeoutMicros(ctx);
      const { body, headers } = req.raw !== undefined ? forwardRaw(req, timeout) ?? encode(req, binary, timeout, binaryOutputs) : encode(req, binary, timeout, binaryOutputs);
      const answer = await link.send({ method: 'POST', path: `${base}/infer`, body, headers, ctx });
      if (answer.status !== 200) throw tritonError(answer, where);
      return decodeAnswer(answer, where);
    },
    async unready(signal) {
      const answer = await link.send({ method: 'GET', path: `${base}/ready`, ...(signal === undefined ? {} : { signal }) });
      return answer.status === 200 ? undefined : `${base}/ready answered ${answer.status}`;
    },
    // Triton's own configuration, as its model configuration extension answers it.
    async config(signal) {
      const answer = await link.send({ method: 'GET', path: `${base}/config`, ...(signal === undefined ? {} : { signal }) });
      if (answer.status !== 200) throw tritonStatusError(answer, `${where} model config (GET ${base}/config)`);
      const doc = parseJson(answer.body, { what: `${where} model config` });
      if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new GatewayError('backend_bad_reply', `${where} model config is not a JSON object`);
      return doc as Record<string, unknown>;
    },
  };
}

export async function loadMetadata(link: ServerLink, base: string, where: string, signal: AbortSignal): Promise<ModelMetadata> {
  const answer = await link.send({ method: 'GET', path: base, signal });
  if (answer.status !== 200) throw tritonStatusError(answer, `${where} metadata (GET ${base})`);
  const meta = decodeMetadata(parseJson(answer.body, { what: `${where} metadata` }), where);
  // max_batch_size lives in the model configuration extension; a server without it still works.
  const cfg = await link.send({ method: 'GET', path: `${base}/config`, signal });
  if (cfg.status === 200) {
    const doc = parseJson(cfg.body, { what: `${where} model config` }) as { max_batch_size?: unknown } | null;
    if (typeof doc?.max_batch_size === 'number') meta.maxBatchSize = doc.max_batch_size;
  }
  return meta;
}

// timeoutMicros gives the time left before the deadline, as Triton's `timeout` request parameter.
export function timeoutMicros(ctx: CallContext): number | undefined {
  if (!Number.isFinite(ctx.deadline)) return undefined;
  return Math.max(1, Math.floor((ctx.deadline - performance.now()) * 1000));
}

function withTimeout(parameters: Parameters | undefined, timeout: number | undefined): Parameters | undefined {
  return timeout === undefined ? parameters : { ...parameters, timeout };
}

function encode(req: InferRequest, binary: boolean, timeout: number | undefined, outputs: BinaryChoice): { body: Buffer | string | Uint8Array[]; headers: Record<string, string> } {
  const parameters = withTimeout(req.parameters, timeout);
  const r: InferRequest = { ...req, ...(parameters === undefined ? {} : { parameters }) };
  if (!binary) return { body: inferRequestBytes(r), headers: { 'content-type': 'application/json' } };
  const { body, headerLength } = binaryRequestBody(r, { binaryOutputs: outputs(r) });
  return { body, headers: binaryHeaders(headerLength) };
}

export type BinaryChoice = (req: InferRequest) => Map<string, boolean> | true;

// binaryChoice asks for binary only the outputs worth it: an output whose size, from its
// metadata shape with the request's batch for dim 0, is under the threshold comes back as JSON
// (readable, and no smaller in binary). Unknown dims and BYTES count as large.
export function binaryChoice(cache: MetadataCache, threshold: number): BinaryChoice {
  return (req) => {
    const outputs = cache.known?.outputs;
    if (threshold <= 0 || outputs === undefined || outputs.length === 0) return true;
    const batch = req.inputs?.[0]?.shape[0] ?? 1;
    const batched = (cache.known?.maxBatchSize ?? 0) > 0;
    const choice = new Map<string, boolean>();
    for (const o of outputs) {
      const element = elementSize(o.datatype);
      let count = 1;
      o.shape.forEach((d, i) => { count *= d >= 0 ? d : i === 0 && batched ? batch : Infinity; });
      choice.set(o.name, element === 0 || !(count * element < threshold));
    }
    return choice;
  };
}

// forwardRaw sends the client's own v2 body: a binary body gets only its small JSON header
// rewritten (for the timeout); a JSON body is spliced when it has no "parameters" of its own.
// undefined means the body must be re-encoded.
function forwardRaw(req: InferRequest, timeout: number | undefined): { body: Buffer | string; headers: Record<string, string> } | undefined {
  const raw = req.raw!;
  if (raw.headerLength !== undefined) {
    if (timeout === undefined) return { body: raw.body, headers: binaryHeaders(raw.headerLength) };
    const header = parseJson(raw.body.subarray(0, raw.headerLength)) as Record<string, unknown>;
    header.parameters = withTimeout(header.parameters as Parameters | undefined, timeout);
    const json = Buffer.from(stringifyJson(header));
    return { body: Buffer.concat([json, raw.body.subarray(raw.headerLength)]), headers: binaryHeaders(json.length) };
  }
  const headers = { 'content-type': 'application/json' };
  if (timeout === undefined) return { body: raw.body, headers };
  if (req.parameters !== undefined) return undefined;
  const open = raw.body.indexOf(0x7b); // '{'
  if (open < 0) return undefined;
  const rest = raw.body.subarray(open + 1);
  const empty = /^\s*\}/.test(rest.subarray(0, 64).toString('latin1'));
  const prefix = Buffer.from(`{"parameters":{"timeout":${timeout}}${empty ? '' : ','}`);
  return { body: Buffer.concat([prefix, rest]), headers };
}

function binaryHeaders(headerLength: number): Record<string, string> {
  return { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(headerLength) };
}

// How deep a backend's v2 answer may nest (its parameters are the server's own).
const answerDepth = 256;
const fp32 = Buffer.from('"FP32"');

function decodeAnswer(answer: ServerAnswer, where: string): InferResponse {
  const headerLength = headerOf(answer, 'inference-header-content-length');
  if (headerLength !== undefined) return decodeBinaryResponse(answer.body, Number(headerLength), where);
  // FP32 outputs' data read straight into their tensors; the rest, or any answer the scan leaves,
  // by parseJson. An answer with no FP32 tensor gains nothing from the scan: parseJson at once.
  let doc: unknown = answer.body.includes(fp32) ? scanInferResponse(answer.body, answerDepth) : undefined;
  if (doc === undefined) {
    try {
      doc = parseJson(answer.body, { what: `${where} answer`, maxDepth: answerDepth });
    } catch (err) {
      throw new GatewayError('backend_bad_reply', (err as Error).message, { cause: err });
    }
  }
  return decodeInferResponse(doc, where);
}

// Triton answers a model or version it does not have with 400 (not 404): "Request for unknown
// model: 'm' version 7 is not found".
const unknownModel = /unknown model|is not found/i;

// tritonStatusError is the shared status mapping, but a model or version the server does not
// have is 404 model_not_found: the client named it, and asking again will not help.
export function tritonStatusError(answer: ServerAnswer, where: string): GatewayError {
  const base = statusError(answer, where);
  if (answer.status === 404 || (answer.status === 400 && unknownModel.test(base.message))) {
    return new GatewayError('model_not_found', `${where}: ${base.message}`);
  }
  return base;
}

// tritonError passes Triton's own message on. Triton answers a full queue with 503, which
// clients should see as 429 + Retry-After; other 5xx are the backend's failure (502).
export function tritonError(answer: ServerAnswer, where: string): GatewayError {
  const base = tritonStatusError(answer, where);
  if (answer.status === 503 && /queue/i.test(base.message)) {
    return new GatewayError('backend_queue_full', `${where}: ${base.message.replace(/^.*\(503\): /, '')}`, { retryAfter: retryAfterOf(answer).retryAfter ?? 1 });
  }
  return base;
}
