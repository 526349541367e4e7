// ort-tensor.ts — canonical Tensor ⇄ onnxruntime tensor, and the datatype names between them.
// The main thread only uses the name tables; worker.ts builds and reads ort.Tensor values.

import type { Tensor as OrtTensor } from 'onnxruntime-node';
import { GatewayError } from '../../errors.ts';
import type { Datatype, TensorData } from '../../tensors/datatype.ts';
import type { Tensor } from '../../tensors/tensor.ts';

/** OrtType is an onnxruntime tensor element type name. */
export type OrtType = OrtTensor.Type;

const toOrt: Record<Datatype, OrtType> = {
  BOOL: 'bool', UINT8: 'uint8', UINT16: 'uint16', UINT32: 'uint32', UINT64: 'uint64',
  INT8: 'int8', INT16: 'int16', INT32: 'int32', INT64: 'int64',
  FP16: 'float16', FP32: 'float32', FP64: 'float64', BYTES: 'string',
};
const fromOrt = new Map<string, Datatype>(Object.entries(toOrt).map(([d, o]) => [o, d as Datatype]));

/** ortTypeOf gives the onnxruntime name of a KServe v2 datatype. */
export function ortTypeOf(datatype: Datatype): OrtType {
  return toOrt[datatype];
}

/** datatypeOf gives the KServe v2 datatype of an onnxruntime type name, or undefined (int4, bfloat16…). */
export function datatypeOf(type: string): Datatype | undefined {
  return fromOrt.get(type);
}

/** specShape turns a session's declared shape into a spec shape: symbolic or unknown dims are -1. */
export function specShape(shape: ReadonlyArray<number | string>): number[] {
  return shape.map((d) => (typeof d === 'number' && d >= 0 ? d : -1));
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const utf8Encoder = new TextEncoder();

type OrtTensorClass = new (type: OrtType, data: unknown, dims: readonly number[]) => OrtTensor;

/**
 * toOrtTensor builds an onnxruntime tensor over the canonical tensor's storage (no copy for
 * numeric types). ONNX string tensors hold text, so BYTES elements must be valid UTF-8.
 */
export function toOrtTensor(ctor: OrtTensorClass, t: Tensor): OrtTensor {
  const type = toOrt[t.datatype];
  if (t.datatype === 'BYTES') {
    const strings = (t.data as Uint8Array[]).map((b, i) => {
      try {
        return utf8.decode(b);
      } catch {
        throw new GatewayError('bad_tensor', `input "${t.name}": element ${i} is not valid UTF-8; ONNX string tensors hold text`);
      }
    });
    return new ctor(type, strings, t.shape);
  }
  return new ctor(type, t.data, t.shape);
}

/**
 * fromOrtTensor reads an onnxruntime output into a canonical tensor whose storage owns its
 * own buffer (safe to transfer to another thread). FP16 comes back as raw half bits.
 */
export function fromOrtTensor(name: string, v: OrtTensor): Tensor {
  const datatype = datatypeOf(v.type);
  if (datatype === undefined) {
    throw new GatewayError('backend_bad_reply', `output "${name}" has type ${v.type}, which the gateway cannot represent`);
  }
  const shape = [...v.dims];
  let data: TensorData;
  if (datatype === 'BYTES') data = (v.data as string[]).map((s) => utf8Encoder.encode(s));
  else {
    const src = v.data as ArrayBufferView;
    // Float16Array (when the runtime has it) and any view sharing a larger buffer are copied
    // into a fresh array of the canonical class, so the transfer moves exactly this tensor.
    const bytes = new Uint8Array(src.buffer, src.byteOffset, src.byteLength).slice();
    data = canonicalView(datatype, bytes.buffer);
  }
  return { name, datatype, shape, data };
}

function canonicalView(datatype: Datatype, buf: ArrayBuffer): TensorData {
  switch (datatype) {
    case 'FP32': return new Float32Array(buf);
    case 'FP64': return new Float64Array(buf);
    case 'FP16': case 'UINT16': return new Uint16Array(buf);
    case 'INT8': return new Int8Array(buf);
    case 'INT16': return new Int16Array(buf);
    case 'INT32': return new Int32Array(buf);
    case 'UINT32': return new Uint32Array(buf);
    case 'INT64': return new BigInt64Array(buf);
    case 'UINT64': return new BigUint64Array(buf);
    default: return new Uint8Array(buf); // BOOL, UINT8
  }
}

/**
 * transferables lists the buffers of tensors whose storage can be moved to another thread:
 * only numeric arrays that own their whole buffer (never a slice of a pooled Buffer).
 */
export function transferables(tensors: readonly Tensor[]): ArrayBuffer[] {
  const out: ArrayBuffer[] = [];
  for (const t of tensors) {
    if (Array.isArray(t.data)) continue;
    const view = t.data as ArrayBufferView;
    const buf = view.buffer;
    if (buf instanceof ArrayBuffer && view.byteOffset === 0 && view.byteLength === buf.byteLength && !out.includes(buf)) out.push(buf);
  }
  return out;
}
