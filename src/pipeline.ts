// pipeline.ts — one model's request path, the table of contents of the gateway:
//   split (weights, sticky, override) → shadow copy → per target: batcher → guard → backend.

import type { Logger } from 'pino';
import { targetName, type ModelConfig, type TargetConfig } from './config/schema.ts';
import { createBatcher } from './batching/batcher.ts';
import { GatewayError } from './errors.ts';
import { createGuard } from './guard/guard.ts';
import { createRollback } from './routing/rollback.ts';
import { createShadow } from './routing/shadow.ts';
import { createSplit } from './routing/split.ts';
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

/** modelPipeline builds the path for one model. */
export function modelPipeline(name: string, model: ModelConfig, deps: PipelineDeps): ModelPipeline {
  const log = deps.log;
  const targets = model.targets.map((t) => buildTarget(name, model, t, deps));
  const split = createSplit(model, targets, { model: name, log });
  let infer: Infer = split.infer;
  const rollback = model.rollback === undefined ? undefined : createRollback(model.rollback, split, { model: name, log });
  if (rollback !== undefined) infer = rollback.stage(infer);
  let shadow: ReturnType<typeof createShadow> | undefined;
  if (model.shadow !== undefined) {
    const s = model.shadow;
    const endpoint = deps.backends.get(s.backend)!.model(s.model ?? name, s.version);
    shadow = createShadow(s, endpoint.infer, { model: name, log, timeoutMs: model.timeoutMs });
    infer = shadow.stage(infer);
  }
  return {
    name,
    infer,
    targets,
    forVersion: (version) => targets.find((t) => t.version === version)?.infer,
    status: () => ({
      split: split.status(),
      targets: targets.map((t) => ({ name: t.name, ready: t.health.ready, reason: t.health.reason, ...t.status() })),
      ...(rollback === undefined ? {} : { rollback: rollback.status() }),
      ...(shadow === undefined ? {} : { shadow: shadow.status() }),
    }),
    close: async () => {
      targets.forEach((t) => t.close());
      await shadow?.close();
    },
  };
}

function buildTarget(modelName: string, model: ModelConfig, t: TargetConfig, deps: PipelineDeps): TargetState {
  const backend = deps.backends.get(t.backend)!;
  const backendModel = t.model ?? modelName;
  const endpoint = backend.model(backendModel, t.version);
  const name = targetName(t, modelName);
  const log = deps.log.child({ target: name });
  const guard = createGuard({ breaker: model.breaker, retry: model.retry, maxInFlight: t.maxInFlight, adaptiveConcurrency: t.adaptiveConcurrency }, { target: name, backend: t.backend, log });
  const batching = t.batching ?? model.batching;
  // The backend's own batch limit (Triton max_batch_size, ONNX dim 0), learned from its
  // metadata on the first call; the model's metadata override wins. 0 = the model does not
  // batch: its requests go straight to the backend, one instance at a time.
  let backendMax: number | undefined = model.metadata?.maxBatchSize;
  const learnBatchLimit = async (signal: AbortSignal): Promise<void> => {
    try {
      backendMax = (await endpoint.metadata(signal)).maxBatchSize ?? Infinity;
    } catch {
      // Unknown for now (the call itself will say why it fails); asked again next time.
    }
  };
  const batcher = batching === undefined ? undefined
    : createBatcher(batching, { target: name, log, maxBatchSize: () => backendMax });
  // backend ← guard ← batcher: one batch is one guarded backend call.
  const guarded = guard.stage(endpoint.infer);
  let path: Infer = guarded;
  if (batcher !== undefined) {
    const batched = batcher.stage(guarded);
    path = async (req, ctx) => {
      if (backendMax === undefined) await learnBatchLimit(ctx.signal);
      return backendMax === 0 ? guarded(req, ctx) : batched(req, ctx);
    };
  }
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
