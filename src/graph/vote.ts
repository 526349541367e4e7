// vote.ts (graph) — the `vote` combine of an ensemble: each member's class per row, the majority
// wins, and a tie goes to the class the earliest member gave. A member's class is its label (an
// integer, string or boolean output of one value per row; a scalar prediction; the first such
// field of an object prediction) or, failing that, the argmax of its scores (a float output of
// rank 2; a list of numbers), the lowest index on a tie.

import type { GatewayError } from '../errors.ts';
import { fromJsonValues, toJsonValues } from '../tensors/datatype.ts';
import type { InferResponse, Tensor, TensorSpec } from '../tensors/tensor.ts';

// One member's answer, named (combine.ts's Member).
interface Member { model: string; response: InferResponse }

type Fail = (message: string) => GatewayError;
type Class = number | string | boolean | bigint;

export const vote = {
  /** rows gives the winning class of each row, from each member's prediction of it. */
  rows(perRow: unknown[][], fail: Fail): unknown[] {
    return perRow.map((values, i) => majority(values.map((v, k) => rowClass(v, `prediction ${i} of member ${k + 1}`, fail))));
  },

  /** tensors gives one output of the winning classes: the first member's label output, or "label" (INT64) from scores. */
  tensors(members: Member[], fail: Fail): Tensor[] {
    const perMember = members.map((m) => tensorClasses(m, fail));
    const rows = perMember[0]!.classes.length;
    perMember.forEach((p, k) => { if (p.classes.length !== rows) throw fail(`"${members[k]!.model}" gave ${p.classes.length} rows, "${members[0]!.model}" ${rows}`); });
    const winners = Array.from({ length: rows }, (_, i) => majority(perMember.map((p) => p.classes[i]!)));
    const { name, datatype } = perMember[0]!.label;
    try {
      return [{ name, datatype, shape: [rows], data: fromJsonValues(datatype, winners, `output "${name}"`) }];
    } catch (err) {
      throw fail(`the members' classes do not fit ${datatype}: ${(err as Error).message}`);
    }
  },
};

/** voteOutputs is the output a vote answers with, from the first member's outputs. */
export function voteOutputs(outputs: TensorSpec[]): TensorSpec[] {
  const label = outputs.find(isLabelSpec);
  return [label === undefined ? { name: 'label', datatype: 'INT64', shape: [-1] } : { name: label.name, datatype: label.datatype, shape: [-1] }];
}

function isLabelSpec(s: { datatype: string; shape: number[] }): boolean {
  return !['FP16', 'FP32', 'FP64'].includes(s.datatype) && (s.shape.length === 1 || (s.shape.length === 2 && s.shape[1] === 1));
}

function tensorClasses(m: Member, fail: Fail): { label: { name: string; datatype: Tensor['datatype'] }; classes: Class[] } {
  const outputs = m.response.outputs!;
  const label = outputs.find(isLabelSpec);
  if (label !== undefined) return { label, classes: toJsonValues(label.datatype, label.data) as Class[] };
  const scores = outputs.find((t) => t.shape.length === 2 && ['FP16', 'FP32', 'FP64'].includes(t.datatype));
  if (scores === undefined) {
    throw fail(`"${m.model}" gave no label (one value per row) and no scores (a float output of rank 2): ${outputs.map((t) => `"${t.name}" ${t.datatype} [${t.shape.join(', ')}]`).join(', ')}`);
  }
  const [rows, width] = scores.shape as [number, number];
  const values = toJsonValues(scores.datatype, scores.data) as number[];
  const classes = Array.from({ length: rows }, (_, i) => argmax(values.slice(i * width, (i + 1) * width)));
  return { label: { name: 'label', datatype: 'INT64' }, classes };
}

function rowClass(v: unknown, where: string, fail: Fail): Class {
  if (isClass(v)) return v;
  if (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'number')) return argmax(v as number[]);
  if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
    const fields = Object.values(v);
    const label = fields.find(isClass);
    if (label !== undefined) return label;
    const scores = fields.find((x) => Array.isArray(x) && x.length > 0 && x.every((y) => typeof y === 'number'));
    if (scores !== undefined) return argmax(scores as number[]);
  }
  throw fail(`${where} is neither a class (a number, string or boolean) nor scores (a list of numbers), nor an object holding one`);
}

function isClass(v: unknown): v is Class {
  return typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean' || typeof v === 'bigint';
}

function argmax(v: number[]): number {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i]! > v[best]!) best = i;
  return best;
}

// majority is the class most members gave; among equals, the one the earliest member gave.
function majority(classes: Class[]): Class {
  const counts = new Map<string, { value: Class; count: number; first: number }>();
  classes.forEach((c, k) => {
    const key = `${typeof c}:${String(c)}`;
    const entry = counts.get(key);
    if (entry === undefined) counts.set(key, { value: c, count: 1, first: k });
    else entry.count++;
  });
  let best: { value: Class; count: number; first: number } | undefined;
  for (const e of counts.values()) if (best === undefined || e.count > best.count || (e.count === best.count && e.first < best.first)) best = e;
  return best!.value;
}
