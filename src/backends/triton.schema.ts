// triton.schema.ts — the triton backend's config block, apart from its implementation (triton.ts), which the
// registry (index.ts) imports only for a config that uses the type: validation needs every schema, a start only its own backends.

import { z } from 'zod';
import { duration, size } from '../config/units.ts';
import { oneOfUrl, serverFields } from './shared/link.schema.ts';
import { metadataOverrideSchema } from './shared/metadata.ts';
import { spawnSchema } from './shared/spawn.schema.ts';

export const tritonSchema = z.strictObject({
  type: z.literal('triton'),
  ...serverFields,
  protocol: z.enum(['http', 'grpc']).default('http').describe(
    'How to call Triton: "http" (KServe v2 REST, port 8000) or "grpc" (GRPCInferenceService, port 8001: url http://HOST:8001, https:// for TLS; ' +
    'tensors go as raw contents, binary and binaryOutputBytes do not apply; one url, not urls).'),
  binary: z.boolean().default(true).describe('Send tensors with the binary tensor extension and ask for binary outputs (true), or plain v2 JSON (false).'),
  binaryOutputBytes: size.prefault('1kb').describe('With binary on, outputs expected smaller than this (from the metadata shape and the batch) come back as JSON; 0 = every output binary.'),
  metadata: metadataOverrideSchema.optional(),
  streamIdleTimeoutMs: duration.prefault('60s').describe('generate_stream: longest gap between two events from Triton; past it the stream ends with an error event.'),
  spawn: spawnSchema.optional(),
  modelControl: z.boolean().default(false).describe(
    'Load and unload models on the server through its repository API (Triton with --model-control-mode=explicit): the gateway\'s repository API and dynamicModels then act on it.'),
}).superRefine(oneOfUrl).superRefine((c, ctx) => {
  if (c.protocol === 'grpc' && c.urls !== undefined) ctx.addIssue({ code: 'custom', path: ['urls'], message: 'protocol grpc takes one url (one HTTP/2 channel)' });
}).describe('NVIDIA Triton Inference Server (KServe v2 HTTP with the binary tensor extension, or gRPC).');

/** TritonConfig is the validated config of one triton backend. */
export type TritonConfig = z.infer<typeof tritonSchema>;
