// index.ts — the frontend registry: a platform contract is one file beside this one and one line here.

import type { FrontendFactory } from '../types.ts';

export const frontends: Record<string, FrontendFactory<any>> = {
};

/** frontendSchemas gives each frontend's config block (optional: a frontend is on when present). */
export const frontendSchemas = Object.fromEntries(
  Object.entries(frontends).map(([key, f]) => [key, f.schema.optional()]),
);
