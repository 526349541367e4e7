// results.ts — what a transform returned, checked and put in the gateway's form: a preprocess
// must give rows or v2 tensors; a postprocess gives predictions, outputs, or an answer of its
// own (JSON, or bytes with a content type). A wrong shape is the transform's fault: 500 naming it.

import { decodeInferRequest } from '../codecs/v2-json.ts';
import { describeValue, GatewayError } from '../errors.ts';
import { arrayClassOf, isDatatype } from '../tensors/datatype.ts';
import { elementCount, isValidShape } from '../tensors/shape.ts';
import type { Tensor } from '../tensors/tensor.ts';
import type { StepRequest, StepResponse } from './step.ts';

/** requestFrom checks a preprocess result and keeps the client's headers, content type and body. */
export function requestFrom(value: unknown, from: StepRequest, name: string): StepRequest {
  const expected = 'expected {instances: [...], parameters?} or {inputs: [...v2 tensors]}';
  if (!isObject(value)) throw wrong(name, `preprocess returned ${describeValue(value)}; ${expected}`);
  const out: StepRequest = { headers: from.headers, contentType: from.contentType };
  if (from.body !== undefined) out.body = from.body;
  if (value.instances !== undefined && value.inputs !== undefined) throw wrong(name, `preprocess returned both "instances" and "inputs"; ${expected}`);
  if (value.instances !== undefined) {
    if (!Array.isArray(value.instances) || value.instances.length === 0) {
      throw wrong(name, `preprocess returned "instances" ${describeValue(value.instances)}; expected a non-empty array`);
    }
    out.instances = value.instances;
  } else if (value.inputs !== undefined) {
    out.inputs = tensorsFrom(value.inputs, name, 'preprocess', 'inputs');
  } else throw wrong(name, `preprocess returned neither "instances" nor "inputs"; ${expected}`);
  if (value.parameters !== undefined) {
    if (!isObject(value.parameters)) throw wrong(name, `preprocess returned "parameters" ${describeValue(value.parameters)}; expected an object`);
    out.parameters = value.parameters;
  }
  if (value.outputs !== undefined) out.outputs = value.outputs as StepRequest['outputs'];
  else if (from.outputs !== undefined) out.outputs = from.outputs;
  return out;
}

/** responseFrom puts a postprocess result in the gateway's form. */
export function responseFrom(value: unknown, name: string): StepResponse {
  if (value instanceof Uint8Array) return { answer: { kind: 'bytes', body: bufferOf(value), contentType: 'application/octet-stream' } };
  if (isObject(value)) {
    const keys = Object.keys(value);
    const only = (...allowed: string[]): boolean => keys.every((k) => allowed.includes(k));
    if ((value.body instanceof Uint8Array || typeof value.body === 'string') && typeof value.contentType === 'string' && only('body', 'contentType')) {
      const body = typeof value.body === 'string' ? Buffer.from(value.body) : bufferOf(value.body);
      return { answer: { kind: 'bytes', body, contentType: value.contentType } };
    }
    if (Array.isArray(value.predictions) && only('predictions', 'parameters')) {
      return { predictions: value.predictions, ...(isObject(value.parameters) ? { parameters: value.parameters } : {}) };
    }
    if (Array.isArray(value.outputs) && only('outputs', 'parameters')) {
      return { outputs: tensorsFrom(value.outputs, name, 'postprocess', 'outputs'), ...(isObject(value.parameters) ? { parameters: value.parameters } : {}) };
    }
  }
  if (value === undefined) throw wrong(name, 'postprocess returned nothing; return the answer (e.g. {predictions: [...]})');
  return { answer: { kind: 'json', value } };
}

// tensorsFrom takes tensors whose data is a typed array of the datatype's kind (as a transform
// makes them) or JSON values (as a client sends them), checked like a client's.
function tensorsFrom(list: unknown, name: string, fn: string, key: string): Tensor[] {
  if (!Array.isArray(list) || list.length === 0) throw wrong(name, `${fn} returned "${key}" ${describeValue(list)}; expected a non-empty array of tensors`);
  return list.map((t, i) => {
    const where = `${fn} returned ${key}[${i}]`;
    if (!isObject(t) || typeof t.name !== 'string' || !isDatatype(t.datatype) || !isValidShape(t.shape)) {
      throw wrong(name, `${where}: expected {name, datatype, shape, data} with a v2 datatype and a shape of non-negative integers`);
    }
    if (ArrayBuffer.isView(t.data)) {
      const want = arrayClassOf(t.datatype);
      if (want === undefined || !(t.data instanceof want)) throw wrong(name, `${where} ("${t.name}"): ${t.datatype} data must be a ${want?.name ?? 'array of strings or Uint8Arrays'}, got ${t.data.constructor.name}`);
      if (t.data.length !== elementCount(t.shape)) throw wrong(name, `${where} ("${t.name}"): shape [${t.shape.join(', ')}] holds ${elementCount(t.shape)} elements, data has ${t.data.length}`);
      return { name: t.name, datatype: t.datatype, shape: t.shape, data: t.data as Tensor['data'] };
    }
    try {
      return decodeInferRequest({ inputs: [{ name: t.name, datatype: t.datatype, shape: t.shape, data: t.data }] }).inputs![0]!;
    } catch (err) {
      throw wrong(name, `${where}: ${(err as Error).message}`);
    }
  });
}

function wrong(name: string, message: string): GatewayError {
  return new GatewayError('transform_failed', `${name}: ${message}`);
}

function bufferOf(u: Uint8Array): Buffer {
  return Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !ArrayBuffer.isView(v);
}
