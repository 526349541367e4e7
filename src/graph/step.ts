// step.ts (graph) — one step of a graph: a call to another gateway model's whole path, found by
// name when the call is made (the handles of a state are made after its pipelines, and a reload's
// new state brings new ones). Each call runs with a context of its own, sharing the graph call's
// signal and deadline; its outcome and time are counted per step, under labels from the config.

import { GatewayError, restate, toGatewayError } from '../errors.ts';
import { graphStepCalls, graphStepDuration } from '../observe/metrics.ts';
import { derive } from '../observe/trace.ts';
import type { InferRequest, InferResponse } from '../tensors/tensor.ts';
import type { CallContext, ModelHandle, ModelLookup } from '../types.ts';

/** Outcome is how a step call ended, as counted: answered, failed, or failed and left out. */
export type Outcome = 'ok' | 'failed' | 'dropped';

/** Attempt is a step call's result before it is counted. */
export type Attempt = { ok: true; response: InferResponse; ms: number } | { ok: false; error: GatewayError; ms: number };

/** GraphStep is one step model of one graph model. */
export class GraphStep {
  readonly graph: string;
  readonly model: string;
  #models: ModelLookup;
  #counts: Record<Outcome, number> = { ok: 0, failed: 0, dropped: 0 };
  #totalMs = 0;

  constructor(graph: string, model: string, models: ModelLookup) {
    this.graph = graph;
    this.model = model;
    this.#models = models;
  }

  /** handle is the step model's handle in the state the graph was built in. */
  handle(): ModelHandle {
    const handle = this.#models(this.model);
    if (handle === undefined) throw new GatewayError('internal', `graph "${this.graph}": step model "${this.model}" is not configured`);
    return handle;
  }

  ready(): boolean {
    return this.#models(this.model)?.ready() ?? false;
  }

  /** call runs the step and counts it; a failure names the graph and the step, keeping its code and status. */
  async call(req: InferRequest, ctx: CallContext): Promise<InferResponse> {
    const attempt = await this.attempt(req, ctx);
    this.record(attempt.ok ? 'ok' : 'failed', attempt.ms);
    if (!attempt.ok) throw this.named(attempt.error);
    return attempt.response;
  }

  /** attempt runs the step without counting it (the caller decides whether a failure is dropped). */
  async attempt(req: InferRequest, ctx: CallContext): Promise<Attempt> {
    const started = performance.now();
    try {
      // The step's own context: the handle names its model, its split its target; the signal
      // and the deadline are the graph call's, so the step spends what is left of its budget.
      const own: CallContext = derive(ctx, { model: '' });
      delete own.version;
      delete own.target;
      const response = await this.handle().infer(req, own);
      return { ok: true, response, ms: performance.now() - started };
    } catch (err) {
      return { ok: false, error: toGatewayError(err), ms: performance.now() - started };
    }
  }

  /** named is a failure of this step as the graph's client sees it: the same code and status, the step named. */
  named(error: GatewayError, what = 'failed'): GatewayError {
    return restate(error, `graph "${this.graph}": step "${this.model}" ${what}: ${error.message}`);
  }

  /** record counts one call of this step. */
  record(outcome: Outcome, ms: number): void {
    this.#counts[outcome]++;
    this.#totalMs += ms;
    graphStepCalls.inc({ model: this.graph, step: this.model, outcome });
    graphStepDuration.observe({ model: this.graph, step: this.model }, ms / 1000);
  }

  status(): Record<string, unknown> {
    const calls = this.#counts.ok + this.#counts.failed + this.#counts.dropped;
    return {
      model: this.model, ready: this.ready(), calls, ...this.#counts,
      meanMs: calls === 0 ? null : Math.round((this.#totalMs / calls) * 100) / 100,
    };
  }
}
