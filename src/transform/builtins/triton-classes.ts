// triton-classes.ts — Triton's classification form of an output, written by the topk step (on
// tensors) and by the classification stage: a BYTES tensor whose elements are
// "<value>:<index>" or "<value>:<index>:<label>", the k highest values of each batch row.
// https://github.com/triton-inference-server/server/blob/main/docs/protocol/extension_classification.md
//
// As Triton writes it (src/classification.cc and the HTTP/gRPC response writers):
// - the value is C++ std::to_string of the output's own type: six decimals for floats
//   (printf "%f"), plain digits for integers;
// - a tensor of rank ≥ 2 has its batch in dim 0: each batch row (all its other dims together)
//   gives min(k, elements per row) strings, shape [batch, that count]; a tensor of rank 0 or 1 is
//   one row, shape [min(k, elements)]. (Triton decides "has a batch dim" from the model config's
//   max_batch_size; the gateway cannot see that for every backend and goes by the rank.)
// - a label is added where the model has one for that index; an index past the labels gets none.

import { halfToFloat } from '../../tensors/datatype.ts';
import type { Tensor } from '../../tensors/tensor.ts';
import { numbersOf, topOrder } from './scores.ts';

const utf8 = new TextEncoder();

/**
 * classificationTensor gives Triton's classification form of a numeric output `t` (same name):
 * the k highest values of each batch row, highest first (ties: lower index first), labelled
 * from `labels` where an index has one. The caller checks that `t` is numeric.
 */
export function classificationTensor(t: Tensor, k: number, labels?: readonly string[]): Tensor {
  const values = numbersOf(t);
  const total = values.length;
  const batched = t.shape.length >= 2;
  const rows = batched ? t.shape[0]! : 1;
  const width = rows === 0 ? 0 : total / rows;
  const count = Math.min(k, width);
  const data: Uint8Array[] = new Array(rows * count);
  for (let r = 0; r < rows; r++) {
    const start = r * width;
    const order = topOrder(values, start, width, count);
    for (let j = 0; j < count; j++) {
      const index = order[j]!;
      const label = labels !== undefined && index < labels.length ? `:${labels[index]}` : '';
      data[r * count + j] = utf8.encode(`${valueText(t, start + index)}:${index}${label}`);
    }
  }
  return { name: t.name, datatype: 'BYTES', shape: batched ? [rows, count] : [count], data };
}

// valueText writes element i as std::to_string would for the tensor's C++ type.
function valueText(t: Tensor, i: number): string {
  switch (t.datatype) {
    case 'FP16': return fixedSix(halfToFloat((t.data as Uint16Array)[i]!));
    case 'FP32':
    case 'FP64': return fixedSix((t.data as Float64Array)[i]!);
    default: return String((t.data as Int32Array | BigInt64Array)[i]!);
  }
}

/**
 * fixedSix writes x as printf("%f") does: six decimals, rounded to nearest on the exact binary
 * value, ties to even. JavaScript's toFixed rounds a tie away from zero instead; the only
 * doubles exactly halfway between two six-decimal numbers are the odd multiples of 1/128
 * (x·10^6 = n + ½ needs x = odd/2^7), so those are rounded here by hand. NaN and infinities
 * are written as glibc writes them.
 */
export function fixedSix(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  const sign = x < 0 || Object.is(x, -0) ? '-' : '';
  const m = Math.abs(x);
  // Beyond 2^53 every double is an integer, and toFixed would switch to exponent notation at 1e21.
  if (m >= 2 ** 53) return `${sign}${BigInt(m)}.000000`;
  const eighths = m * 128;
  if (Number.isInteger(eighths) && eighths % 2 === 1) {
    // m·10^6 = eighths·15625/2 = low + ½, in BigInt so no digit is lost.
    const low = (BigInt(eighths) * 15625n - 1n) / 2n;
    const micros = low % 2n === 0n ? low : low + 1n;
    const digits = String(micros).padStart(7, '0');
    return `${sign}${digits.slice(0, -6)}.${digits.slice(-6)}`;
  }
  return `${sign}${m.toFixed(6)}`;
}
