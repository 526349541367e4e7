// row-answer.ts — a backend's answer to rows, whose predictions are made from its output tensors
// only when something reads them. Most answers are one FP32 output that nothing between the
// backend and the frontend looks into: the frontend then writes its rows straight from the
// Float32Array (predictions-json.ts, tensorPredictionsJson), and the JS arrays of 64 rows are
// never built nor walked. Anything that reads or sets `predictions` (a transform, the batcher,
// a spread copy, structuredClone) gets plain arrays, made once, and the answer is an ordinary
// one from then on.

import type { InferResponse, Tensor } from '../tensors/tensor.ts';
import { tensorsToPredictions } from './instances.ts';

// An answer's FP32 output while nobody has read or set its predictions, and the predictions once
// made: slots no spread or structuredClone copies (not enumerable), so a copy is an ordinary
// answer. (A WeakMap of the unread answers cost the garbage collector ~50 µs a request.)
const unread = Symbol('unread rows');
const made = Symbol('predictions');
interface Slots { [unread]?: Tensor | undefined; [made]?: unknown[] | undefined }

// The accessors every rowAnswer shares: reading or setting the predictions ends the unread state.
function getPredictions(this: InferResponse & Slots): unknown[] | undefined {
  const t = this[unread];
  if (t !== undefined) {
    this[unread] = undefined;
    this[made] = tensorsToPredictions([t]);
  }
  return this[made];
}
function setPredictions(this: InferResponse & Slots, value: unknown[] | undefined): void {
  this[unread] = undefined;
  this[made] = value;
}

/**
 * rowAnswer gives the answer to a rows request whose model gave these outputs: `predictions`
 * as tensorsToPredictions(outputs) gives them. Only a single FP32 output's are made late, which
 * tensorsToPredictions cannot refuse; for any other outputs it runs at once, so the backend
 * still answers for its own bad reply (outputs of unequal rows).
 */
export function rowAnswer(outputs: Tensor[]): InferResponse {
  const t = outputs.length === 1 ? outputs[0]! : undefined;
  if (t === undefined || t.datatype !== 'FP32' || t.shape.length === 0 || !(t.data instanceof Float32Array) || !wholeShape(t)) {
    return { predictions: tensorsToPredictions(outputs) };
  }
  const res = {} as InferResponse & Slots;
  Object.defineProperty(res, unread, { value: t, writable: true });
  Object.defineProperty(res, made, { value: undefined, writable: true });
  Object.defineProperty(res, 'predictions', { get: getPredictions, set: setPredictions, enumerable: true, configurable: true });
  return res;
}

/** unreadRows gives the FP32 output of a rowAnswer whose predictions nobody has read or set. */
export function unreadRows(res: InferResponse): Tensor | undefined {
  const t = (res as Slots)[unread];
  // Deleted (and perhaps set again as a plain value): the tensor is no longer the answer's rows.
  if (t === undefined || Object.getOwnPropertyDescriptor(res, 'predictions')?.get !== getPredictions) return undefined;
  return t;
}

/** rowCount is how many predictions a rowAnswer holds, without making them. */
export function rowCount(res: InferResponse): number {
  const t = unreadRows(res);
  return t === undefined ? (res.predictions ?? []).length : t.shape[0]!;
}

// wholeShape says the data holds exactly the shape's elements, as the writer from the tensor
// assumes; anything else keeps the arrays tensorsToPredictions makes of it.
function wholeShape(t: Tensor): boolean {
  let n = 1;
  for (const d of t.shape) {
    if (!Number.isInteger(d) || d < 0) return false;
    n *= d;
  }
  return n === (t.data as Float32Array).length;
}
