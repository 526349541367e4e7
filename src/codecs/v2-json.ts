// v2-json.ts — KServe v2 / Open Inference Protocol JSON bodies ⇄ canonical requests, responses
// and model metadata. Pure, no I/O. The binary extension (v2-binary.ts) reuses the readers here
// and supplies the tensor bytes through a BinaryTensorSource.
// https://github.com/kserve/kserve/blob/master/docs/predict-api/v2/required_api.md

import { describeValue, GatewayError, type ErrorCode } from '../errors.ts';
import { fromJsonValues, isDatatype, toJsonValues, type Datatype, type TensorData } from '../tensors/datatype.ts';
import { elementCount, isValidShape } from '../tensors/shape.ts';
import { stringifyJson } from './json.ts';
import { numericArrayText } from './number-text.ts';
import type {
  InferRequest, InferResponse, ModelMetadata, Parameters, RequestedOutput, Tensor, TensorSpec,
} from '../tensors/tensor.ts';

/**
 * BinaryTensorSource supplies the data of a tensor whose JSON carries `binary_data_size`
 * instead of `data` (Triton binary extension); `where` names the tensor for errors.
 */
export type BinaryTensorSource = (datatype: Datatype, shape: number[], size: number, where: string) => TensorData;

// Reading context: which error code a malformed body gets, and how to name it.
interface Reader {
  code: ErrorCode;
  prefix: string;
  binary: BinaryTensorSource | undefined;
}

/**
 * decodeInferRequest reads a v2 `$inference_request` (already parsed JSON): inputs with nested
 * or flat data, `id`, `parameters` and `outputs`. Anything malformed is a 400 naming the tensor.
 */
export function decodeInferRequest(json: unknown, binary?: BinaryTensorSource): InferRequest {
  const r: Reader = { code: 'bad_request', prefix: 'request', binary };
  const doc = objectOf(json, r, 'the request body', 'a JSON object with "inputs"');
  const inputs = doc.inputs;
  if (!Array.isArray(inputs)) fail(r, `"inputs" must be an array of tensors, got ${describeValue(inputs)}`);
  const req: InferRequest = { inputs: inputs.map((t, i) => readTensor(t, i, 'inputs', r)) };
  const id = readId(doc.id, r);
  if (id !== undefined) req.id = id;
  const parameters = readParameters(doc.parameters, r, '"parameters"');
  if (parameters !== undefined) req.parameters = parameters;
  if (doc.outputs !== undefined) {
    if (!Array.isArray(doc.outputs)) fail(r, `"outputs" must be an array, got ${describeValue(doc.outputs)}`);
    req.outputs = doc.outputs.map((o, i) => readRequestedOutput(o, i, r));
  }
  return req;
}

/** encodeInferRequest writes a canonical tensor request as a JSON-ready v2 `$inference_request`. */
export function encodeInferRequest(req: InferRequest): Record<string, unknown> {
  if (req.inputs === undefined) throw new GatewayError('internal', 'encodeInferRequest needs tensors; rows must be converted first');
  const out: Record<string, unknown> = {};
  if (req.id !== undefined) out.id = req.id;
  if (req.parameters !== undefined) out.parameters = req.parameters;
  out.inputs = req.inputs.map(writeTensor);
  if (req.outputs !== undefined) {
    out.outputs = req.outputs.map((o) => (o.parameters === undefined ? { name: o.name } : { name: o.name, parameters: o.parameters }));
  }
  return out;
}

/**
 * decodeInferResponse reads a backend's v2 `$inference_response`; anything malformed is a 502
 * backend_bad_reply naming `where` (the backend) and the tensor.
 */
export function decodeInferResponse(json: unknown, where: string, binary?: BinaryTensorSource): InferResponse {
  const r: Reader = { code: 'backend_bad_reply', prefix: `${where} answer`, binary };
  const doc = objectOf(json, r, 'the body', 'a JSON object with "outputs"');
  const outputs = doc.outputs;
  if (!Array.isArray(outputs)) fail(r, `"outputs" must be an array of tensors, got ${describeValue(outputs)}`);
  const res: InferResponse = { outputs: outputs.map((t, i) => readTensor(t, i, 'outputs', r)) };
  if (typeof doc.model_name === 'string') res.modelName = doc.model_name;
  if (typeof doc.model_version === 'string') res.modelVersion = doc.model_version;
  const id = readId(doc.id, r);
  if (id !== undefined) res.id = id;
  const parameters = readParameters(doc.parameters, r, '"parameters"');
  if (parameters !== undefined) res.parameters = parameters;
  return res;
}

/** encodeInferResponse writes a canonical tensor response as a JSON-ready v2 `$inference_response`. */
export function encodeInferResponse(res: InferResponse): Record<string, unknown> {
  if (res.outputs === undefined) throw new GatewayError('internal', 'encodeInferResponse needs tensors; predictions must be converted first');
  const out: Record<string, unknown> = {};
  if (res.modelName !== undefined) out.model_name = res.modelName;
  if (res.modelVersion !== undefined) out.model_version = res.modelVersion;
  if (res.id !== undefined) out.id = res.id;
  if (res.parameters !== undefined) out.parameters = res.parameters;
  out.outputs = res.outputs.map(writeTensor);
  return out;
}

/**
 * stringifyInferRequest gives the v2 JSON text of a request, the same as
 * stringifyJson(encodeInferRequest(req)) but with numeric tensor data written by the fast
 * writer (FP32 as its shortest exact decimals).
 */
export function stringifyInferRequest(req: InferRequest): string {
  return withFastData(encodeInferRequest, req, req.inputs);
}

/** stringifyInferResponse gives the v2 JSON text of a response, with the fast numeric writer. */
export function stringifyInferResponse(res: InferResponse): string {
  return withFastData(encodeInferResponse, res, res.outputs);
}

// withFastData encodes with every fast-writable tensor's data left out, then splices the data
// text in: JSON.stringify only sees the small header.
function withFastData<T extends InferRequest | InferResponse>(encode: (m: T) => Record<string, unknown>, msg: T, tensors: Tensor[] | undefined): string {
  if (tensors === undefined) return stringifyJson(encode(msg));
  const texts = tensors.map((t) => numericArrayText(t.datatype, t.data));
  const pieces = aroundData(encode, msg, tensors, (i) => texts[i] !== undefined);
  let out = pieces[0]!;
  for (let k = 1; k < pieces.length; k += 2) out += texts[Number(pieces[k])]! + pieces[k + 1]!;
  return out;
}

/**
 * aroundData gives the JSON text of msg cut where the data of each tensor i with fast(i) goes:
 * [text, i, text, j, text…]. The data is left empty and a placeholder put in its place, which
 * the cut takes out.
 */
export function aroundData<T extends InferRequest | InferResponse>(encode: (m: T) => Record<string, unknown>, msg: T, tensors: Tensor[],
  fast: (i: number) => boolean): string[] {
  const stubbed = tensors.map((t, i) => (fast(i) ? { ...t, data: new Uint8Array(0) } : t));
  const key = 'inputs' in msg && msg.inputs !== undefined ? 'inputs' : 'outputs';
  const doc = encode({ ...msg, [key]: stubbed } as T);
  // A per-call tag, so no string a client sent can pass for a placeholder.
  const tag = Math.random().toString(36).slice(2);
  (doc[key] as Array<Record<string, unknown>>).forEach((t, i) => {
    if (fast(i)) t.data = `\u0000${tag}:${i}`;
  });
  // The placeholders come in tensor order; indexOf finds each (a regex made per call was
  // compiled per call: 7% of the gateway's CPU on 64-row requests).
  const text = stringifyJson(doc);
  const pieces: string[] = [];
  let from = 0;
  for (let i = 0; i < tensors.length; i++) {
    if (!fast(i)) continue;
    const placeholder = `"\\u0000${tag}:${i}"`;
    const at = text.indexOf(placeholder, from);
    pieces.push(text.slice(from, at), String(i));
    from = at + placeholder.length;
  }
  pieces.push(text.slice(from));
  return pieces;
}

/** encodeMetadata writes model metadata as the v2 `$metadata_model_response` object. */
export function encodeMetadata(meta: ModelMetadata): Record<string, unknown> {
  const spec = (s: TensorSpec): Record<string, unknown> => ({ name: s.name, datatype: s.datatype, shape: s.shape });
  const out: Record<string, unknown> = { name: meta.name };
  if (meta.versions !== undefined) out.versions = meta.versions;
  out.platform = meta.platform;
  out.inputs = meta.inputs.map(spec);
  out.outputs = meta.outputs.map(spec);
  if (meta.parameters !== undefined) out.parameters = meta.parameters;
  return out;
}

/** decodeMetadata reads a backend's v2 model metadata; malformed → backend_bad_reply naming `where`. */
export function decodeMetadata(json: unknown, where: string): ModelMetadata {
  const r: Reader = { code: 'backend_bad_reply', prefix: `${where} metadata`, binary: undefined };
  const doc = objectOf(json, r, 'the body', 'a JSON object with "name", "inputs" and "outputs"');
  if (typeof doc.name !== 'string') fail(r, `"name" must be a string, got ${describeValue(doc.name)}`);
  const meta: ModelMetadata = {
    name: doc.name,
    platform: typeof doc.platform === 'string' ? doc.platform : '',
    inputs: readSpecs(doc.inputs, 'inputs', r),
    outputs: readSpecs(doc.outputs, 'outputs', r),
  };
  if (doc.versions !== undefined) {
    if (!Array.isArray(doc.versions)) fail(r, `"versions" must be an array of strings, got ${describeValue(doc.versions)}`);
    meta.versions = doc.versions.map(String);
  }
  const parameters = readParameters(doc.parameters, r, '"parameters"');
  if (parameters !== undefined) meta.parameters = parameters;
  return meta;
}

/** writeTensor gives the JSON-ready v2 form of one tensor, data flat and row-major. */
export function writeTensor(t: Tensor): Record<string, unknown> {
  const out: Record<string, unknown> = { name: t.name, shape: t.shape, datatype: t.datatype };
  if (t.parameters !== undefined) out.parameters = t.parameters;
  out.data = toJsonValues(t.datatype, t.data);
  return out;
}

// readTensor reads `$request_input` / `$response_output`: name, shape, datatype, then data from
// JSON (nested or flat) or from the binary section when `binary_data_size` says so.
function readTensor(json: unknown, index: number, list: string, r: Reader): Tensor {
  const t = objectOf(json, r, `${list}[${index}]`, 'a tensor object');
  if (typeof t.name !== 'string' || t.name === '') fail(r, `${list}[${index}] needs a "name" string`);
  const where = `${r.prefix}: tensor "${t.name}"`;
  if (!isDatatype(t.datatype)) {
    fail(r, `tensor "${t.name}": "datatype" ${describeValue(t.datatype)} is not a v2 datatype (BOOL, UINT8…UINT64, INT8…INT64, FP16, FP32, FP64, BYTES)`);
  }
  if (!isValidShape(t.shape)) fail(r, `tensor "${t.name}": "shape" must be an array of non-negative integers, got ${describeValue(t.shape)}`);
  const datatype = t.datatype;
  const shape = t.shape;
  const want = elementCount(shape);
  let parameters = readParameters(t.parameters, r, `tensor "${t.name}" "parameters"`);
  const binarySize = parameters?.binary_data_size;
  let data: TensorData;
  if (binarySize !== undefined) {
    if (r.binary === undefined) fail(r, `tensor "${t.name}" has "binary_data_size" but the body is plain JSON (send Inference-Header-Content-Length)`);
    if (typeof binarySize !== 'number' || !Number.isSafeInteger(binarySize) || binarySize < 0) {
      fail(r, `tensor "${t.name}": "binary_data_size" must be a non-negative integer, got ${describeValue(binarySize)}`);
    }
    if (t.data !== undefined) fail(r, `tensor "${t.name}" has both "data" and "binary_data_size"`);
    data = rethrowAs(r, () => r.binary!(datatype, shape, binarySize, where));
    const { binary_data_size: _drop, ...rest } = parameters!;
    parameters = Object.keys(rest).length > 0 ? rest : undefined;
  } else if (t.data instanceof Float32Array && datatype === 'FP32') {
    data = t.data; // an answer's FP32 data read from its bytes (v2-answer-scan.ts); JSON never gives one
  } else {
    if (!Array.isArray(t.data)) fail(r, `tensor "${t.name}": "data" must be an array, got ${describeValue(t.data)}`);
    const flat = flatten(t.data, shape.length);
    if (flat.length !== want) {
      fail(r, `tensor "${t.name}": shape [${shape.join(', ')}] holds ${want} elements, "data" has ${flat.length}`, 'bad_tensor');
    }
    data = rethrowAs(r, () => fromJsonValues(datatype, flat, where));
  }
  if (data.length !== want) fail(r, `tensor "${t.name}": shape [${shape.join(', ')}] holds ${want} elements, data has ${data.length}`, 'bad_tensor');
  const tensor: Tensor = { name: t.name, datatype, shape, data };
  if (parameters !== undefined) tensor.parameters = parameters;
  return tensor;
}

// flatten accepts v2's nested form; flat arrays (the common, fast case) pass through untouched.
function flatten(data: unknown[], rank: number): unknown[] {
  if (data.length === 0 || !Array.isArray(data[0])) {
    return data.some(Array.isArray) ? data.flat(Infinity) : data;
  }
  return data.flat(rank > 1 ? rank - 1 : Infinity);
}

function readRequestedOutput(json: unknown, index: number, r: Reader): RequestedOutput {
  const o = objectOf(json, r, `outputs[${index}]`, 'an object with "name"');
  if (typeof o.name !== 'string' || o.name === '') fail(r, `outputs[${index}] needs a "name" string`);
  const out: RequestedOutput = { name: o.name };
  const parameters = readParameters(o.parameters, r, `output "${o.name}" "parameters"`);
  if (parameters !== undefined) out.parameters = parameters;
  return out;
}

function readSpecs(json: unknown, list: string, r: Reader): TensorSpec[] {
  if (!Array.isArray(json)) fail(r, `"${list}" must be an array, got ${describeValue(json)}`);
  return json.map((s, i) => {
    const o = objectOf(s, r, `${list}[${i}]`, 'an object with name, datatype and shape');
    if (typeof o.name !== 'string') fail(r, `${list}[${i}] needs a "name" string`);
    if (!isDatatype(o.datatype)) fail(r, `${list}[${i}] ("${o.name}"): datatype ${describeValue(o.datatype)} is not a v2 datatype`);
    if (!Array.isArray(o.shape) || !o.shape.every((d) => Number.isSafeInteger(d) && d >= -1)) {
      fail(r, `${list}[${i}] ("${o.name}"): shape must be integers ≥ -1, got ${describeValue(o.shape)}`);
    }
    return { name: o.name, datatype: o.datatype, shape: o.shape as number[] };
  });
}

function readId(id: unknown, r: Reader): string | undefined {
  if (id === undefined) return undefined;
  if (typeof id !== 'string') fail(r, `"id" must be a string, got ${describeValue(id)}`);
  return id;
}

function readParameters(json: unknown, r: Reader, what: string): Parameters | undefined {
  if (json === undefined) return undefined;
  if (typeof json !== 'object' || json === null || Array.isArray(json)) fail(r, `${what} must be an object, got ${describeValue(json)}`);
  return json as Parameters;
}

function objectOf(json: unknown, r: Reader, what: string, expected: string): Record<string, unknown> {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) fail(r, `${what} is ${describeValue(json)}; expected ${expected}`);
  return json as Record<string, unknown>;
}

function fail(r: Reader, message: string, code?: ErrorCode): never {
  // Backend answers are always the backend's fault, whatever the detail.
  const c = r.code === 'backend_bad_reply' ? r.code : (code ?? r.code);
  throw new GatewayError(c, r.code === 'backend_bad_reply' ? `${r.prefix}: ${message}` : message);
}

function rethrowAs<T>(r: Reader, f: () => T): T {
  try {
    return f();
  } catch (err) {
    if (r.code === 'backend_bad_reply' && err instanceof GatewayError && err.code !== 'backend_bad_reply') {
      throw new GatewayError('backend_bad_reply', err.message, { cause: err });
    }
    throw err;
  }
}
