// v2-binary.ts — Triton's binary tensor data extension, both directions: a JSON header of
// Inference-Header-Content-Length bytes, then each binary tensor's raw bytes in the order the
// header lists them (little-endian, row-major, BOOL one byte, BYTES as 4-byte LE length + bytes).
// https://github.com/triton-inference-server/server/blob/main/docs/protocol/extension_binary_data.md
// Vertex and SageMaker carry the header length in the content type instead of a header:
// application/vnd.vertex-ai-triton.binary+json;json-header-size=N (Triton's vertex_ai_server.cc).

import { GatewayError } from '../errors.ts';
import { arrayClassOf, elementSize, type Datatype, type TensorData } from '../tensors/datatype.ts';
import { elementCount } from '../tensors/shape.ts';
import type { InferRequest, InferResponse, Parameters, Tensor } from '../tensors/tensor.ts';
import { parseJson, stringifyJson } from './json.ts';
import {
  decodeInferRequest, decodeInferResponse, encodeInferRequest, writeTensor, type BinaryTensorSource,
} from './v2-json.ts';

/** vertexBinaryType is the Vertex content type of a binary v2 body, without its header-size parameter. */
export const vertexBinaryType = 'application/vnd.vertex-ai-triton.binary+json';

/**
 * headerLengthFromContentType reads json-header-size=N from a binary content type such as
 * Vertex's or SageMaker's: undefined when the media type is another or N is missing.
 */
export function headerLengthFromContentType(ct: string, mediaType: string): number | undefined {
  const [type, ...params] = ct.split(';');
  if (type!.trim().toLowerCase() !== mediaType) return undefined;
  for (const p of params) {
    const [k, v] = p.split('=');
    if (k!.trim().toLowerCase() === 'json-header-size' && v !== undefined && /^\s*\d{1,15}\s*$/.test(v)) return Number(v);
  }
  return undefined;
}

/** binaryContentType gives a binary content type announcing a JSON header of headerLength bytes. */
export function binaryContentType(headerLength: number, mediaType: string): string {
  return `${mediaType};json-header-size=${headerLength}`;
}

/** decodeBinaryRequest reads a binary-extension request body; malformed → 400 naming the tensor. */
export function decodeBinaryRequest(body: Buffer, headerLength: number): InferRequest {
  const { header, source, finish } = openBody(body, headerLength, 'request', false);
  const req = decodeInferRequest(header, source);
  finish();
  return req;
}

/** decodeBinaryResponse reads a backend's binary-extension answer; malformed → 502 naming `where`. */
export function decodeBinaryResponse(body: Buffer, headerLength: number, where: string): InferResponse {
  const { header, source, finish } = openBody(body, headerLength, `${where} answer`, true);
  const res = decodeInferResponse(header, where, source);
  finish();
  return res;
}

/**
 * encodeBinaryRequest writes every input as binary; with binaryOutputs the server is asked
 * for binary outputs too (per requested output, or `binary_data_output` for all). A Map names
 * each output to ask for, and whether it should come back binary.
 */
export function encodeBinaryRequest(req: InferRequest, opts: { binaryOutputs?: boolean | Map<string, boolean> } = {}): { body: Buffer; headerLength: number } {
  const { parts, headerLength, byteLength } = binaryRequestParts(req, opts);
  return { body: Buffer.concat(parts, byteLength), headerLength };
}

// From this size a binary body is sent as its parts: copying a 600 KB image tensor behind its
// header cost 80 of the binary path's 1,400 µs; below it one buffer is one write.
const sentAsPartsFrom = 64 * 1024;

/**
 * binaryRequestBody is encodeBinaryRequest for sending: a large body comes as its parts (the
 * JSON header, then each tensor's own bytes, none copied), to be written in order.
 */
export function binaryRequestBody(req: InferRequest, opts: { binaryOutputs?: boolean | Map<string, boolean> } = {}): { body: Buffer | Uint8Array[]; headerLength: number } {
  const { parts, headerLength, byteLength } = binaryRequestParts(req, opts);
  return { body: byteLength < sentAsPartsFrom ? Buffer.concat(parts, byteLength) : parts, headerLength };
}

// binaryRequestParts gives the JSON header and the tensors' bytes in order, and their length.
function binaryRequestParts(req: InferRequest, opts: { binaryOutputs?: boolean | Map<string, boolean> }): { parts: Uint8Array[]; headerLength: number; byteLength: number } {
  if (req.inputs === undefined) throw new GatewayError('internal', 'encodeBinaryRequest needs tensors; rows must be converted first');
  const chunks: Uint8Array[] = [];
  const header = encodeInferRequest({ ...req, inputs: [] });
  header.inputs = req.inputs.map((t) => binaryTensorHeader(t, chunks));
  if (opts.binaryOutputs instanceof Map) {
    const choice = opts.binaryOutputs;
    const wanted: Array<{ name: string; parameters?: Parameters }> = req.outputs ?? [...choice.keys()].map((name) => ({ name }));
    header.outputs = wanted.map((o) => ({ name: o.name, parameters: { ...o.parameters, binary_data: choice.get(o.name) ?? true } }));
  } else if (opts.binaryOutputs === true) {
    if (req.outputs !== undefined && req.outputs.length > 0) {
      header.outputs = req.outputs.map((o) => ({ name: o.name, parameters: { ...o.parameters, binary_data: true } }));
    } else {
      header.parameters = { ...req.parameters, binary_data_output: true };
    }
  }
  const json = Buffer.from(stringifyJson(header), 'utf8');
  let byteLength = json.length;
  for (const c of chunks) byteLength += c.byteLength;
  return { parts: [json, ...chunks], headerLength: json.length, byteLength };
}

/**
 * encodeBinaryResponse writes the outputs named in binaryOutputs (or all) as binary, the rest
 * as JSON data in the header.
 */
export function encodeBinaryResponse(res: InferResponse, opts: { binaryOutputs: Set<string> | true }): { body: Buffer; headerLength: number } {
  if (res.outputs === undefined) throw new GatewayError('internal', 'encodeBinaryResponse needs tensors; predictions must be converted first');
  const chunks: Uint8Array[] = [];
  const header: Record<string, unknown> = {};
  if (res.modelName !== undefined) header.model_name = res.modelName;
  if (res.modelVersion !== undefined) header.model_version = res.modelVersion;
  if (res.id !== undefined) header.id = res.id;
  if (res.parameters !== undefined) header.parameters = res.parameters;
  header.outputs = res.outputs.map((t) =>
    (opts.binaryOutputs === true || opts.binaryOutputs.has(t.name) ? binaryTensorHeader(t, chunks) : writeTensor(t)));
  return assemble(header, chunks);
}

/** wantsBinaryOutputs gives the outputs a v2 request asked to receive as binary, or true for all. */
export function wantsBinaryOutputs(req: InferRequest): Set<string> | true | undefined {
  const all = req.parameters?.binary_data_output === true;
  const named = new Set<string>();
  for (const o of req.outputs ?? []) {
    const b = o.parameters?.binary_data;
    if (b === true || (b === undefined && all)) named.add(o.name);
  }
  if (all && (req.outputs === undefined || req.outputs.length === 0)) return true;
  return named.size > 0 ? named : undefined;
}

/** tensorBytes gives a tensor's data in the extension's wire form (no copy for numeric tensors). */
export function tensorBytes(t: Tensor): Uint8Array {
  if (t.datatype !== 'BYTES') {
    const d = t.data as Uint8Array;
    return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
  }
  const items = t.data as Uint8Array[];
  let total = 0;
  for (const b of items) total += 4 + b.byteLength;
  const out = Buffer.allocUnsafe(total);
  let at = 0;
  for (const b of items) {
    out.writeUInt32LE(b.byteLength, at);
    out.set(b, at + 4);
    at += 4 + b.byteLength;
  }
  return out;
}

function binaryTensorHeader(t: Tensor, chunks: Uint8Array[]): Record<string, unknown> {
  const bytes = tensorBytes(t);
  chunks.push(bytes);
  return { name: t.name, shape: t.shape, datatype: t.datatype, parameters: { ...t.parameters, binary_data_size: bytes.byteLength } };
}

function assemble(header: Record<string, unknown>, chunks: Uint8Array[]): { body: Buffer; headerLength: number } {
  const json = Buffer.from(stringifyJson(header), 'utf8');
  return { body: Buffer.concat([json, ...chunks]), headerLength: json.length };
}

// openBody parses the JSON header and returns a source that hands out the binary section in
// order; finish() checks that nothing was left over.
function openBody(body: Buffer, headerLength: number, what: string, fromBackend: boolean): {
  header: unknown; source: BinaryTensorSource; finish(): void;
} {
  const err = (message: string): GatewayError =>
    new GatewayError(fromBackend ? 'backend_bad_reply' : 'bad_request', `${what}: ${message}`);
  if (!Number.isSafeInteger(headerLength) || headerLength < 0 || headerLength > body.length) {
    throw err(`the JSON header length ${headerLength} does not fit a body of ${body.length} bytes`);
  }
  if (headerLength === 0) {
    throw err('a JSON header length of 0 (Triton\'s "raw binary request") is not supported; send the JSON header first');
  }
  let header: unknown;
  try {
    header = parseJson(body.subarray(0, headerLength), { what: `${what} JSON header` });
  } catch (e) {
    if (!fromBackend) throw e;
    throw err((e as Error).message);
  }
  let offset = headerLength;
  const source: BinaryTensorSource = (datatype, shape, size, where) => {
    if (offset + size > body.length) {
      throw new GatewayError(fromBackend ? 'backend_bad_reply' : 'bad_tensor',
        `${where}: binary_data_size ${size} runs past the end of the body (${body.length - offset} bytes left)`);
    }
    const bytes = body.subarray(offset, offset + size);
    offset += size;
    return fromBinary(datatype, shape, bytes, where, fromBackend);
  };
  const finish = (): void => {
    if (offset !== body.length) throw err(`${body.length - offset} bytes follow the last binary tensor`);
  };
  return { header, source, finish };
}

/** fromBinary turns one tensor's wire bytes into typed storage (zero-copy when aligned). */
export function fromBinary(datatype: Datatype, shape: number[], bytes: Uint8Array, where: string, fromBackend = false): TensorData {
  const code = fromBackend ? 'backend_bad_reply' : 'bad_tensor';
  const count = elementCount(shape);
  if (datatype === 'BYTES') return splitBytes(bytes, count, where, code);
  const size = elementSize(datatype);
  if (bytes.byteLength !== count * size) {
    throw new GatewayError(code,
      `${where}: shape [${shape.join(', ')}] of ${datatype} needs ${count * size} bytes, binary_data_size is ${bytes.byteLength}`);
  }
  const ctor = arrayClassOf(datatype)!;
  if (datatype === 'BOOL') {
    const out = new Uint8Array(count);
    for (let i = 0; i < count; i++) out[i] = bytes[i] === 0 ? 0 : 1;
    return out;
  }
  if (bytes.byteOffset % size === 0) return new ctor(bytes.buffer as ArrayBuffer, bytes.byteOffset, count);
  const out = new ctor(count);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}

function splitBytes(bytes: Uint8Array, count: number, where: string, code: 'backend_bad_reply' | 'bad_tensor'): Uint8Array[] {
  // Each element takes at least its 4-byte length: a shape claiming more cannot fit.
  if (count * 4 > bytes.byteLength) {
    throw new GatewayError(code, `${where}: ${count} BYTES elements need at least ${count * 4} bytes, binary_data_size is ${bytes.byteLength}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Uint8Array[] = new Array(count);
  let at = 0;
  for (let i = 0; i < count; i++) {
    if (at + 4 > bytes.byteLength) throw new GatewayError(code, `${where}: BYTES element ${i} of ${count} is missing its 4-byte length`);
    const n = view.getUint32(at, true);
    if (at + 4 + n > bytes.byteLength) throw new GatewayError(code, `${where}: BYTES element ${i} claims ${n} bytes, only ${bytes.byteLength - at - 4} remain`);
    out[i] = new Uint8Array(bytes.buffer, bytes.byteOffset + at + 4, n);
    at += 4 + n;
  }
  if (at !== bytes.byteLength) throw new GatewayError(code, `${where}: ${bytes.byteLength - at} bytes follow the last of ${count} BYTES elements`);
  return out;
}
