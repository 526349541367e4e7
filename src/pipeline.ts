// pipeline.ts — the map of the request path. One model's path:
//
//   deadline → transform → classification → maxRows → shadow → rollback → split ─┬→ target: ready → batcher → limit → adaptiveLimit → breaker → retry → backend
//                                                                                 └→ target: …            (a target open to any version: one such path per version)
//
// A graph model (`graph` instead of `targets`) ends in its graph instead of the split; each step
// is another model's handle, so its whole path above (src/graph/graph.ts):
//
//   deadline → transform → classification → maxRows → graph ─┬→ model a: deadline → … → split → targets
//                                                            └→ model b: …   (sequence: a, then b; ensemble: all at once; switch: one)
//
// The stages and their order are listed in src/stages.ts (the registry); a target's path is
// built in src/target.ts. On a reload, a target whose effective config and backend did not change
// keeps its path from the previous pipeline (its state goes on); the others are built anew.

import type { Logger } from 'pino';
import { compose, type Composed } from './compose.ts';
import { buildGraph, type GraphPath } from './graph/graph.ts';
import { targetOf } from './routing/split.ts';
import { createWeights } from './routing/weights.ts';
import type { ModelConfig } from './schema.ts';
import { graphModelStages, modelStages, targetStages } from './stages.ts';
import { openTarget, sameTarget, targetSettings, withOverride, type PipelineDeps, type TargetPath } from './target.ts';
import type { Infer } from './types.ts';

/** ModelPipeline is everything the gateway keeps for one model. */
export interface ModelPipeline {
  name: string;
  infer: Infer;
  targets: TargetPath[];
  /** A graph model's graph (it has no targets then). */
  graph?: GraphPath;
  status(): Record<string, unknown>;
  /** False while a model stage refuses every call (a transform still loading, or failed to load). */
  ready(): boolean;
  /** Builds the model stages and its targets' now, when they are not yet (they are built on first use otherwise). */
  build(): void;
  /** Closes the model stages and the targets, but those in `keep` (a newer pipeline took them over). */
  close(keep?: ReadonlySet<TargetPath>): Promise<void>;
}

/**
 * modelPipeline builds one model's path, taking over the unchanged target paths of `previous`.
 * Its model stages and its targets' are built on first use (the lookup of its handle, a call,
 * its status), but for a model with a transform: its modules load in the background and hold
 * the model's readiness until they are loaded (the one model stage that can refuse every
 * call), so its model stages are built, and start loading, now.
 */
export function modelPipeline(name: string, model: ModelConfig, deps: PipelineDeps, previous: readonly TargetPath[] = []): ModelPipeline {
  let log: Logger | undefined;
  const logOf = (): Logger => (log ??= deps.log.child({ model: name }));
  if (model.graph !== undefined) return graphPipeline(name, model, model.graph, { ...deps, log: logOf() });
  const taken = previous.length === 0 ? undefined : new Set<TargetPath>();
  const targets = model.targets.map((t) => {
    const settings = taken === undefined ? undefined : targetSettings(name, model, t, targetStages);
    const backend = deps.backends.get(t.backend);
    const kept = taken === undefined ? undefined : previous.find((p) => !taken.has(p) && sameTarget(p, backend, settings));
    // The target's logger is a child of the model's, made when the target's stages are built.
    if (kept === undefined) return openTarget(name, model, t, targetStages, deps, settings, logOf);
    taken!.add(kept);
    return kept;
  });
  let built: { top: Composed; infer: Infer } | undefined;
  let closed = false;
  const top = (): { top: Composed; infer: Infer } => {
    if (built !== undefined) return built;
    const log = logOf();
    const weights = createWeights(targets, { model: name, log });
    const metadata = async () => withOverride(await targets[0]!.endpointFor().metadata(), model.metadata, name);
    const composed = compose(modelStages, model, { model: name, log, targets, weights, timeoutMs: model.timeoutMs, backends: deps.backends, metadata });
    const byName = new Map(targets.map((t) => [t.name, t]));
    // Below the split: the call goes down the path of the target it named.
    const toTarget: Infer = (req, ctx) => {
      const own = byName.get(ctx.target!);
      if (own !== undefined) return own.path()(req, ctx);
      const { name: target, version } = targetOf(ctx);
      return byName.get(target)!.path(version)(req, ctx);
    };
    built = { top: composed, infer: composed.stage(toTarget) };
    // Built after the pipeline closed (a call that raced the close): its stages refuse as closed ones do.
    if (closed) void composed.close();
    return built;
  };
  if (model.transform !== undefined) top();
  return {
    name,
    infer: (req, ctx) => top().infer(req, ctx),
    targets,
    status: () => ({ ...top().top.status(), targets: targets.map((t) => t.status()) }),
    // Model stages not built yet have refused nothing.
    ready: () => built === undefined || built.top.available(),
    build: () => {
      top();
      for (const t of targets) t.build();
    },
    close: async (keep) => {
      closed = true;
      await Promise.allSettled([built?.top.close(), ...targets.filter((t) => keep?.has(t) !== true).map((t) => t.close())]);
    },
  };
}

// graphPipeline builds a graph model's path: the model stages that do not route to targets, over the graph.
function graphPipeline(name: string, model: ModelConfig, config: NonNullable<ModelConfig['graph']>, deps: PipelineDeps): ModelPipeline {
  const models = deps.models;
  if (models === undefined) throw new Error(`model "${name}" is a graph, and the pipeline was built without the other models' handles`);
  const graph = buildGraph(config, { model: name, models, log: deps.log });
  const metadata = async () => withOverride(await graph.metadata(), model.metadata, name);
  const top = compose(graphModelStages, model, { model: name, log: deps.log, targets: [], weights: createWeights([], { model: name, log: deps.log }),
    timeoutMs: model.timeoutMs, backends: deps.backends, metadata });
  return {
    name,
    infer: top.stage(graph.infer),
    targets: [],
    graph,
    status: () => ({ ...top.status(), graph: graph.status() }),
    ready: () => top.available(),
    build: () => {},
    close: async () => { await Promise.allSettled([top.close(), graph.close()]); },
  };
}
