// index.ts — the frontend registry: a platform contract is one file beside this one and one line here.

import type { FrontendFactory } from '../types.ts';
import { grpcFront } from './grpc.ts';
import { kserveV1 } from './kserve-v1.ts';
import { kserveV2 } from './kserve-v2.ts';
import { oci } from './oci.ts';
import { openaiFront } from './openai.ts';
import { sagemaker } from './sagemaker.ts';
import { vertex } from './vertex.ts';

export const frontends: Record<string, FrontendFactory<any>> = {
  vertex,
  oci,
  sagemaker,
  openai: openaiFront,
  // One `kserve` block serves both protocol versions; its v1 / v2 switches turn each off.
  kserve: { ...kserveV2, routes: (config, deps) => [...kserveV2.routes(config, deps), ...kserveV1.routes(config, deps)] },
  // Serves no HTTP routes: the gateway opens its own port (server/grpc.ts).
  grpc: grpcFront,
};

/** frontendSchemas gives each frontend's config block (optional: a frontend is on when present). */
export const frontendSchemas = Object.fromEntries(
  Object.entries(frontends).map(([key, f]) => [key, f.schema.optional()]),
);
