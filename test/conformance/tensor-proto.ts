// tensor-proto.ts — reads the ONNX backend test data: a model's graph inputs and outputs, and
// the TensorProto files (input_N.pb, output_N.pb) into canonical tensors. onnx-proto gives
// the schema. https://github.com/onnx/onnx/blob/main/onnx/onnx.proto (TensorProto)

import { readFileSync } from 'node:fs';
import onnxProto from 'onnx-proto';
import type { Datatype, TensorData } from '../../src/tensors/datatype.ts';
import type { Tensor } from '../../src/tensors/tensor.ts';

const { onnx } = onnxProto;

const byCode: Record<number, Datatype> = {
  1: 'FP32', 2: 'UINT8', 3: 'INT8', 4: 'UINT16', 5: 'INT16', 6: 'INT32', 7: 'INT64', 8: 'BYTES',
  9: 'BOOL', 10: 'FP16', 11: 'FP64', 12: 'UINT32', 13: 'UINT64',
};
const codeNames: Record<number, string> = { 14: 'COMPLEX64', 15: 'COMPLEX128', 16: 'BFLOAT16', 17: 'FLOAT8E4M3FN', 18: 'FLOAT8E4M3FNUZ', 19: 'FLOAT8E5M2', 20: 'FLOAT8E5M2FNUZ', 21: 'UINT4', 22: 'INT4' };

/** GraphIo lists a model's real inputs (initializers excluded) and outputs, with why one cannot be served. */
export interface GraphIo {
  inputs: string[];
  outputs: string[];
  /** Set when an input or output is not a tensor of a datatype the gateway carries. */
  unsupported?: string;
}

/** readGraphIo decodes model.onnx far enough to list its inputs and outputs. */
export function readGraphIo(path: string): GraphIo {
  const model = onnx.ModelProto.decode(readFileSync(path));
  const graph = model.graph!;
  const inits = new Set((graph.initializer ?? []).map((t) => t.name));
  const inputs = (graph.input ?? []).filter((v) => !inits.has(v.name));
  let unsupported: string | undefined;
  for (const v of [...inputs, ...(graph.output ?? [])]) {
    const tt = v.type?.tensorType;
    if (tt === undefined || tt === null) unsupported ??= `"${v.name}" is not a tensor (sequence, map or optional)`;
    else if (byCode[tt.elemType ?? 0] === undefined) unsupported ??= `"${v.name}" is ${codeNames[tt.elemType ?? 0] ?? `type ${tt.elemType}`}`;
  }
  return { inputs: inputs.map((v) => v.name!), outputs: (graph.output ?? []).map((v) => v.name!), ...(unsupported === undefined ? {} : { unsupported }) };
}

/** readTensorProto reads one .pb file into a canonical tensor named `name`. */
export function readTensorProto(path: string, name: string): Tensor {
  const t = onnx.TensorProto.decode(readFileSync(path));
  const datatype = byCode[t.dataType ?? 0];
  if (datatype === undefined) throw new Error(`${path}: data type ${codeNames[t.dataType ?? 0] ?? t.dataType} is not carried by the gateway`);
  const shape = (t.dims ?? []).map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  return { name, datatype, shape, data: dataOf(t, datatype, count) };
}

function dataOf(t: onnxProto.onnx.TensorProto, datatype: Datatype, count: number): TensorData {
  if (datatype === 'BYTES') return (t.stringData ?? []).map((b) => Uint8Array.from(b));
  const raw = t.rawData;
  if (raw !== undefined && raw !== null && raw.length > 0) {
    const copy = Uint8Array.from(raw).buffer; // aligned, owned
    switch (datatype) {
      case 'FP32': return new Float32Array(copy);
      case 'FP64': return new Float64Array(copy);
      case 'FP16': case 'UINT16': return new Uint16Array(copy);
      case 'INT8': return new Int8Array(copy);
      case 'INT16': return new Int16Array(copy);
      case 'INT32': return new Int32Array(copy);
      case 'UINT32': return new Uint32Array(copy);
      case 'INT64': return new BigInt64Array(copy);
      case 'UINT64': return new BigUint64Array(copy);
      default: return new Uint8Array(copy);
    }
  }
  const big = (v: unknown): bigint => BigInt(String(v));
  switch (datatype) {
    case 'FP32': return Float32Array.from(t.floatData ?? []);
    case 'FP64': return Float64Array.from(t.doubleData ?? []);
    case 'INT64': return BigInt64Array.from((t.int64Data ?? []).map(big));
    case 'UINT64': return BigUint64Array.from((t.uint64Data ?? []).map(big));
    case 'UINT32': return Uint32Array.from((t.uint64Data ?? []).map(Number));
    case 'FP16': case 'UINT16': return Uint16Array.from(t.int32Data ?? []);
    case 'INT8': return Int8Array.from(t.int32Data ?? []);
    case 'INT16': return Int16Array.from(t.int32Data ?? []);
    case 'INT32': return Int32Array.from(t.int32Data ?? []);
    default: return Uint8Array.from((t.int32Data ?? []).slice(0, count)); // BOOL, UINT8
  }
}
