// onnx.schema.ts — the onnx backend's config block, apart from its implementation (onnx.ts), which the
// registry (index.ts) imports only for a config that uses the type: validation needs every schema, a start only its own backends.

import { z } from 'zod';
import { size } from '../../config/units.ts';
import { locationSchema } from '../../storage/uri.ts';

const version = z.coerce.string().regex(/^[1-9]\d*$/);
const versionPolicy = z.union([
  z.literal('all'),
  z.strictObject({ latest: z.coerce.number().int().min(1) }),
  z.strictObject({ specific: z.array(version).min(1) }),
]);

export const onnxSchema = z.strictObject({
  type: z.literal('onnx'),
  modelRepository: locationSchema.optional().describe(
    'Folder laid out as DIR/<model>/<version>/model.onnx (Triton style; symlinked folders are followed): a local path, or gs://, s3://, oci://bucket@namespace/, https:// (e.g. ${AIP_STORAGE_URI}), fetched through the `storage` cache at start; a .tar.gz or .zip is unpacked.'),
  modelPath: locationSchema.optional().describe('A single model.onnx file, local or remote as for modelRepository (an archive holding model.onnx too); it answers to any model name, as version "1".'),
  versions: z.record(z.string(), z.union([z.array(version).min(1), versionPolicy])).optional().describe(
    'Version policy per model name, as Triton\'s version_policy: ["1", "2"] or {specific: ["1", "2"]}, {latest: 2}, or "all"; a model not listed follows versionPolicy.'),
  versionPolicy: versionPolicy.prefault({ latest: 1 }).describe('Versions served of a model `versions` does not list: {latest: N} (default 1, the highest), {specific: [...]} or "all".'),
  loadAll: z.boolean().default(false).describe('Load every model in the repository (Triton style), not only those the config names; the others are reachable through dynamicModels.'),
  lazy: z.boolean().default(false).describe('Load a model on its first call (concurrent first calls share one load) instead of at start; it counts as ready meanwhile.'),
  file: z.string().min(1).default('model.onnx').describe('The model file inside a folder loaded at run time (a SageMaker multi-model url, or a repository load).'),
  executionProviders: z.array(z.enum(['cuda', 'cpu'])).min(1).default(['cpu']).describe(
    'Execution providers tried in order, cpu always last; one that cannot load (no CUDA libraries) is skipped with one warning.'),
  workers: z.coerce.number().int().min(1).max(64).default(1).describe('Worker threads per model, each with its own session; calls beyond that wait in a queue.'),
  workerMemory: size.prefault('32mb').describe(
    'Memory one worker thread holds besides the model\'s weights (its V8 heap and the runtime), counted in each model\'s estimate (file size + this, times workers) against dynamicModels.maxModelsMemory.'),
  intraOpThreads: z.coerce.number().int().min(0).default(1).describe('Threads one operator may use inside a session (0 = one per core); 1 suits a shared machine.'),
  interOpThreads: z.coerce.number().int().min(0).default(1).describe('Threads running independent operators in parallel (0 = runtime default).'),
  spinning: z.boolean().default(false).describe('Let idle runtime threads spin for work: lower latency, but burns CPU while idle.'),
  graphOptimizationLevel: z.enum(['disabled', 'basic', 'extended', 'all']).default('all').describe('onnxruntime graph optimizations applied at load.'),
  warmup: z.boolean().default(true).describe('Run each model once on zero-filled inputs (dynamic dims = 1) before reporting ready.'),
}).superRefine((c, ctx) => {
  if ((c.modelRepository === undefined) === (c.modelPath === undefined)) ctx.addIssue({ code: 'custom', path: ['modelRepository'], message: 'set exactly one of modelRepository and modelPath' });
}).describe('The built-in ONNX Runtime backend (onnxruntime-node in worker threads).');

/** OnnxConfig is the validated config of one onnx backend. */
export type OnnxConfig = z.infer<typeof onnxSchema>;
