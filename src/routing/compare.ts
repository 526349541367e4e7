// compare.ts — compares a shadow's answer with the primary's, one prediction (row) at a time:
// labels must be equal, score vectors must have the same argmax, scalars must be within the
// tolerance ("auto"), or every number within the tolerance ("values"). The largest absolute
// difference between paired numbers is reported in both modes. Pure: no I/O, no metrics.

import { toJsonValues } from '../tensors/datatype.ts';
import type { InferResponse } from '../tensors/tensor.ts';

/** AgreementMode says when two predictions agree (see the shadow config's `agreement`). */
export type AgreementMode = 'auto' | 'values';

/** Comparison is the outcome for one pair of answers. */
export interface Comparison {
  /** Predictions (rows) of the primary answer. */
  predictions: number;
  /** Those the shadow agreed with. */
  agreed: number;
  /** Largest absolute difference between paired numbers; 0 when none were paired. */
  maxAbsDiff: number;
  /** Why nothing could be paired (different forms, row counts or outputs), when so. */
  mismatch?: string;
}

// A prediction is its fields (object keys or output names), each a flat list of leaf values.
type Prediction = Map<string, unknown[]>;

/** comparePredictions compares two answers to the same request. */
export function comparePredictions(primary: InferResponse, shadow: InferResponse, opts: { tolerance: number; agreement: AgreementMode }): Comparison {
  const a = rowsOf(primary);
  const b = rowsOf(shadow);
  if (typeof a === 'string') return { predictions: 0, agreed: 0, maxAbsDiff: 0, mismatch: `primary: ${a}` };
  if (typeof b === 'string') return { predictions: a.length, agreed: 0, maxAbsDiff: 0, mismatch: `shadow: ${b}` };
  if (a.length !== b.length) {
    return { predictions: a.length, agreed: 0, maxAbsDiff: 0, mismatch: `${a.length} predictions from the primary, ${b.length} from the shadow` };
  }
  let agreed = 0;
  let maxAbsDiff = 0;
  for (let i = 0; i < a.length; i++) {
    const r = comparePrediction(a[i]!, b[i]!, opts);
    if (r.agree) agreed++;
    if (r.diff > maxAbsDiff) maxAbsDiff = r.diff;
  }
  return { predictions: a.length, agreed, maxAbsDiff };
}

function comparePrediction(a: Prediction, b: Prediction, opts: { tolerance: number; agreement: AgreementMode }): { agree: boolean; diff: number } {
  // One field on each side (a single output, or a bare prediction) pairs whatever its name.
  const pairs: Array<[unknown[], unknown[] | undefined]> = a.size === 1 && b.size === 1
    ? [[[...a.values()][0]!, [...b.values()][0]]]
    : [...a].map(([name, leaves]) => [leaves, b.get(name)]);
  let agree = a.size === b.size || (a.size === 1 && b.size === 1);
  let diff = 0;
  for (const [x, y] of pairs) {
    if (y === undefined) { agree = false; continue; }
    const r = compareField(x, y, opts);
    agree &&= r.agree;
    if (r.diff > diff) diff = r.diff;
  }
  return { agree, diff };
}

function compareField(x: unknown[], y: unknown[], opts: { tolerance: number; agreement: AgreementMode }): { agree: boolean; diff: number } {
  if (x.length !== y.length) return { agree: false, diff: 0 };
  let diff = 0;
  let allEqual = true;
  let numeric = true;
  for (let i = 0; i < x.length; i++) {
    const p = x[i];
    const q = y[i];
    if (typeof p === 'number' && typeof q === 'number') {
      const d = Number.isNaN(p) && Number.isNaN(q) ? 0 : p === q ? 0 : Math.abs(p - q);
      const safe = Number.isNaN(d) ? Infinity : d;
      if (safe > diff) diff = safe;
      if (safe > opts.tolerance) allEqual = false;
    } else {
      numeric = false;
      if (!sameLeaf(p, q)) allEqual = false;
    }
  }
  if (opts.agreement === 'auto' && numeric && x.length > 1) {
    return { agree: argmax(x as number[]) === argmax(y as number[]), diff };
  }
  return { agree: allEqual, diff };
}

function sameLeaf(p: unknown, q: unknown): boolean {
  if (p === q) return true;
  if (typeof p === 'object' && p !== null && typeof q === 'object' && q !== null) return JSON.stringify(p) === JSON.stringify(q);
  return false;
}

function argmax(values: number[]): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
  return best;
}

// rowsOf turns an answer into its predictions, or says why it cannot.
function rowsOf(res: InferResponse): Prediction[] | string {
  if (res.predictions !== undefined) return res.predictions.map(fieldsOf);
  if (res.outputs === undefined || res.outputs.length === 0) return 'no predictions or outputs';
  const rows = res.outputs[0]!.shape[0] ?? 1;
  const out: Prediction[] = Array.from({ length: rows }, () => new Map());
  for (const t of res.outputs) {
    if ((t.shape[0] ?? 1) !== rows) return `output ${t.name} has ${t.shape[0]} rows, ${res.outputs[0]!.name} has ${rows}`;
    const values = toJsonValues(t.datatype, t.data).map(leafOf);
    const width = rows === 0 ? 0 : values.length / rows;
    for (let i = 0; i < rows; i++) out[i]!.set(t.name, values.slice(i * width, (i + 1) * width));
  }
  return out;
}

function fieldsOf(prediction: unknown): Prediction {
  if (prediction !== null && typeof prediction === 'object' && !Array.isArray(prediction)) {
    return new Map(Object.entries(prediction).map(([k, v]) => [k, flatten(v)]));
  }
  return new Map([['', flatten(prediction)]]);
}

function flatten(value: unknown, into: unknown[] = []): unknown[] {
  if (Array.isArray(value)) for (const v of value) flatten(v, into);
  else into.push(leafOf(value));
  return into;
}

function leafOf(value: unknown): unknown {
  return typeof value === 'bigint' ? Number(value) : value;
}
