// module.ts — the `module` step: a user's ESM/TypeScript module (load / preprocess /
// postprocess, the names Vertex CPR and KServe use) run on its own pool of worker threads.
// What it throws is answered 400 when it is badRequest(), 500 otherwise, naming the module.

import { availableParallelism } from 'node:os';
import { relative } from 'node:path';
import type { Logger } from 'pino';
import { z } from 'zod';
import { GatewayError } from '../errors.ts';
import type { ModuleWorkerData } from './module-worker.ts';
import { requestFrom, responseFrom } from './results.ts';
import type { StepDeps, StepPlugin, StepRequest, StepResponse, TransformStep } from './step.ts';
import { WorkerPool, type WorkerReply } from './worker-pool.ts';

// The worker a user's module runs on (a transform step's, an ensemble's combine).
const workerScript = new URL('./module-worker.ts', import.meta.url);

const moduleSchema = z.strictObject({
  module: z.string().min(1).describe('Path of an ESM or TypeScript module, relative to the config file. It exports preprocess(request, context) and/or postprocess(response, request, context), and may export load(context).'),
  options: z.record(z.string(), z.unknown()).default({}).describe('Passed to the module as context.options.'),
  workers: z.coerce.number().int().min(1).max(64).optional().describe('Worker threads running the module (each runs load() once); default one per core.'),
  maxQueue: z.coerce.number().int().min(1).max(100_000).default(1024).describe('Calls that may wait for a free worker; more → 429 queue_full.'),
}).describe('User code: a transform module on worker threads.');

export type ModuleStepConfig = z.infer<typeof moduleSchema>;

// Each module pool built imports afresh: a reload re-reads the user's file.
let generation = 0;

/** ModulePoolConfig is what a user-code pool is built from: the module's step, or a graph's combine. */
export interface ModulePoolConfig { module: string; options: Record<string, unknown>; workers?: number | undefined; maxQueue: number }

/**
 * modulePool makes the worker pool for a user's module (a transform step, an ensemble's
 * combine): named `<kind> <path>` in errors and status, importing the module afresh.
 */
export function modulePool(kind: string, config: ModulePoolConfig, model: string, log: Logger): { name: string; pool: WorkerPool } {
  const shown = relative(process.cwd(), config.module);
  const name = `${kind} ${shown.startsWith('..') ? config.module : shown}`;
  const workerData: ModuleWorkerData = { file: config.module, model, options: config.options, generation: ++generation };
  const pool = new WorkerPool({ script: workerScript, workerData, name, log, size: config.workers ?? availableParallelism(), maxQueue: config.maxQueue });
  return { name, pool };
}

/** moduleStep is the registry entry of the `module` step. */
export const moduleStep: StepPlugin<ModuleStepConfig> = {
  key: 'module',
  takesPayload: true,
  schema: moduleSchema,
  files: ['module'],
  create(config, deps) {
    return new ModuleStep(config, deps);
  },
};

class ModuleStep implements TransformStep {
  readonly name: string;
  // Whether the module reads the body is known once it loads; until then the body is passed on.
  readonly takesPayload = true;
  #pool: WorkerPool;

  constructor(config: ModuleStepConfig, deps: StepDeps) {
    ({ name: this.name, pool: this.#pool } = modulePool('module', config, deps.model, deps.log));
  }

  load(): Promise<void> {
    return this.#pool.start();
  }

  async preprocess(req: StepRequest, call: { signal: AbortSignal }): Promise<StepRequest> {
    if (!this.#pool.exports.includes('preprocess')) return req;
    const value = valueOf(await this.#pool.run({ fn: 'preprocess', request: req }, call.signal), this.name, 'preprocess');
    return requestFrom(value, req, this.name);
  }

  async postprocess(res: StepResponse, req: StepRequest, call: { signal: AbortSignal }): Promise<StepResponse> {
    if (!this.#pool.exports.includes('postprocess')) return res;
    const { answer: _own, ...response } = res;
    const value = valueOf(await this.#pool.run({ fn: 'postprocess', request: req, response }, call.signal), this.name, 'postprocess');
    return responseFrom(value, this.name);
  }

  status(): unknown {
    return this.#pool.status();
  }

  close(): Promise<void> {
    return this.#pool.close();
  }
}

/** valueOf gives a call's value, or the module's error: 400 for badRequest(), 500 for the rest. */
export function valueOf(reply: WorkerReply, name: string, fn: string): unknown {
  if (reply.ok) return reply.value;
  const { error } = reply;
  if (error.code === 'bad_request') throw new GatewayError('bad_request', `${name}: ${error.message}`);
  throw new GatewayError('transform_failed', `${name}: ${fn} threw ${error.name}: ${error.message}`);
}
