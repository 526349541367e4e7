// v2-grpc.ts — the gRPC messages of the Open Inference Protocol (proto/grpc_predict_v2.proto, as
// @grpc/proto-loader hands them over: field names as in the .proto, 64-bit integers as decimal
// strings, bytes as Buffers) ⇄ canonical requests, responses and metadata. Pure, no I/O.
// Tensor data travels typed (InferTensorContents, one repeated field per element type) or raw
// (raw_input_contents / raw_output_contents: the bytes Triton's binary extension uses too).
// https://github.com/kserve/kserve/blob/master/docs/predict-api/v2/grpc_predict_v2.proto

import { describeValue, GatewayError, type ErrorCode } from '../errors.ts';
import { elementSize, fromJsonValues, isDatatype, toJsonValues, type Datatype, type TensorData } from '../tensors/datatype.ts';
import { elementCount } from '../tensors/shape.ts';
import type { InferRequest, InferResponse, ModelMetadata, Parameters, Tensor, TensorSpec } from '../tensors/tensor.ts';
import { fromBinary, tensorBytes } from './v2-binary.ts';

/** GrpcParameter is one InferParameter: its oneof names the field that is set. */
export interface GrpcParameter {
  parameter_choice?: string;
  bool_param?: boolean;
  int64_param?: string | number;
  string_param?: string;
  double_param?: number;
  uint64_param?: string | number;
}

/** GrpcContents is InferTensorContents. */
export interface GrpcContents {
  bool_contents?: boolean[];
  int_contents?: number[];
  int64_contents?: Array<string | number>;
  uint_contents?: number[];
  uint64_contents?: Array<string | number>;
  fp32_contents?: number[];
  fp64_contents?: number[];
  bytes_contents?: Uint8Array[];
}

/** GrpcTensor is an InferInputTensor or an InferOutputTensor. */
export interface GrpcTensor {
  name?: string;
  datatype?: string;
  shape?: Array<string | number>;
  parameters?: Record<string, GrpcParameter>;
  contents?: GrpcContents | null;
}

/** GrpcInferRequest is ModelInferRequest. */
export interface GrpcInferRequest {
  model_name?: string;
  model_version?: string;
  id?: string;
  parameters?: Record<string, GrpcParameter>;
  inputs?: GrpcTensor[];
  outputs?: Array<{ name?: string; parameters?: Record<string, GrpcParameter> }>;
  raw_input_contents?: Uint8Array[];
}

/** GrpcInferResponse is ModelInferResponse. */
export interface GrpcInferResponse {
  model_name?: string;
  model_version?: string;
  id?: string;
  parameters?: Record<string, GrpcParameter>;
  outputs?: GrpcTensor[];
  raw_output_contents?: Uint8Array[];
}

/** GrpcModelMetadata is ModelMetadataResponse. */
export interface GrpcModelMetadata {
  name?: string;
  versions?: string[];
  platform?: string;
  inputs?: Array<{ name?: string; datatype?: string; shape?: Array<string | number> }>;
  outputs?: Array<{ name?: string; datatype?: string; shape?: Array<string | number> }>;
}

// Which InferTensorContents field each datatype fills. FP16 has none: it travels raw only.
const contentsField: Record<Datatype, keyof GrpcContents | undefined> = {
  BOOL: 'bool_contents', INT8: 'int_contents', INT16: 'int_contents', INT32: 'int_contents', INT64: 'int64_contents',
  UINT8: 'uint_contents', UINT16: 'uint_contents', UINT32: 'uint_contents', UINT64: 'uint64_contents',
  FP16: undefined, FP32: 'fp32_contents', FP64: 'fp64_contents', BYTES: 'bytes_contents',
};

interface Side { code: ErrorCode; prefix: string; raw: string; list: string }
const fromClient: Side = { code: 'bad_request', prefix: '', raw: 'raw_input_contents', list: 'inputs' };
const fromServer = (where: string): Side => ({ code: 'backend_bad_reply', prefix: `${where} answer: `, raw: 'raw_output_contents', list: 'outputs' });

/** decodeGrpcInferRequest reads a client's ModelInferRequest; anything malformed is a 400 naming the tensor. */
export function decodeGrpcInferRequest(msg: GrpcInferRequest): InferRequest {
  const req: InferRequest = { inputs: readTensors(msg.inputs ?? [], msg.raw_input_contents ?? [], fromClient) };
  if (msg.id !== undefined && msg.id !== '') req.id = msg.id;
  const parameters = readParameters(msg.parameters);
  if (parameters !== undefined) req.parameters = parameters;
  if (msg.outputs !== undefined && msg.outputs.length > 0) {
    req.outputs = msg.outputs.map((o, i) => {
      if (typeof o.name !== 'string' || o.name === '') fail(fromClient, `outputs[${i}] needs a name`);
      const p = readParameters(o.parameters);
      return p === undefined ? { name: o.name } : { name: o.name, parameters: p };
    });
  }
  return req;
}

/** decodeGrpcInferResponse reads a server's ModelInferResponse; malformed → backend_bad_reply naming `where`. */
export function decodeGrpcInferResponse(msg: GrpcInferResponse, where: string): InferResponse {
  const res: InferResponse = { outputs: readTensors(msg.outputs ?? [], msg.raw_output_contents ?? [], fromServer(where)) };
  if (msg.model_name !== undefined && msg.model_name !== '') res.modelName = msg.model_name;
  if (msg.model_version !== undefined && msg.model_version !== '') res.modelVersion = msg.model_version;
  if (msg.id !== undefined && msg.id !== '') res.id = msg.id;
  const parameters = readParameters(msg.parameters);
  if (parameters !== undefined) res.parameters = parameters;
  return res;
}

/**
 * encodeGrpcInferResponse writes a ModelInferResponse: raw contents when `raw` (or when an
 * output is FP16, which has no typed field), typed contents otherwise. One form for all: the
 * protocol forbids mixing them.
 */
export function encodeGrpcInferResponse(res: InferResponse & { outputs: Tensor[] }, raw: boolean): GrpcInferResponse {
  const out: GrpcInferResponse = { model_name: res.modelName ?? '', model_version: res.modelVersion ?? '', id: res.id ?? '' };
  if (res.parameters !== undefined) out.parameters = writeParameters(res.parameters);
  const asRaw = raw || res.outputs.some((t) => t.datatype === 'FP16');
  out.outputs = res.outputs.map((t) => tensorHeader(t, asRaw));
  if (asRaw) out.raw_output_contents = res.outputs.map(tensorBytes);
  return out;
}

/** encodeGrpcInferRequest writes a ModelInferRequest with every input as raw contents (the cheap form). */
export function encodeGrpcInferRequest(req: InferRequest, model: string, version: string | undefined): GrpcInferRequest {
  if (req.inputs === undefined) throw new GatewayError('internal', 'encodeGrpcInferRequest needs tensors; rows must be converted first');
  const out: GrpcInferRequest = {
    model_name: model, model_version: version ?? '', id: req.id ?? '',
    inputs: req.inputs.map((t) => tensorHeader(t, true)),
    raw_input_contents: req.inputs.map(tensorBytes),
  };
  if (req.parameters !== undefined) out.parameters = writeParameters(req.parameters);
  if (req.outputs !== undefined) {
    out.outputs = req.outputs.map((o) => (o.parameters === undefined ? { name: o.name } : { name: o.name, parameters: writeParameters(o.parameters) }));
  }
  return out;
}

/** encodeGrpcMetadata writes model metadata as a ModelMetadataResponse. */
export function encodeGrpcMetadata(meta: ModelMetadata): GrpcModelMetadata {
  const spec = (s: TensorSpec): { name: string; datatype: string; shape: number[] } => ({ name: s.name, datatype: s.datatype, shape: s.shape });
  return { name: meta.name, versions: meta.versions ?? [], platform: meta.platform, inputs: meta.inputs.map(spec), outputs: meta.outputs.map(spec) };
}

/** decodeGrpcMetadata reads a server's ModelMetadataResponse; malformed → backend_bad_reply naming `where`. */
export function decodeGrpcMetadata(msg: GrpcModelMetadata, where: string): ModelMetadata {
  const side: Side = { ...fromServer(where), prefix: `${where} metadata: ` };
  const specs = (list: GrpcModelMetadata['inputs'], what: string): TensorSpec[] => (list ?? []).map((s, i) => {
    if (typeof s.name !== 'string' || s.name === '') fail(side, `${what}[${i}] has no name`);
    if (!isDatatype(s.datatype)) fail(side, `${what}[${i}] ("${s.name}"): datatype ${describeValue(s.datatype)} is not a v2 datatype`);
    const shape = (s.shape ?? []).map(Number);
    if (!shape.every((d) => Number.isSafeInteger(d) && d >= -1)) fail(side, `${what}[${i}] ("${s.name}"): shape must be integers ≥ -1`);
    return { name: s.name, datatype: s.datatype, shape };
  });
  if (typeof msg.name !== 'string' || msg.name === '') fail(side, 'the model has no name');
  const meta: ModelMetadata = { name: msg.name, platform: msg.platform ?? '', inputs: specs(msg.inputs, 'inputs'), outputs: specs(msg.outputs, 'outputs') };
  if (msg.versions !== undefined && msg.versions.length > 0) meta.versions = msg.versions;
  return meta;
}

/** readParameters turns a map of InferParameter into v2 parameters; 64-bit integers past 2^53 stay decimal strings. */
export function readParameters(map: Record<string, GrpcParameter> | undefined): Parameters | undefined {
  if (map === undefined) return undefined;
  const keys = Object.keys(map);
  if (keys.length === 0) return undefined;
  const out: Parameters = {};
  for (const k of keys) {
    const p = map[k]!;
    switch (p.parameter_choice) {
      case 'bool_param': out[k] = p.bool_param === true; break;
      case 'string_param': out[k] = p.string_param ?? ''; break;
      case 'double_param': out[k] = p.double_param ?? 0; break;
      case 'int64_param': out[k] = integer(p.int64_param); break;
      case 'uint64_param': out[k] = integer(p.uint64_param); break;
      default: break; // no value set: the parameter says nothing
    }
  }
  return out;
}

/** writeParameters turns v2 parameters into InferParameter values (other JSON values as their JSON text). */
export function writeParameters(parameters: Parameters): Record<string, GrpcParameter> {
  const out: Record<string, GrpcParameter> = {};
  for (const [k, v] of Object.entries(parameters)) {
    if (typeof v === 'boolean') out[k] = { bool_param: v };
    else if (typeof v === 'string') out[k] = { string_param: v };
    else if (typeof v === 'bigint') out[k] = { int64_param: v.toString() };
    else if (typeof v === 'number') out[k] = Number.isSafeInteger(v) ? { int64_param: v } : { double_param: v };
    else if (v !== undefined && v !== null) out[k] = { string_param: JSON.stringify(v) };
  }
  return out;
}

function integer(v: string | number | undefined): number | string {
  if (v === undefined) return 0;
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : String(v);
}

// readTensors reads inputs (or outputs) with their data from typed contents or from the raw
// list, which, when present, holds exactly one entry per tensor and excludes typed contents.
function readTensors(list: GrpcTensor[], raw: Uint8Array[], side: Side): Tensor[] {
  if (raw.length > 0 && raw.length !== list.length) {
    fail(side, `${side.raw} has ${raw.length} entries for ${list.length} ${side.list}; send one per tensor, in order`);
  }
  return list.map((t, i) => {
    if (typeof t.name !== 'string' || t.name === '') fail(side, `${side.list}[${i}] needs a name`);
    const name = t.name;
    if (!isDatatype(t.datatype)) {
      fail(side, `tensor "${name}": datatype ${describeValue(t.datatype)} is not a v2 datatype (BOOL, UINT8…UINT64, INT8…INT64, FP16, FP32, FP64, BYTES)`);
    }
    const datatype = t.datatype;
    const shape = (t.shape ?? []).map(Number);
    if (!shape.every((d) => Number.isSafeInteger(d) && d >= 0)) fail(side, `tensor "${name}": shape must be non-negative integers, got [${(t.shape ?? []).join(', ')}]`);
    const want = elementCount(shape);
    const where = `${side.prefix}tensor "${name}"`;
    let data: TensorData;
    if (raw.length > 0) {
      if (hasContents(t.contents)) fail(side, `tensor "${name}" has typed contents and ${side.raw} too; use one form for every tensor`);
      const bytes = raw[i]!;
      const size = elementSize(datatype);
      if (size > 0 && bytes.byteLength !== want * size) {
        fail(side, `tensor "${name}": shape [${shape.join(', ')}] of ${datatype} needs ${want * size} bytes, ${side.raw}[${i}] holds ${bytes.byteLength}`, 'bad_tensor');
      }
      data = rethrow(side, () => fromBinary(datatype, shape, bytes, where, side.code === 'backend_bad_reply'));
    } else data = readContents(t.contents, datatype, shape, name, where, side);
    const tensor: Tensor = { name, datatype, shape, data };
    const parameters = readParameters(t.parameters);
    if (parameters !== undefined) tensor.parameters = parameters;
    return tensor;
  });
}

function readContents(contents: GrpcContents | null | undefined, datatype: Datatype, shape: number[], name: string, where: string, side: Side): TensorData {
  const field = contentsField[datatype];
  if (field === undefined) fail(side, `tensor "${name}" is FP16, which has no typed contents; send it in ${side.raw}`);
  const filled = Object.entries(contents ?? {}).filter(([, v]) => Array.isArray(v) && v.length > 0).map(([k]) => k);
  const stray = filled.find((k) => k !== field);
  if (stray !== undefined) fail(side, `tensor "${name}" is ${datatype}: its data goes in contents.${field}, not contents.${stray}`);
  const values = (contents?.[field] ?? []) as unknown[];
  const want = elementCount(shape);
  if (values.length !== want) {
    fail(side, `tensor "${name}": shape [${shape.join(', ')}] holds ${want} elements, contents.${field} has ${values.length}`, 'bad_tensor');
  }
  // Floats come as numbers already: one typed copy, no per-element checks.
  if (datatype === 'FP32') return Float32Array.from(values as number[]);
  if (datatype === 'FP64') return Float64Array.from(values as number[]);
  const typed = datatype === 'INT64' || datatype === 'UINT64' ? values.map((v) => BigInt(v as string)) : values;
  return rethrow(side, () => fromJsonValues(datatype, typed, where));
}

function hasContents(contents: GrpcContents | null | undefined): boolean {
  return contents !== undefined && contents !== null && Object.values(contents).some((v) => Array.isArray(v) && v.length > 0);
}

// tensorHeader writes a tensor's name, datatype, shape and parameters, and its typed contents unless raw.
function tensorHeader(t: Tensor, raw: boolean): GrpcTensor {
  const out: GrpcTensor = { name: t.name, datatype: t.datatype, shape: t.shape };
  if (t.parameters !== undefined) out.parameters = writeParameters(t.parameters);
  if (!raw) out.contents = writeContents(t);
  return out;
}

function writeContents(t: Tensor): GrpcContents {
  const field = contentsField[t.datatype]!;
  const d = t.data;
  if (t.datatype === 'BYTES') return { bytes_contents: d as Uint8Array[] };
  if (t.datatype === 'BOOL') return { bool_contents: Array.from(d as Uint8Array, (v) => v !== 0) };
  if (t.datatype === 'INT64' || t.datatype === 'UINT64') return { [field]: Array.from(d as BigInt64Array, (v) => v.toString()) };
  return { [field]: toJsonValues(t.datatype, d) };
}

function fail(side: Side, message: string, code?: ErrorCode): never {
  throw new GatewayError(side.code === 'backend_bad_reply' ? side.code : (code ?? side.code), `${side.prefix}${message}`);
}

function rethrow<T>(side: Side, f: () => T): T {
  try {
    return f();
  } catch (err) {
    if (side.code === 'backend_bad_reply' && err instanceof GatewayError && err.code !== 'backend_bad_reply') {
      throw new GatewayError('backend_bad_reply', err.message, { cause: err });
    }
    throw err;
  }
}
