// pipeline.ts — one model's request path, the table of contents of the gateway:
//   split (weights, sticky, override) → shadow copy → per target: batcher → guard → backend.

import type { Logger } from 'pino';
import type { ModelConfig, TargetConfig } from './config/schema.ts';
import { createBatcher } from './batching/batcher.ts';
import { GatewayError } from './errors.ts';
import { createGuard } from './guard/guard.ts';
import type { Backend, Health, Infer, ModelEndpoint } from './types.ts';

/** TargetState is one target of a model with its live readiness. */
export interface TargetState {
  name: string;
  backend: string;
  model: string;
  version?: string;
  weight: number;
  endpoint: ModelEndpoint;
  infer: Infer;
  health: Health;
  /** Ready and not cut off by its breaker: a split may send traffic here. */
  available(): boolean;
  status(): Record<string, unknown>;
  close(): void;
}

/** ModelPipeline is everything the gateway keeps for one model. */
export interface ModelPipeline {
  name: string;
  infer: Infer;
  targets: TargetState[];
  /** The path to the target serving `version`, when a client names one. */
  forVersion(version: string): Infer | undefined;
  status(): Record<string, unknown>;
  close(): Promise<void>;
}

export interface PipelineDeps {
  backends: Map<string, Backend>;
  log: Logger;
}

/** targetName gives a target's name: configured, or "<backend>/<model>[/<version>]". */
export function targetName(t: TargetConfig, model: string): string {
  return t.name ?? [t.backend, t.model ?? model, t.version].filter((x) => x !== undefined).join('/');
}

/** modelPipeline builds the path for one model. */
export function modelPipeline(name: string, model: ModelConfig, deps: PipelineDeps): ModelPipeline {
  const targets = model.targets.map((t) => buildTarget(name, model, t, deps));
  const infer = weightedPick(targets);
  return {
    name,
    infer,
    targets,
    forVersion: (version) => targets.find((t) => t.version === version)?.infer,
    status: () => ({ targets: targets.map((t) => ({ name: t.name, ready: t.health.ready, reason: t.health.reason, ...t.status() })) }),
    close: async () => { targets.forEach((t) => t.close()); },
  };
}

function buildTarget(modelName: string, model: ModelConfig, t: TargetConfig, deps: PipelineDeps): TargetState {
  const backend = deps.backends.get(t.backend)!;
  const backendModel = t.model ?? modelName;
  const endpoint = backend.model(backendModel, t.version);
  const name = targetName(t, modelName);
  const log = deps.log.child({ target: name });
  const guard = createGuard({ breaker: model.breaker, retry: model.retry, maxInFlight: t.maxInFlight }, { target: name, backend: t.backend, log });
  const batching = t.batching ?? model.batching;
  const batcher = batching === undefined ? undefined
    : createBatcher(batching, { target: name, log, maxBatchSize: model.metadata?.maxBatchSize });
  // backend ← guard ← batcher: one batch is one guarded backend call.
  const guarded = guard.stage(endpoint.infer);
  const path = batcher === undefined ? guarded : batcher.stage(guarded);
  const state: TargetState = {
    name, backend: t.backend, model: backendModel, version: t.version, weight: t.weight, endpoint,
    health: { ready: false, reason: 'not checked yet' },
    available: () => state.health.ready && guard.available(),
    infer: (req, ctx) => {
      ctx.target = name;
      if (!state.health.ready) {
        return Promise.reject(new GatewayError('backend_unavailable', `target ${name} is not ready: ${state.health.reason ?? 'unknown'}`));
      }
      return path(req, ctx);
    },
    status: () => ({ guard: guard.status(), batching: batcher?.status() }),
    close: () => { batcher?.close(); guard.close(); },
  };
  return state;
}

// weightedPick is the placeholder split until routing/split.ts lands: weighted random over ready targets.
function weightedPick(targets: TargetState[]): Infer {
  return (req, ctx) => {
    const ready = targets.filter((t) => t.available() && t.weight > 0);
    const pool = ready.length > 0 ? ready : targets;
    const total = pool.reduce((s, t) => s + t.weight, 0);
    let r = Math.random() * total;
    const chosen = pool.find((t) => (r -= t.weight) < 0) ?? pool[0]!;
    return chosen.infer(req, ctx);
  };
}
