// scores.ts — a model's scores as the postprocess built-ins (labels, softmax, topk) and the
// classification stage read them: any numeric tensor as plain numbers in rows along its last
// axis, the argmax of a row, and a row's top-k order (ties: the lower index first).

import { halfToFloat, type Datatype } from '../../tensors/datatype.ts';
import type { Tensor } from '../../tensors/tensor.ts';

const integerTypes: ReadonlySet<Datatype> = new Set(['UINT8', 'UINT16', 'UINT32', 'UINT64', 'INT8', 'INT16', 'INT32', 'INT64']);
const floatTypes: ReadonlySet<Datatype> = new Set(['FP16', 'FP32', 'FP64']);

/** isFloatType says whether a datatype holds floating-point scores (FP16, FP32, FP64). */
export function isFloatType(datatype: Datatype): boolean {
  return floatTypes.has(datatype);
}

/** isIntegerType says whether a datatype holds integers (class indices, or quantized scores). */
export function isIntegerType(datatype: Datatype): boolean {
  return integerTypes.has(datatype);
}

/** isNumericType says whether a datatype holds numbers that can be ranked (not BOOL, not BYTES). */
export function isNumericType(datatype: Datatype): boolean {
  return floatTypes.has(datatype) || integerTypes.has(datatype);
}

/**
 * numbersOf gives a numeric tensor's elements as plain numbers: the storage itself where it
 * already is (FP32, FP64, the 8–32-bit integers), a converted copy for FP16 (IEEE half bits)
 * and INT64/UINT64 (BigInt; beyond 2^53 they are rounded, which ranks them close enough).
 */
export function numbersOf(t: Tensor): ArrayLike<number> {
  if (t.datatype === 'FP16') return Float64Array.from(t.data as Uint16Array, halfToFloat);
  if (t.datatype === 'INT64' || t.datatype === 'UINT64') return Float64Array.from(t.data as BigInt64Array, Number);
  return t.data as Float64Array;
}

/** RowLayout is a tensor seen as rows along its last axis: a scalar or a 1-D tensor is one row. */
export interface RowLayout {
  rows: number;
  width: number;
}

/** rowsAlongLastAxis gives the rows × width a tensor of this shape splits into. */
export function rowsAlongLastAxis(shape: readonly number[]): RowLayout {
  if (shape.length === 0) return { rows: 1, width: 1 };
  let rows = 1;
  for (let i = 0; i < shape.length - 1; i++) rows *= shape[i]!;
  return { rows, width: shape[shape.length - 1]! };
}

// Descending order for ranking: NaN below every number, so it never wins a row.
function higher(a: number, b: number): number {
  if (a === b) return 0;
  if (Number.isNaN(a)) return Number.isNaN(b) ? 0 : 1;
  if (Number.isNaN(b)) return -1;
  return a > b ? -1 : 1;
}

/** argmax gives the index (0-based within the row) of the highest of values[start, start+width); the first on ties, 0 for an empty or all-NaN row. */
export function argmax(values: ArrayLike<number>, start: number, width: number): number {
  let best = 0;
  for (let i = 1; i < width; i++) if (higher(values[start + i]!, values[start + best]!) < 0) best = i;
  return best;
}

/** topOrder gives the indices (within the row) of the k highest of values[start, start+width), highest first, ties by lower index. */
export function topOrder(values: ArrayLike<number>, start: number, width: number, k: number): number[] {
  const order = Array.from({ length: width }, (_, i) => i);
  order.sort((a, b) => higher(values[start + a]!, values[start + b]!) || a - b);
  return k < width ? order.slice(0, k) : order;
}
