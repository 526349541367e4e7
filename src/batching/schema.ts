// schema.ts — the batching stage's config block, owned here with the stage: `models.NAME.batching`
// and `models.NAME.targets[].batching` (batcher.ts puts it in both).

import { z } from 'zod';
import { maxDurationMs } from '../config/units.ts';

export const batchingSchema = z.strictObject({
  maxBatchSize: z.coerce.number().int().min(1).default(32).describe('Most rows in one backend call; bigger requests are split into chunks.'),
  maxQueueDelayMs: z.coerce.number().min(0).max(maxDurationMs).default(0).describe('Longest a partial batch may wait for more rows (Triton semantics); 0 = never wait.'),
  maxConcurrentBatches: z.coerce.number().int().min(1).default(2).describe('Batches in flight to the backend at once. With 2 (the default) the next batch forms and goes while one runs, as Triton\'s scheduler does; 1 leaves the backend idle for the gateway\'s turnaround between batches.'),
  maxQueueRows: z.coerce.number().int().min(1).default(4096).describe('Rows allowed to wait; beyond it → 429 queue_full.'),
  adaptive: z.boolean().default(false).describe('Decide the wait from a fitted cost model t(n) = a + b·n and the arrival rate.'),
}).describe('Dynamic batching of rows across requests.');

export type BatchingConfig = z.infer<typeof batchingSchema>;
