// row-block.ts — rows of numbers held as one typed array instead of nested JS arrays. A frontend
// that scanned {"instances": [[...], ...]} straight into doubles makes a request whose
// `instances` is built only when a stage reads it; a tensor backend (or the batcher) that asks
// for the block first never builds them. So every stage that reads rows keeps working unchanged,
// and the block is trusted only while nobody has looked at (or replaced) the rows.

import type { InferRequest } from './tensor.ts';

/**
 * RowBlock is `shape[0]` instances, each a number or nested arrays of numbers of shape
 * `shape.slice(1)`, flat and row-major in `values` (exactly the doubles JSON.parse would give).
 * `values` owns its whole buffer.
 */
export interface RowBlock {
  values: Float64Array;
  shape: number[];
}

// A block request's own state, under a symbol that is not enumerable: a copy of the request
// ({...req}) reads `instances` and carries plain rows. Not a WeakMap keyed by the request, and
// no accessor made per request: either sits in V8's old space and keeps every request's objects
// alive through the scavenges until a full GC (see server/request-context.ts).
const rowState = Symbol('rowBlock');
interface RowState { block: RowBlock | undefined; rows: unknown[] | undefined }
type BlockedRequest = InferRequest & { [rowState]?: RowState };

// The accessor every block request shares: reading or assigning `instances` ends the block's use.
const instancesAccessor: PropertyDescriptor = {
  enumerable: true,
  configurable: true,
  get(this: BlockedRequest): unknown[] | undefined {
    const state = this[rowState]!;
    if (state.block !== undefined) {
      state.rows = rowsOfBlock(state.block);
      state.block = undefined;
    }
    return state.rows;
  },
  set(this: BlockedRequest, value: unknown[] | undefined) {
    this[rowState]!.block = undefined;
    Object.defineProperty(this, 'instances', { value, writable: true, enumerable: true, configurable: true });
  },
};

/**
 * blockRequest makes the rows request {instances, parameters} whose instances are the block's
 * rows, built on first read. Reading or assigning `instances` ends the block's use: from then
 * on the plain rows are the request's truth (a stage may change them in place).
 */
export function blockRequest(block: RowBlock, parameters?: Record<string, unknown>): InferRequest {
  const req: BlockedRequest = {};
  Object.defineProperty(req, rowState, { value: { block, rows: undefined } satisfies RowState });
  Object.defineProperty(req, 'instances', instancesAccessor);
  if (parameters !== undefined) req.parameters = parameters;
  return req;
}

/** rowBlockOf gives a request's row block while its rows were never read, else undefined. */
export function rowBlockOf(req: InferRequest): RowBlock | undefined {
  return (req as BlockedRequest)[rowState]?.block;
}

/** hasRows says whether a request carries rows (a block or instances), without building them. */
export function hasRows(req: InferRequest): boolean {
  return rowBlockOf(req) !== undefined || req.instances !== undefined;
}

/** instanceCount gives the number of instances, or undefined for a request without rows; it builds no rows. */
export function instanceCount(req: InferRequest): number | undefined {
  const block = rowBlockOf(req);
  return block !== undefined ? block.shape[0]! : req.instances?.length;
}

/** sliceBlock gives instances [start, end) as a block of their own (a copy). */
export function sliceBlock(block: RowBlock, start: number, end: number): RowBlock {
  const per = block.shape[0] === 0 ? 0 : block.values.length / block.shape[0]!; // values in one instance
  return { values: block.values.slice(start * per, end * per), shape: [end - start, ...block.shape.slice(1)] };
}

/** concatBlocks joins blocks whose instances have one shape, in order; undefined if they differ. */
export function concatBlocks(parts: RowBlock[]): RowBlock | undefined {
  const rowShape = parts[0]!.shape.slice(1);
  let rows = 0;
  let length = 0;
  for (const p of parts) {
    if (p.shape.length !== rowShape.length + 1 || p.shape.some((d, i) => i > 0 && d !== rowShape[i - 1])) return undefined;
    rows += p.shape[0]!;
    length += p.values.length;
  }
  const values = new Float64Array(length);
  let at = 0;
  for (const p of parts) {
    values.set(p.values, at);
    at += p.values.length;
  }
  return { values, shape: [rows, ...rowShape] };
}

/** rowsOfBlock builds the nested JS rows a block stands for, as JSON.parse would have. */
export function rowsOfBlock(block: RowBlock): unknown[] {
  const { values, shape } = block;
  const strides = new Array<number>(shape.length).fill(1);
  for (let d = shape.length - 2; d >= 0; d--) strides[d] = strides[d + 1]! * shape[d + 1]!;
  const nest = (dim: number, offset: number): unknown => {
    if (dim === shape.length) return values[offset];
    const n = shape[dim]!;
    const out: unknown[] = new Array(n);
    if (dim === shape.length - 1) {
      for (let j = 0; j < n; j++) out[j] = values[offset + j];
    } else {
      for (let j = 0; j < n; j++) out[j] = nest(dim + 1, offset + j * strides[dim]!);
    }
    return out;
  };
  return nest(0, 0) as unknown[];
}
