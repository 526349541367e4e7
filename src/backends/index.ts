// index.ts — the backend registry. A backend is its config block (x.schema.ts, loaded at start:
// validation needs every type's) and its implementation (x.ts, imported only when a config uses
// the type, so a start loads no client it will not call), and one line here.

import type { ZodType } from 'zod';
import { LazyImports } from '../config/plugin-imports.ts';
import type { BackendFactory } from '../types.ts';
import { httpSchema } from './http.schema.ts';
import { onnxSchema } from './onnx/onnx.schema.ts';
import { openaiSchema } from './openai.schema.ts';
import { passthroughSchema } from './passthrough.schema.ts';
import { tfservingSchema } from './tfserving.schema.ts';
import { torchserveSchema } from './torchserve.schema.ts';
import { tritonSchema } from './triton.schema.ts';

/** BackendPlugin is a registry entry: the type's config schema, and the import of its implementation. */
export interface BackendPlugin {
  schema: ZodType<{ type: string }>;
  load(): Promise<BackendFactory<any>>;
}

export const backends: Record<string, BackendPlugin> = {
  http: { schema: httpSchema, load: async () => (await import('./http.ts')).http },
  onnx: { schema: onnxSchema, load: async () => (await import('./onnx/onnx.ts')).onnx },
  openai: { schema: openaiSchema, load: async () => (await import('./openai.ts')).openai },
  passthrough: { schema: passthroughSchema, load: async () => (await import('./passthrough.ts')).passthrough },
  triton: { schema: tritonSchema, load: async () => (await import('./triton.ts')).triton },
  tfserving: { schema: tfservingSchema, load: async () => (await import('./tfserving.ts')).tfserving },
  torchserve: { schema: torchserveSchema, load: async () => (await import('./torchserve.ts')).torchserve },
};

/** backendSchemas lists each backend's config schema, for config/schema.ts. */
export const backendSchemas = Object.values(backends).map((b) => b.schema);

const imports = new LazyImports(backends);

/** loadBackends imports the implementations of `types` (each once); an unknown type is left to the build to report. */
export function loadBackends(types: Iterable<string>): Promise<void> {
  return imports.load(types);
}

/** backendFactory gives the implementation of a type loadBackends loaded, else undefined. */
export function backendFactory(type: string): BackendFactory<any> | undefined {
  return imports.get(type);
}
