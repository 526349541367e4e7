// openai.schema.ts — the openai backend's config block, apart from its implementation (openai.ts), which the
// registry (index.ts) imports only for a config that uses the type: validation needs every schema, a start only its own backends.

import { z } from 'zod';
import { duration } from '../config/units.ts';
import { oneOfUrl, serverFields } from './shared/link.schema.ts';

export const openaiSchema = z.strictObject({
  type: z.literal('openai'),
  ...serverFields,
  apiKey: z.string().min(1).optional().describe('Sent as "Authorization: Bearer KEY" to the server (write "${OPENAI_API_KEY}"); the client\'s own Authorization is never passed on.'),
  healthPath: z.string().regex(/^\//).default('/v1/models').describe('GET path for readiness; 2xx = ready (vLLM and TGI also have /health).'),
  streamIdleTimeoutMs: duration.prefault('60s').describe('Longest gap between two chunks of a streamed answer; past it the stream ends with an error event.'),
}).superRefine(oneOfUrl).describe('An OpenAI-compatible server: /v1/chat/completions, /v1/completions, /v1/embeddings.');

/** OpenaiConfig is the validated config of one openai backend. */
export type OpenaiConfig = z.infer<typeof openaiSchema>;
