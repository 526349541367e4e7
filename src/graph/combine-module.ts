// combine-module.ts (graph) — an ensemble's `combine: { module: ./combine.ts }`: the user's
// combine(answers, request, context) on the transform module runner's worker threads (its
// load() once per worker, a call past the deadline ends its worker). What it returns is taken as
// a postprocess's answer is: predictions, outputs, or an answer of its own; a badRequest() is 400.

import { existsSync } from 'node:fs';
import type { Logger } from 'pino';
import { GatewayError } from '../errors.ts';
import type { InferRequest, InferResponse } from '../tensors/tensor.ts';
import type { CallContext } from '../types.ts';
import type { TransformResponse } from '../transform/contract.ts';
import { modulePool, valueOf } from '../transform/module.ts';
import { responseFrom } from '../transform/results.ts';
import { stepRequestOf } from '../transform/stage.ts';
import type { WorkerPool } from '../transform/worker-pool.ts';
import type { CombineModuleConfig } from './schema.ts';

/** CombineModule is one ensemble's combine module and its workers. */
export class CombineModule {
  readonly name: string;
  #pool: WorkerPool;
  #closed = false;
  #loaded = false;
  #error: string | undefined;

  constructor(config: CombineModuleConfig, graph: string, log: Logger) {
    if (!existsSync(config.module)) throw new Error(`models.${graph}.graph.combine: module "${config.module}" does not exist`);
    ({ name: this.name, pool: this.#pool } = modulePool('combine module', config, graph, log));
    // Started once the gateway is built, so `infergate check` (which builds and closes) starts no worker.
    setImmediate(() => {
      if (this.#closed) return;
      this.#pool.start().then(() => {
        if (this.#pool.exports.includes('combine')) this.#loaded = true;
        else this.#error = 'it exports no combine function';
      }, (err: unknown) => { this.#error = `load failed: ${(err as Error).message}`; });
    });
  }

  /** notReady says why the module cannot combine yet, or undefined when it can. */
  notReady(): string | undefined {
    if (this.#error !== undefined) return `${this.name}: ${this.#error}`;
    return this.#loaded ? undefined : `${this.name} is still loading`;
  }

  /** combine runs the module's combine over the answers, in member order. */
  async combine(answers: InferResponse[], req: InferRequest, ctx: CallContext): Promise<InferResponse> {
    const why = this.notReady();
    if (why !== undefined) throw new GatewayError('not_ready', why);
    const reply = await this.#pool.run({ fn: 'combine', answers: answers.map(transformResponse), request: stepRequestOf(req, ctx) }, ctx.signal);
    const res = responseFrom(valueOf(reply, this.name, 'combine'), this.name);
    const out: InferResponse = {};
    if (res.predictions !== undefined) out.predictions = res.predictions;
    if (res.outputs !== undefined) out.outputs = res.outputs;
    if (res.parameters !== undefined) out.parameters = res.parameters;
    if (res.answer !== undefined) out.answer = res.answer;
    return out;
  }

  status(): Record<string, unknown> {
    return { module: this.name, ...this.#pool.status(), loaded: this.notReady() === undefined, ...(this.#error === undefined ? {} : { error: this.#error }) };
  }

  close(): Promise<void> {
    this.#closed = true;
    return this.#pool.close();
  }
}

// The member's answer as the contract describes it: rows or tensors, and its parameters.
function transformResponse(res: InferResponse): TransformResponse {
  const out: TransformResponse = {};
  if (res.predictions !== undefined) out.predictions = res.predictions;
  if (res.outputs !== undefined) out.outputs = res.outputs;
  if (res.parameters !== undefined) out.parameters = res.parameters;
  return out;
}
