// pipeline.ts — the map of the request path. One model's path:
//
//   deadline → maxRows → shadow → rollback → split ─┬→ target: ready → batcher → limit → adaptiveLimit → breaker → retry → backend
//                                                    └→ target: …            (a target open to any version: one such path per version)
//
// The stages and their order are listed in src/stages.ts (the registry); a target's path is
// built in src/target.ts.

import { compose } from './compose.ts';
import { targetOf } from './routing/split.ts';
import { createWeights } from './routing/weights.ts';
import type { ModelConfig } from './schema.ts';
import { modelStages, targetStages } from './stages.ts';
import { openTarget, type PipelineDeps, type TargetPath } from './target.ts';
import type { Infer } from './types.ts';

/** ModelPipeline is everything the gateway keeps for one model. */
export interface ModelPipeline {
  name: string;
  infer: Infer;
  targets: TargetPath[];
  status(): Record<string, unknown>;
  close(): Promise<void>;
}

/** modelPipeline builds one model's path. */
export function modelPipeline(name: string, model: ModelConfig, deps: PipelineDeps): ModelPipeline {
  const log = deps.log.child({ model: name });
  const targets = model.targets.map((t) => openTarget(name, model, t, targetStages, { ...deps, log }));
  const weights = createWeights(targets, { model: name, log });
  const top = compose(modelStages, model, { model: name, log, targets, weights, timeoutMs: model.timeoutMs, backends: deps.backends });
  const byName = new Map(targets.map((t) => [t.name, t]));
  // Below the split: the call goes down the path of the target it named.
  const toTarget: Infer = (req, ctx) => {
    const own = byName.get(ctx.target!);
    if (own !== undefined) return own.path()(req, ctx);
    const { name: target, version } = targetOf(ctx);
    return byName.get(target)!.path(version)(req, ctx);
  };
  return {
    name,
    infer: top.stage(toTarget),
    targets,
    status: () => ({ ...top.status(), targets: targets.map((t) => t.status()) }),
    close: async () => { await Promise.allSettled([top.close(), ...targets.map((t) => t.close())]); },
  };
}
