// link.schema.ts — the connection fields the http, triton, tfserving, torchserve and openai
// schemas share, apart from the calls themselves (link.ts), so that validation loads no client.

import { z } from 'zod';
import { duration, size } from '../../config/units.ts';
import { outlierDetectionSchema } from './outlier.ts';

const httpUrl = z.url({ protocol: /^https?$/ });

/** serverFields are the connection settings shared by the http, triton, tfserving and torchserve schemas. */
export const serverFields = {
  url: httpUrl.optional().describe('Server URL, e.g. http://127.0.0.1:8000 (a base path is kept).'),
  urls: z.array(httpUrl).min(1).optional().describe('Several replicas of the server; each call goes to the one with the fewest calls in flight.'),
  connectTimeoutMs: duration.prefault('5s').describe('Longest wait to open a connection.'),
  maxResponseBytes: size.prefault('64mb').describe('Largest answer read from the server; larger → 502.'),
  outlierDetection: outlierDetectionSchema.optional(),
};

/** oneOfUrl is the superRefine that requires exactly one of url and urls. */
export function oneOfUrl(c: { url?: string | undefined; urls?: string[] | undefined }, ctx: z.RefinementCtx): void {
  if ((c.url === undefined) === (c.urls === undefined)) ctx.addIssue({ code: 'custom', path: ['url'], message: 'set exactly one of url and urls' });
}
