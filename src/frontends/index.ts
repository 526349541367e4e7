// index.ts — the frontend registry. A platform contract is its config block (x.schema.ts, loaded at
// start: validation needs every block's) and its routes (x.ts, imported only when the config has
// the block), and one line here.

import type { ZodType } from 'zod';
import { LazyImports } from '../config/plugin-imports.ts';
import type { FrontendFactory } from '../types.ts';
import { grpcSchema } from './grpc.schema.ts';
import { kserveSchema } from './kserve.schema.ts';
import { ociSchema } from './oci.schema.ts';
import { openaiFrontSchema } from './openai.schema.ts';
import { sagemakerSchema } from './sagemaker.schema.ts';
import { vertexSchema } from './vertex.schema.ts';

/** FrontendPlugin is a registry entry: the block's config schema, and the import of its routes. */
export interface FrontendPlugin {
  schema: ZodType;
  load(): Promise<FrontendFactory<any>>;
}

export const frontends: Record<string, FrontendPlugin> = {
  vertex: { schema: vertexSchema, load: async () => (await import('./vertex.ts')).vertex },
  oci: { schema: ociSchema, load: async () => (await import('./oci.ts')).oci },
  sagemaker: { schema: sagemakerSchema, load: async () => (await import('./sagemaker.ts')).sagemaker },
  openai: { schema: openaiFrontSchema, load: async () => (await import('./openai.ts')).openaiFront },
  // One `kserve` block serves both protocol versions; its v1 / v2 switches turn each off.
  kserve: {
    schema: kserveSchema,
    load: async () => {
      const [{ kserveV2 }, { kserveV1 }] = await Promise.all([import('./kserve-v2.ts'), import('./kserve-v1.ts')]);
      return { ...kserveV2, routes: (config, deps) => [...kserveV2.routes(config, deps), ...kserveV1.routes(config, deps)] };
    },
  },
  // Serves no HTTP routes: the gateway opens its own port (server/grpc.ts).
  grpc: { schema: grpcSchema, load: async () => (await import('./grpc.ts')).grpcFront },
};

/** frontendSchemas gives each frontend's config block (optional: a frontend is on when present). */
export const frontendSchemas = Object.fromEntries(
  Object.entries(frontends).map(([key, f]) => [key, f.schema.optional()]),
);

const imports = new LazyImports(frontends);

/** loadFrontends imports the routes of the frontend blocks named in `keys` (each once). */
export function loadFrontends(keys: Iterable<string>): Promise<void> {
  return imports.load(keys);
}

/** frontendFactory gives the routes of a block loadFrontends loaded, else undefined. */
export function frontendFactory(key: string): FrontendFactory<any> | undefined {
  return imports.get(key);
}
