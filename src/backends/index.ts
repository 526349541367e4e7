// index.ts — the backend registry: adding a backend is one file beside this one and one line here.

import type { BackendFactory } from '../types.ts';
import { http } from './http.ts';
import { onnx } from './onnx/onnx.ts';
import { openai } from './openai.ts';
import { passthrough } from './passthrough.ts';
import { tfserving } from './tfserving.ts';
import { torchserve } from './torchserve.ts';
import { triton } from './triton.ts';

export const backends: Record<string, BackendFactory<any>> = {
  http,
  onnx,
  openai,
  passthrough,
  triton,
  tfserving,
  torchserve,
};

/** backendSchemas lists each backend's config schema, for config/schema.ts. */
export const backendSchemas = Object.values(backends).map((b) => b.schema);
