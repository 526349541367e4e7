// spec.ts — the one validated config form of a TensorSpec: a named input or output with a v2
// datatype and a shape (-1 for a variable dimension). Backends' metadata blocks and the
// model-level metadata override use it, so every place a spec is configured checks it the same way.

import { z } from 'zod';
import { datatypes } from './datatype.ts';

/** tensorSpecSchema validates one configured TensorSpec; what it parses is a TensorSpec. */
export const tensorSpecSchema = z.strictObject({
  name: z.string().min(1),
  datatype: z.enum(datatypes, { error: 'expected a v2 datatype (BOOL, UINT8…UINT64, INT8…INT64, FP16, FP32, FP64, BYTES)' }),
  shape: z.array(z.number().int().min(-1)),
});
