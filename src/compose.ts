// compose.ts — builds a list of stage plugins from one config block and folds them into one
// path piece: the stages wrap each other in list order (the first is outermost), and their
// status, availability and close are folded the same way for every stage.

import type { Stage, StageInstance, StagePlugin } from './types.ts';

/** Composed is a built list of stages, folded. */
export interface Composed {
  stage: Stage;
  /** Each stage's status under its plugin's name. */
  status(): Record<string, unknown>;
  /** True unless some stage would refuse every call. */
  available(): boolean;
  close(): Promise<void>;
}

/** compose creates each plugin from `config` and `deps`, leaving out those the config leaves out. */
export function compose<D>(plugins: ReadonlyArray<StagePlugin<any, D>>, config: object, deps: D): Composed {
  const built: Array<[string, StageInstance]> = [];
  for (const plugin of plugins) {
    const instance = plugin.create(config, deps);
    if (instance !== undefined) built.push([plugin.name, instance]);
  }
  const gates = built.filter(([, s]) => s.available !== undefined).map(([, s]) => s);
  return {
    stage: (next) => built.reduceRight((inner, [, s]) => s.stage(inner), next),
    status: () => {
      const out: Record<string, unknown> = {};
      for (const [name, s] of built) if (s.status !== undefined) out[name] = s.status();
      return out;
    },
    available: () => gates.every((s) => s.available!()),
    close: async () => { await Promise.allSettled(built.map(([, s]) => s.close?.())); },
  };
}
