// rows.ts — rows are the batcher's unit: count them, cut a request into row ranges, merge many
// compatible requests into one, and split one answer back per caller along dim 0.

import { GatewayError } from '../errors.ts';
import { arrayClassOf, type TensorData } from '../tensors/datatype.ts';
import { blockRequest, concatBlocks, rowBlockOf, sliceBlock, type RowBlock } from '../tensors/row-block.ts';
import { checkShape, elementCount } from '../tensors/shape.ts';
import type { InferRequest, InferResponse, Tensor } from '../tensors/tensor.ts';

/**
 * countRows gives the rows a request carries (instances, or dim 0 of every input, which must
 * agree) and rejects what cannot be cut into rows: both or neither form (bad_request), a
 * scalar input, data that does not fill its shape, or inputs that disagree (bad_tensor).
 */
export function countRows(req: InferRequest): number {
  const block = rowBlockOf(req);
  if (block !== undefined && req.inputs === undefined) return block.shape[0]!;
  const hasRows = req.instances !== undefined;
  const hasTensors = req.inputs !== undefined;
  if (hasRows === hasTensors) {
    throw new GatewayError('bad_request', 'a request carries either "instances" or "inputs", not both or neither');
  }
  if (hasRows) {
    if (!Array.isArray(req.instances)) throw new GatewayError('bad_request', '"instances" must be an array');
    return req.instances.length;
  }
  const inputs = req.inputs!;
  if (!Array.isArray(inputs) || inputs.length === 0) throw new GatewayError('bad_tensor', 'a request needs at least one input tensor');
  const seen = new Set<string>();
  let rows = -1;
  let first = '';
  for (const t of inputs) {
    if (seen.has(t.name)) throw new GatewayError('bad_tensor', `input "${t.name}" appears twice`);
    seen.add(t.name);
    if (t.shape.length === 0) {
      throw new GatewayError('bad_tensor', `input "${t.name}" is a scalar; batching needs a batch dimension (dim 0)`);
    }
    checkShape(t);
    if (rows < 0) {
      rows = t.shape[0]!;
      first = t.name;
    } else if (t.shape[0] !== rows) {
      throw new GatewayError('bad_tensor',
        `inputs disagree on the batch dimension: "${first}" has ${rows} rows, "${t.name}" has ${t.shape[0]}`);
    }
  }
  return rows;
}

/** sliceRows gives rows [start, end) of a request as a request of its own (no raw body). */
export function sliceRows(req: InferRequest, start: number, end: number): InferRequest {
  const block = rowBlockOf(req);
  if (block !== undefined) return withBlock(req, sliceBlock(block, start, end));
  const { raw: _raw, ...rest } = req;
  if (req.instances !== undefined) return { ...rest, instances: req.instances.slice(start, end) };
  return { ...rest, inputs: req.inputs!.map((t) => sliceTensor(t, start, end)) };
}

/**
 * mergeRows concatenates compatible requests (same batchKey) into one request along dim 0,
 * in order. Tensors are matched by name; parameters and the output selection come from the
 * first request, which batchKey made equal for all.
 */
export function mergeRows(requests: InferRequest[]): InferRequest {
  const first = requests[0];
  if (first === undefined) throw new GatewayError('internal', 'mergeRows needs at least one request');
  const blocks = requests.map(rowBlockOf);
  if (blocks.every((b) => b !== undefined)) {
    // Blocks of one row shape stay a block; batchKey lets only those share a batch.
    const merged = concatBlocks(blocks as RowBlock[]);
    if (merged !== undefined) return withBlock(first, merged, false);
  }
  const { raw: _raw, id: _id, ...rest } = first;
  if (first.instances !== undefined) {
    const instances: unknown[] = [];
    for (const r of requests) for (const row of r.instances!) instances.push(row);
    return { ...rest, instances };
  }
  const inputs = first.inputs!.map((t) => concatTensors(t.name, requests.map((r) => {
    const match = r.inputs?.find((x) => x.name === t.name);
    if (match === undefined) throw new GatewayError('internal', `mergeRows: a request lacks input "${t.name}"`);
    return match;
  })));
  return { ...rest, inputs };
}

/**
 * splitRows cuts a batch answer into one answer per caller, `counts[i]` rows each, in order.
 * Every `predictions` list and output tensor must carry exactly sum(counts) rows; otherwise
 * it throws backend_bad_reply, so rows are never shifted between callers.
 */
export function splitRows(res: InferResponse, counts: number[]): InferResponse[] {
  const total = counts.reduce((s, n) => s + n, 0);
  checkReplyRows(res, total);
  const { id: _id, ...rest } = res;
  const out: InferResponse[] = [];
  let start = 0;
  for (const n of counts) {
    const end = start + n;
    const part: InferResponse = { ...rest };
    if (res.predictions !== undefined) part.predictions = res.predictions.slice(start, end);
    if (res.outputs !== undefined) part.outputs = res.outputs.map((t) => sliceTensor(t, start, end));
    out.push(part);
    start = end;
  }
  return out;
}

/** joinResponses concatenates the answers to consecutive row ranges of one request. */
export function joinResponses(parts: InferResponse[]): InferResponse {
  const first = parts[0];
  if (first === undefined) throw new GatewayError('internal', 'joinResponses needs at least one part');
  if (parts.length === 1) return first;
  const joined: InferResponse = { ...first };
  if (first.predictions !== undefined) joined.predictions = parts.flatMap((p) => p.predictions ?? []);
  if (first.outputs !== undefined) {
    joined.outputs = first.outputs.map((t) => concatTensors(t.name, parts.map((p) => {
      const match = p.outputs?.find((x) => x.name === t.name);
      if (match === undefined) throw new GatewayError('backend_bad_reply', `a batch answer lacks output "${t.name}"`);
      return match;
    })));
  }
  return joined;
}

/** checkReplyRows throws backend_bad_reply unless every part of the answer carries `rows` rows. */
export function checkReplyRows(res: InferResponse, rows: number): void {
  const bad = (what: string): GatewayError =>
    new GatewayError('backend_bad_reply', `backend answered ${what} for a batch of ${rows} rows`);
  if (res.predictions === undefined && res.outputs === undefined) throw bad('neither predictions nor outputs');
  if (res.predictions !== undefined && (!Array.isArray(res.predictions) || res.predictions.length !== rows)) {
    throw bad(Array.isArray(res.predictions) ? `${res.predictions.length} predictions` : 'predictions that are not a list');
  }
  for (const t of res.outputs ?? []) {
    if (t.shape.length === 0) throw bad(`output "${t.name}" as a scalar`);
    if (t.shape[0] !== rows) throw bad(`output "${t.name}" with ${t.shape[0]} rows`);
    if (t.data.length !== elementCount(t.shape)) {
      throw bad(`output "${t.name}" whose data (${t.data.length} elements) does not fill shape [${t.shape.join(', ')}]`);
    }
  }
}

// withBlock gives a request like req (no raw body; its id only when keepId) whose rows are
// block. Spreading req would read its instances and build the rows the block spares.
function withBlock(req: InferRequest, block: RowBlock, keepId = true): InferRequest {
  const out = blockRequest(block) as Record<string, unknown>;
  for (const key of Object.keys(req)) {
    if (key !== 'instances' && key !== 'raw' && (keepId || key !== 'id')) out[key] = (req as Record<string, unknown>)[key];
  }
  return out as InferRequest;
}

function rowSize(t: Tensor): number {
  return elementCount(t.shape.slice(1));
}

type NumericData = Exclude<TensorData, Uint8Array[]>;

// NOTE: a copy, not a view: an encoder that reads `data.buffer` whole must never see another
// caller's rows. Buffer.slice would be a view, so copy through the datatype's own class.
function sliceTensor(t: Tensor, start: number, end: number): Tensor {
  const per = rowSize(t);
  const shape = [end - start, ...t.shape.slice(1)];
  if (Array.isArray(t.data)) return { ...t, shape, data: t.data.slice(start * per, end * per) };
  const ctor = numericClass(t);
  const data = new ctor((end - start) * per);
  (data as Float64Array).set((t.data as Float64Array).subarray(start * per, end * per));
  return { ...t, shape, data };
}

function numericClass(t: Tensor): new (n: number) => NumericData {
  const ctor = arrayClassOf(t.datatype) ?? (t.data.constructor as new (n: number) => NumericData);
  return ctor as new (n: number) => NumericData;
}

function concatTensors(name: string, parts: Tensor[]): Tensor {
  const first = parts[0]!;
  let rows = 0;
  let length = 0;
  for (const p of parts) {
    rows += p.shape[0]!;
    length += p.data.length;
  }
  const shape = [rows, ...first.shape.slice(1)];
  if (Array.isArray(first.data)) {
    const data: Uint8Array[] = [];
    for (const p of parts) for (const v of p.data as Uint8Array[]) data.push(v);
    return { ...first, name, shape, data };
  }
  const ctor = numericClass(first);
  const data = new ctor(length);
  let offset = 0;
  for (const p of parts) {
    (data as Float64Array).set(p.data as Float64Array, offset);
    offset += p.data.length;
  }
  return { ...first, name, shape, data };
}
