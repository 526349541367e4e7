// row-answer.ts — a backend's answer to rows, whose predictions are made from its output tensors
// only when something reads them. Most answers are one FP32 output that nothing between the
// backend and the frontend looks into: the frontend then writes its rows straight from the
// Float32Array (predictions-json.ts, tensorPredictionsJson), and the JS arrays of 64 rows are
// never built nor walked. Anything that reads or sets `predictions` (a transform, the batcher,
// a spread copy, structuredClone) gets plain arrays, made once, and the answer is an ordinary
// one from then on.

import type { InferResponse, Tensor } from '../tensors/tensor.ts';
import { elementCount, isValidShape } from '../tensors/shape.ts';
import { tensorsToPredictions } from './instances.ts';

// RowAnswer holds its FP32 output while nobody has read or set its predictions, and the
// predictions once made, in private fields: no spread or structuredClone copies them, so a copy
// is an ordinary answer. `predictions` is an own accessor (defined per answer, so a spread reads
// it), over functions every answer shares. (A WeakMap of the unread answers cost the garbage
// collector ~50 µs a request; symbol slots, each its own defineProperty, 0.45–0.64 µs an
// answer in isolation where this takes 0.28–0.32.)
const accessor = {
  get(this: RowAnswer): unknown[] | undefined { return RowAnswer.get(this); },
  set(this: RowAnswer, value: unknown[] | undefined): void { RowAnswer.set(this, value); },
  enumerable: true,
  configurable: true,
};

class RowAnswer {
  #unread: Tensor | undefined;
  #made: unknown[] | undefined;

  constructor(t: Tensor) {
    this.#unread = t;
    Object.defineProperty(this, 'predictions', accessor);
  }

  static get(this: void, res: RowAnswer): unknown[] | undefined {
    const t = res.#unread;
    if (t !== undefined) {
      res.#unread = undefined;
      res.#made = tensorsToPredictions([t]);
    }
    return res.#made;
  }

  static set(this: void, res: RowAnswer, value: unknown[] | undefined): void {
    res.#unread = undefined;
    res.#made = value;
  }

  /** The tensor while unread, and while `predictions` is still this accessor (not deleted). */
  static unread(res: InferResponse): Tensor | undefined {
    if (!(#unread in res) || res.#unread === undefined) return undefined;
    return Object.getOwnPropertyDescriptor(res, 'predictions')?.get === accessor.get ? res.#unread : undefined;
  }
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
  return new RowAnswer(t) as InferResponse;
}

/** unreadRows gives the FP32 output of a rowAnswer whose predictions nobody has read or set. */
export function unreadRows(res: InferResponse): Tensor | undefined {
  return RowAnswer.unread(res);
}

/** rowCount is how many predictions a rowAnswer holds, without making them. */
export function rowCount(res: InferResponse): number {
  const t = unreadRows(res);
  return t === undefined ? (res.predictions ?? []).length : t.shape[0]!;
}

// wholeShape says the data holds exactly the shape's elements, as the writer from the tensor
// assumes; anything else keeps the arrays tensorsToPredictions makes of it.
function wholeShape(t: Tensor): boolean {
  return isValidShape(t.shape) && elementCount(t.shape) === t.data.length;
}
