// sagemaker-batch.ts — SageMaker batch transform: the execution parameters the container offers
// (GET /execution-parameters, which SageMaker reads when the job leaves them unset) and how a
// mini-batch's records are read. SageMaker sets SAGEMAKER_BATCH_STRATEGY, SAGEMAKER_MAX_PAYLOAD_IN_MB
// and SAGEMAKER_MAX_CONCURRENT_TRANSFORMS in a transform job's container; config/sagemaker.yaml
// reads them. With MULTI_RECORD and SplitType Line, a request holds as many records, one per line,
// as fit in MaxPayloadInMB, and the answer must hold one line per record in order (AssembleWith
// Line): CSV and JSON Lines bodies are read that way whatever the strategy, and a JSON body of
// several lines (a JSON Lines file sent as application/json) is read line by line too.
// https://docs.aws.amazon.com/sagemaker/latest/dg/your-algorithms-batch-code.html

import { z } from 'zod';
import type { Route } from '../types.ts';

// An unset ${VAR:-} gives "": the default then.
const unset = (v: unknown): unknown => (v === '' || v === null ? undefined : v);

/** batchTransformSchema is the sagemaker frontend's `batchTransform` block. */
export const batchTransformSchema = z.strictObject({
  batchStrategy: z.preprocess(unset, z.enum(['MULTI_RECORD', 'SINGLE_RECORD']).default('MULTI_RECORD')).describe(
    'SAGEMAKER_BATCH_STRATEGY: MULTI_RECORD (several records per request, one per line: a JSON body of several lines is read as JSON Lines) or SINGLE_RECORD (each request is one record).'),
  maxPayloadInMB: z.preprocess(unset, z.coerce.number().int().min(1).max(100).default(6)).describe(
    'SAGEMAKER_MAX_PAYLOAD_IN_MB, offered at /execution-parameters; keep server.maxBodyBytes at least this.'),
  maxConcurrentTransforms: z.preprocess(unset, z.coerce.number().int().min(1).default(1)).describe(
    'SAGEMAKER_MAX_CONCURRENT_TRANSFORMS, offered at /execution-parameters: parallel /invocations calls per instance.'),
}).refine((b) => b.maxPayloadInMB * b.maxConcurrentTransforms <= 100, {
  message: 'maxPayloadInMB × maxConcurrentTransforms may not exceed 100 MB (SageMaker\'s limit per instance)',
}).describe('SageMaker batch transform: the execution parameters offered at GET /execution-parameters and how records are read.');

/** BatchTransformConfig is the parsed `batchTransform` block. */
export type BatchTransformConfig = z.infer<typeof batchTransformSchema>;

/** executionParametersRoute answers GET /execution-parameters with the configured parameters. */
export function executionParametersRoute(config: BatchTransformConfig): Route {
  const body = { MaxConcurrentTransforms: config.maxConcurrentTransforms, BatchStrategy: config.batchStrategy, MaxPayloadInMB: config.maxPayloadInMB };
  return { method: 'GET', path: '/execution-parameters', frontend: 'sagemaker', handle: async () => ({ status: 200, body }) };
}

/**
 * severalJsonLines says whether a JSON body that did not parse as one document is records, one per
 * line: MULTI_RECORD, more than one non-empty line, and every line a JSON value on its own.
 */
export function severalJsonLines(config: BatchTransformConfig, body: Buffer): boolean {
  if (config.batchStrategy !== 'MULTI_RECORD') return false;
  const lines = body.toString('utf8').split('\n').filter((l) => l.trim() !== '');
  if (lines.length < 2) return false;
  return lines.every((l) => { try { JSON.parse(l); return true; } catch { return false; } });
}
