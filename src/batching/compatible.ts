// compatible.ts — which requests may share a batch: the same form (rows or tensors), the same
// input names, datatypes and non-batch dims, the same parameters and output selection
// (Triton's equal-shape rule; MLServer shape.py).

import { rowBlockOf } from '../tensors/row-block.ts';
import type { InferRequest, Parameters } from '../tensors/tensor.ts';

// Wire artefacts that differ per request without changing what the model computes.
const encodingOnly = new Set(['binary_data_size']);

/**
 * batchKey gives a string that is equal for two requests exactly when their rows can be
 * concatenated into one backend call and the answer split back without changing either.
 * The request must have passed countRows.
 */
export function batchKey(req: InferRequest): string {
  const outputs = req.outputs?.map((o) => [o.name, canonical(o.parameters)]) ?? null;
  const parameters = canonical(req.parameters);
  const block = rowBlockOf(req);
  if (block !== undefined) return JSON.stringify(['rows', blockForm(block.shape), parameters, outputs], bigintSafe);
  if (req.instances !== undefined) {
    // Rows of another shape (or other input names) would fail the whole merged call: a
    // request's rows must agree with one another, and only requests of one row form share.
    const form = rowForm(req.instances[0]);
    for (let i = 1; i < req.instances.length; i++) {
      if (rowForm(req.instances[i]) !== form) return `alone:${++alone}`;
    }
    return JSON.stringify(['rows', form, parameters, outputs], bigintSafe);
  }
  const inputs = req.inputs!
    .map((t) => [t.name, t.datatype, t.shape.slice(1), canonical(withoutEncoding(t.parameters))] as const)
    .sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
  return JSON.stringify(['tensors', inputs, parameters, outputs], bigintSafe);
}

let alone = 0;

// rowForm describes a row's shape cheaply: for an array, its length and the form of its first
// element (so [[1,2],[3,4]] is "2[2[n]]"); for an object, its keys and their forms; a leaf's
// kind. A ragged row is not caught here, and fails with its batch at the backend's check.
function rowForm(row: unknown): string {
  if (Array.isArray(row)) return `${row.length}[${row.length === 0 ? '' : rowForm(row[0])}]`;
  if (row !== null && typeof row === 'object') {
    if ('b64' in row && Object.keys(row).length === 1) return 'b64';
    return `{${Object.keys(row).sort().map((k) => `${JSON.stringify(k)}:${rowForm((row as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return typeof row === 'number' || typeof row === 'bigint' ? 'n' : typeof row;
}

// blockForm is rowForm of every row of a block: [2, 3, 4] gives "3[4[n]]".
function blockForm(shape: number[]): string {
  let form = 'n';
  for (let d = shape.length - 1; d >= 1; d--) form = `${shape[d]}[${form}]`;
  return form;
}

function withoutEncoding(p: Parameters | undefined): Parameters | undefined {
  if (p === undefined) return undefined;
  const kept = Object.entries(p).filter(([k]) => !encodingOnly.has(k));
  return kept.length === 0 ? undefined : Object.fromEntries(kept);
}

// canonical sorts object keys at every level so {a, b} and {b, a} give the same key. Objects
// and arrays are tagged so neither can pass for the other ({a: 1} is not [["a", 1]], {} is not
// null); only an absent or empty parameters object at the top counts as none.
function canonical(value: unknown): unknown {
  if (value === undefined || value === null) return null;
  if (typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length === 0) return null;
  return tagged(value);
}

function tagged(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value ?? null;
  if (Array.isArray(value)) return ['[]', ...value.map(tagged)];
  return ['{}', ...Object.keys(value).sort().map((k) => [k, tagged((value as Record<string, unknown>)[k])])];
}

function bigintSafe(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? `${value}n` : value;
}
