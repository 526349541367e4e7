// v2-json-bytes.ts — a v2 JSON request body written as bytes, for a backend to send as it is:
// the small header by JSON.stringify, FP32 tensor data by the float32 writer straight into
// bytes, so no string of the whole body is made (nor encoded to UTF-8 on the way out).

import { stringifyJson } from './json.ts';
import { float32Bytes, numericArrayText } from './number-text.ts';
import { aroundData, encodeInferRequest } from './v2-json.ts';
import type { InferRequest } from '../tensors/tensor.ts';

/**
 * inferRequestBytes gives the UTF-8 bytes of stringifyInferRequest(req), with FP32 data written
 * straight as bytes: no string of the whole body is made (and none has to be encoded to send).
 */
export function inferRequestBytes(req: InferRequest): Buffer {
  const tensors = req.inputs;
  if (tensors === undefined) return Buffer.from(stringifyJson(encodeInferRequest(req)));
  const texts = tensors.map((t) => (t.datatype === 'FP32' ? undefined : numericArrayText(t.datatype, t.data)));
  const pieces = aroundData(encodeInferRequest, req, tensors, (i) => tensors[i]!.datatype === 'FP32' || texts[i] !== undefined);
  // The last FP32 tensor's text is taken as a view of the writer's buffer, which nothing
  // overwrites before the concat copies it; each earlier one is copied out first.
  let lastFloat = -1;
  for (let k = 1; k < pieces.length; k += 2) if (texts[Number(pieces[k])] === undefined) lastFloat = k;
  const chunks: Uint8Array[] = [];
  for (let k = 0; k < pieces.length; k++) {
    if (k % 2 === 0) chunks.push(Buffer.from(pieces[k]!));
    else {
      const i = Number(pieces[k]);
      if (texts[i] !== undefined) chunks.push(Buffer.from(texts[i], 'latin1'));
      else {
        const { bytes, length } = float32Bytes(tensors[i]!.data as Float32Array);
        chunks.push(k === lastFloat ? bytes.subarray(0, length) : bytes.slice(0, length));
      }
    }
  }
  return Buffer.concat(chunks);
}

