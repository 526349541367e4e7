// passthrough.schema.ts — the passthrough backend's config block, apart from its implementation (passthrough.ts), which the
// registry (index.ts) imports only for a config that uses the type: validation needs every schema, a start only its own backends.

import { z } from 'zod';
import { duration } from '../config/units.ts';

export const passthroughSchema = z.strictObject({
  type: z.literal('passthrough'),
  url: z.url({ protocol: /^https?$/ }).describe('Upstream origin, optionally with a base path: requests go to url + their path.'),
  timeoutMs: duration.prefault('60s').describe('Longest wait for the upstream\'s next byte; then 504 (or the stream is cut).'),
  connectTimeoutMs: duration.prefault('5s').describe('Longest wait to connect to the upstream.'),
  healthPath: z.string().regex(/^\//).optional().describe('GET this path for health (2xx = ready); omitted = a TCP connect to the origin.'),
}).describe('Raw streaming proxy for routes that must not be parsed (rawPredict, unknown paths).');

/** PassthroughConfig is the validated config of one passthrough backend. */
export type PassthroughConfig = z.infer<typeof passthroughSchema>;
