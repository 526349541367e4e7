// transfer.ts — which buffers of a message may move to the other thread instead of being
// copied: large typed arrays that own their whole ArrayBuffer (a view into a shared slab, such
// as a pooled Buffer, is copied as usual). The sender must not read them afterwards.

/** Below this, structured cloning costs less than the bookkeeping. */
const minTransferBytes = 64 * 1024;

/** transferablesOf walks a message (arrays, plain objects, two levels of tensors) for movable buffers. */
export function transferablesOf(value: unknown, out: ArrayBuffer[] = [], depth = 0): ArrayBuffer[] {
  if (depth > 6 || value === null || typeof value !== 'object') return out;
  if (ArrayBuffer.isView(value)) {
    const b = value.buffer;
    if (b instanceof ArrayBuffer && value.byteOffset === 0 && value.byteLength === b.byteLength && b.byteLength >= minTransferBytes && !out.includes(b)) out.push(b);
    return out;
  }
  if (Array.isArray(value)) {
    // Rows of JSON values are cloned; only arrays of tensors or of buffers are worth walking.
    for (let i = 0; i < value.length && i < 4096; i++) {
      const v = value[i];
      if (typeof v === 'object' && v !== null) transferablesOf(v, out, depth + 1);
      else break;
    }
    return out;
  }
  for (const key of ['request', 'response', 'inputs', 'outputs', 'data', 'body', 'value'] as const) {
    if (key in value) transferablesOf((value as Record<string, unknown>)[key], out, depth + 1);
  }
  return out;
}
