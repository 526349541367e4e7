// openai.schema.ts — the `frontends.openai` block, apart from the routes (openai.ts), which the registry
// (index.ts) imports only for a config that has the block: validation needs every schema, a start only its own frontends.

import { z } from 'zod';
import { size } from '../config/units.ts';

export const openaiFrontSchema = z.strictObject({
  aliases: z.record(z.string().min(1).max(256), z.string()).default({}).describe(
    'Model names clients send that are not gateway names (e.g. "meta-llama/Llama-3.1-8B-Instruct": llama), each to a gateway model.'),
  listModels: z.boolean().default(true).describe('Serve GET /v1/models; turn off when the kserve block serves KServe v1, whose GET /v1/models is another answer.'),
  maxResponseBytes: size.prefault('64mb').describe('Largest answer that is not streamed; a larger one is refused with 413 response_too_large.'),
}).describe('OpenAI API: /v1/chat/completions, /v1/completions, /v1/embeddings and /v1/models; the body\'s "model" names the gateway model.');

/** OpenaiFrontConfig is the parsed `frontends.openai` block. */
export type OpenaiFrontConfig = z.infer<typeof openaiFrontSchema>;
