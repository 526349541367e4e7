// graph.ts — a graph model's path below its model stages: a sequence (each step's answer feeds
// the next), an ensemble (the same request to every member at once, answers combined) or a switch
// (the first case whose condition holds takes the request). A step is a call to another gateway
// model's handle, its whole path; the graph's readiness, metadata and status follow its steps.

import type { Logger } from 'pino';
import { GatewayError, restate, toGatewayError } from '../errors.ts';
import type { InferRequest, InferResponse, ModelMetadata, TensorSpec } from '../tensors/tensor.ts';
import type { Infer, ModelLookup } from '../types.ts';
import { combine, combinedOutputs } from './combine.ts';
import { CombineModule } from './combine-module.ts';
import { connect, sourceOfAnswer, type Target } from './connect.ts';
import { compileExpression } from './expression.ts';
import type { GraphConfig } from './schema.ts';
import { GraphStep, type Attempt } from './step.ts';

/** GraphDeps is what a graph is built with: its model's name and the state's model handles, looked up per call. */
export interface GraphDeps {
  model: string;
  models: ModelLookup;
  log: Logger;
}

/** GraphPath is a built graph: the end of its model's path. */
export interface GraphPath {
  infer: Infer;
  /** Ready when the steps it needs are: all of them, or for an ensemble with allowPartial any one. */
  ready(): boolean;
  /** KServe v2 metadata: the inputs of the step that takes the request, the outputs of what answers. */
  metadata(): Promise<ModelMetadata>;
  status(): Record<string, unknown>;
  /** Ends what the graph runs itself (a combine module's workers). */
  close(): Promise<void>;
}

/** buildGraph builds the graph of model `deps.model`. */
export function buildGraph(config: GraphConfig, deps: GraphDeps): GraphPath {
  const graph = config.kind === 'sequence' ? sequence(config, deps) : config.kind === 'ensemble' ? ensemble(config, deps) : switchOf(config, deps);
  // The answer is the graph model's: not named for the step model (or its version) that gave it.
  const infer: Infer = async (req, ctx) => {
    const res = await graph.infer(req, ctx);
    if (res.modelName === undefined && res.modelVersion === undefined) return res;
    const own = { ...res };
    delete own.modelName;
    delete own.modelVersion;
    return own;
  };
  return { ...graph, infer };
}

const metaOf = (model: string, inputs: TensorSpec[], outputs: TensorSpec[]): ModelMetadata =>
  ({ name: model, versions: [], platform: 'infergate_graph', inputs, outputs });

async function stepMetadata(step: GraphStep): Promise<ModelMetadata> {
  try {
    return await step.handle().metadata();
  } catch (err) {
    throw step.named(toGatewayError(err), 'gave no metadata');
  }
}

function sequence(config: Extract<GraphConfig, { kind: 'sequence' }>, deps: GraphDeps): GraphPath {
  const steps = config.steps.map((s) => ({ step: new GraphStep(deps.model, s.model, deps.models), map: s.map }));
  const target = (i: number): Target => {
    const { step, map } = steps[i]!;
    return { graph: deps.model, model: step.model, map, inputNames: async () => (await stepMetadata(step)).inputs.map((s) => s.name) };
  };
  return {
    infer: async (req, ctx) => {
      let res: InferResponse | undefined;
      for (let i = 0; i < steps.length; i++) {
        const last = i === steps.length - 1;
        const stepReq = i > 0
          ? await connect(sourceOfAnswer(steps[i - 1]!.step.model, res!), target(i), req, last)
          : steps[0]!.map !== undefined
            ? await connect({ what: 'the request', inputs: req.inputs, rows: req.instances, code: 'bad_request' }, target(0), req, last)
            : firstRequest(req, last);
        res = await steps[i]!.step.call(stepReq, ctx);
      }
      return res!;
    },
    ready: () => steps.every((s) => s.step.ready()),
    metadata: async () => {
      const [first, last] = await Promise.all([stepMetadata(steps[0]!.step), stepMetadata(steps.at(-1)!.step)]);
      // A map on the first step renames the client's inputs to the step's: the graph takes the client's names.
      const map = steps[0]!.map;
      const inputs = map === undefined ? first.inputs
        : Object.entries(map).flatMap(([input, given]) => first.inputs.filter((s) => s.name === input).map((s) => ({ ...s, name: given })));
      return metaOf(deps.model, inputs, last.outputs);
    },
    status: () => ({ kind: 'sequence', steps: steps.map((s) => s.step.status()) }),
    close: async () => {},
  };
}

// firstRequest is the client's request for the first step; the outputs the client asked for (and
// the body that names them, which a v2 backend would forward) are the last step's.
function firstRequest(req: InferRequest, last: boolean): InferRequest {
  if (last || req.outputs === undefined) return { ...req };
  const own = { ...req };
  delete own.outputs;
  delete own.raw;
  return own;
}

function ensemble(config: Extract<GraphConfig, { kind: 'ensemble' }>, deps: GraphDeps): GraphPath {
  const members = config.members.map((m) => new GraphStep(deps.model, m, deps.models));
  const module = typeof config.combine === 'object' ? new CombineModule(config.combine, deps.model, deps.log) : undefined;
  const builtIn = typeof config.combine === 'string' ? config.combine : undefined;
  const merge = async (answered: Array<{ model: string; response: InferResponse }>, req: InferRequest, ctx: Parameters<Infer>[1]): Promise<InferResponse> => {
    if (builtIn !== undefined) return combine(builtIn, answered, deps.model);
    try {
      return await module!.combine(answered.map((a) => a.response), req, ctx);
    } catch (err) {
      const e = toGatewayError(err);
      throw restate(e, `graph "${deps.model}": ${e.message}`);
    }
  };
  return {
    infer: async (req, ctx) => {
      const running = members.map((step) => step.attempt({ ...req }, ctx));
      let attempts: Attempt[];
      if (config.allowPartial) {
        attempts = await Promise.all(running);
        const anyOk = attempts.some((a) => a.ok);
        attempts.forEach((a, k) => members[k]!.record(a.ok ? 'ok' : anyOk ? 'dropped' : 'failed', a.ms));
        if (!anyOk) {
          const first = attempts[0] as Extract<Attempt, { ok: false }>;
          const why = attempts.map((a, k) => `step "${members[k]!.model}": ${(a as Extract<Attempt, { ok: false }>).error.message}`).join('; ');
          throw restate(first.error, `graph "${deps.model}": every member failed: ${why}`);
        }
      } else {
        // The first failure answers at once; the other members' outcomes are still counted.
        running.forEach((p, k) => void p.then((a) => members[k]!.record(a.ok ? 'ok' : 'failed', a.ms)));
        attempts = await Promise.all(running.map((p, k) => p.then((a) => (a.ok ? a : Promise.reject(members[k]!.named(a.error))))));
      }
      const answered = attempts.flatMap((a, k) => (a.ok ? [{ model: members[k]!.model, response: a.response }] : []));
      const dropped = attempts.flatMap((a, k) => (a.ok ? [] : [members[k]!.model]));
      const res = await merge(answered, req, ctx);
      if (req.id !== undefined) res.id = req.id;
      // Which members the answer lacks (allowPartial), so a client can tell a concat of two from one of three.
      if (dropped.length > 0) res.parameters = { dropped: dropped.join(',') };
      return res;
    },
    ready: () => (config.allowPartial ? members.some((m) => m.ready()) : members.every((m) => m.ready())) && module?.notReady() === undefined,
    metadata: async () => {
      const metas = await Promise.all(members.map(stepMetadata));
      // What a combine module answers is its own: the model's metadata.outputs may describe it.
      return metaOf(deps.model, metas[0]!.inputs, builtIn === undefined ? [] : combinedOutputs(builtIn, metas));
    },
    status: () => ({ kind: 'ensemble', combine: module?.status() ?? builtIn, allowPartial: config.allowPartial, members: members.map((m) => m.status()) }),
    close: async () => { await module?.close(); },
  };
}

function switchOf(config: Extract<GraphConfig, { kind: 'switch' }>, deps: GraphDeps): GraphPath {
  // Compiled once per build; the schema has checked each expression's syntax already.
  const cases = config.cases.map((c) => ({ when: c.when, holds: compileExpression(c.when), step: new GraphStep(deps.model, c.model, deps.models) }));
  const fallback = config.default === undefined ? undefined : new GraphStep(deps.model, config.default, deps.models);
  const all = [...cases.map((c) => c.step), ...(fallback === undefined ? [] : [fallback])];
  let unmatched = 0;
  return {
    infer: async (req, ctx) => {
      const scope = { parameters: req.parameters, headers: ctx.headers, instances: req.instances };
      const chosen = cases.find((c) => c.holds(scope))?.step ?? fallback;
      if (chosen === undefined) {
        unmatched++;
        throw new GatewayError('bad_request', `graph "${deps.model}": no case matched the request (${cases.map((c) => JSON.stringify(c.when)).join(', ')}) and the switch has no default`);
      }
      return chosen.call(req, ctx);
    },
    ready: () => all.every((s) => s.ready()),
    metadata: async () => {
      const m = await stepMetadata(fallback ?? cases[0]!.step);
      return metaOf(deps.model, m.inputs, m.outputs);
    },
    status: () => ({
      kind: 'switch',
      cases: cases.map((c) => ({ when: c.when, ...c.step.status() })),
      ...(fallback === undefined ? {} : { default: fallback.status() }),
      unmatched,
    }),
    close: async () => {},
  };
}
