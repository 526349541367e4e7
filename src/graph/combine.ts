// combine.ts (graph) — how an ensemble merges its members' answers: `mean` (element-wise, of the
// float outputs of one name, or of numeric predictions), `concat` (along the last axis, or each
// row's predictions as a list) and `vote` (vote.ts). Members answer in one form: all tensors or
// all rows; anything they disagree on is a 500 naming the member.

import { GatewayError } from '../errors.ts';
import { allocate, floatToHalf, toJsonValues, type TensorData } from '../tensors/datatype.ts';
import { elementCount } from '../tensors/shape.ts';
import type { InferResponse, ModelMetadata, Tensor, TensorSpec } from '../tensors/tensor.ts';
import type { Combine } from './schema.ts';
import { vote, voteOutputs } from './vote.ts';

/** Member is one member's answer, named. */
export interface Member { model: string; response: InferResponse }

/** combine merges the answers of the members that answered (in member order) into one. */
export function combine(kind: Combine, members: Member[], graph: string): InferResponse {
  const fail = (message: string): GatewayError => new GatewayError('internal', `graph "${graph}": cannot ${kind} the answers: ${message}`);
  const tensors = members.every((m) => m.response.outputs !== undefined);
  if (!tensors && !members.every((m) => m.response.predictions !== undefined)) {
    throw fail(`members answered in different forms (${members.map((m) => `"${m.model}": ${m.response.outputs !== undefined ? 'outputs' : 'predictions'}`).join(', ')})`);
  }
  if (!tensors) {
    const rows = members.map((m) => m.response.predictions!);
    rows.forEach((r, k) => { if (r.length !== rows[0]!.length) throw fail(`"${members[k]!.model}" gave ${r.length} predictions, "${members[0]!.model}" ${rows[0]!.length}`); });
    const perRow = rows[0]!.map((_, i) => rows.map((r) => r[i]));
    if (kind === 'concat') return { predictions: perRow };
    if (kind === 'vote') return { predictions: vote.rows(perRow, fail) };
    return { predictions: perRow.map((values, i) => meanValue(values, `prediction ${i}`, members, fail)) };
  }
  if (kind === 'vote') return { outputs: vote.tensors(members, fail) };
  const first = members[0]!.response.outputs!;
  const chosen = kind === 'mean' ? first.filter((t) => isFloat(t.datatype)) : first;
  if (chosen.length === 0) throw fail(`"${members[0]!.model}" gave no float output to average (${first.map((t) => `"${t.name}" ${t.datatype}`).join(', ')}); vote suits labels`);
  return {
    outputs: chosen.map((t) => {
      const same = members.map((m) => {
        const o = m.response.outputs!.find((x) => x.name === t.name);
        if (o === undefined) throw fail(`"${m.model}" gave no output "${t.name}"`);
        return o;
      });
      return kind === 'mean' ? meanTensor(same, members, fail) : concatTensor(same, members, fail);
    }),
  };
}

/** combinedOutputs is the outputs metadata an ensemble answers with, from its members' metadata. */
export function combinedOutputs(kind: Combine, metas: ModelMetadata[]): TensorSpec[] {
  const first = metas[0]?.outputs ?? [];
  if (kind === 'vote') return voteOutputs(first);
  if (kind === 'mean') return first.filter((s) => isFloat(s.datatype));
  return first.map((s) => {
    const lasts = metas.map((m) => m.outputs.find((o) => o.name === s.name)?.shape.at(-1) ?? -1);
    const known = lasts.every((d) => d >= 0);
    return { ...s, shape: [...s.shape.slice(0, -1), known ? lasts.reduce((a, b) => a + b, 0) : -1] };
  });
}

/** isFloat says whether a datatype is one `mean` averages. */
export function isFloat(datatype: string): boolean {
  return datatype === 'FP16' || datatype === 'FP32' || datatype === 'FP64';
}

type Fail = (message: string) => GatewayError;

function checkShapes(same: Tensor[], members: Member[], fail: Fail, upTo: number): void {
  const shape = same[0]!.shape;
  same.forEach((t, k) => {
    const differs = t.shape.length !== shape.length || t.shape.slice(0, upTo).some((d, j) => d !== shape[j]);
    if (differs) throw fail(`output "${t.name}" of "${members[k]!.model}" is [${t.shape.join(', ')}], of "${members[0]!.model}" [${shape.join(', ')}]`);
  });
}

function meanTensor(same: Tensor[], members: Member[], fail: Fail): Tensor {
  const t0 = same[0]!;
  checkShapes(same, members, fail, t0.shape.length);
  same.forEach((t, k) => { if (!isFloat(t.datatype)) throw fail(`output "${t.name}" of "${members[k]!.model}" is ${t.datatype}, not a float`); });
  const n = elementCount(t0.shape);
  const sum = new Float64Array(n);
  for (const t of same) {
    const values = t.datatype === 'FP16' ? toJsonValues('FP16', t.data) as number[] : t.data as Float32Array | Float64Array;
    for (let i = 0; i < n; i++) sum[i]! += values[i] as number;
  }
  const data = allocate(t0.datatype, n) as Float32Array | Float64Array | Uint16Array;
  for (let i = 0; i < n; i++) data[i] = t0.datatype === 'FP16' ? floatToHalf(sum[i]! / same.length) : sum[i]! / same.length;
  return { name: t0.name, datatype: t0.datatype, shape: t0.shape, data };
}

function concatTensor(same: Tensor[], members: Member[], fail: Fail): Tensor {
  const t0 = same[0]!;
  if (t0.shape.length === 0) throw fail(`output "${t0.name}" is a scalar, with no last axis to concatenate along`);
  checkShapes(same, members, fail, t0.shape.length - 1);
  same.forEach((t, k) => { if (t.datatype !== t0.datatype) throw fail(`output "${t.name}" of "${members[k]!.model}" is ${t.datatype}, of "${members[0]!.model}" ${t0.datatype}`); });
  const outer = elementCount(t0.shape.slice(0, -1));
  const lasts = same.map((t) => t.shape.at(-1)!);
  const width = lasts.reduce((a, b) => a + b, 0);
  const data = allocate(t0.datatype, outer * width);
  let at = 0;
  for (let o = 0; o < outer; o++) {
    same.forEach((t, k) => {
      const w = lasts[k]!;
      copy(t.data, o * w, w, data, at);
      at += w;
    });
  }
  return { name: t0.name, datatype: t0.datatype, shape: [...t0.shape.slice(0, -1), width], data };
}

function copy(from: TensorData, start: number, count: number, to: TensorData, at: number): void {
  if (Array.isArray(from)) {
    for (let i = 0; i < count; i++) (to as Uint8Array[])[at + i] = from[start + i]!;
    return;
  }
  (to as Float64Array).set((from as Float64Array).subarray(start, start + count), at);
}

// meanValue averages one row's predictions: numbers, lists of them, objects of them (by field);
// a value that is not a number (a string, a flag) is kept when every member gave the same one.
function meanValue(values: unknown[], where: string, members: Member[], fail: Fail, depth = 0): unknown {
  const v0 = values[0];
  if (depth > 32) throw fail(`${where} nests deeper than 32`);
  if (values.every((v) => typeof v === 'number')) return (values as number[]).reduce((a, b) => a + b, 0) / values.length;
  if (Array.isArray(v0)) {
    values.forEach((v, k) => { if (!Array.isArray(v) || v.length !== v0.length) throw fail(`${where} of "${members[k]!.model}" does not have the shape of "${members[0]!.model}"'s`); });
    return v0.map((_, j) => meanValue(values.map((v) => (v as unknown[])[j]), `${where}[${j}]`, members, fail, depth + 1));
  }
  if (typeof v0 === 'object' && v0 !== null) {
    const keys = Object.keys(v0);
    values.forEach((v, k) => {
      if (typeof v !== 'object' || v === null || Array.isArray(v) || !keys.every((key) => Object.hasOwn(v, key))) {
        throw fail(`${where} of "${members[k]!.model}" lacks fields of "${members[0]!.model}"'s (${keys.join(', ')})`);
      }
    });
    return Object.fromEntries(keys.map((key) => [key, meanValue(values.map((v) => (v as Record<string, unknown>)[key]), `${where}.${key}`, members, fail, depth + 1)]));
  }
  if (values.every((v) => v === v0)) return v0;
  throw fail(`${where}: the members gave values that are neither all numbers nor all the same`);
}
