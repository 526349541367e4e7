// route-path.ts — the config type of a frontend route that a platform chooses (Vertex's
// AIP_PREDICT_ROUTE, OCI's MODEL_DEPLOY_PREDICT_ENDPOINT): matched exactly, never a pattern.

import { z } from 'zod';

/** routePath is the config type of a frontend route: an absolute raw path, no query, no {placeholders}. */
export const routePath = z.string().regex(/^\/[\x21\x22\x24-\x3e\x40-\x7a\x7c\x7e]*$/,
  'expected an absolute path such as /predict (printable ASCII, no spaces, "?", "#", "{" or "}")');
