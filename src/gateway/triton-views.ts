// triton-views.ts — a model as Triton tooling reads it besides its metadata: its configuration
// (GET v2/models/{m}/config) and its statistics (GET v2/models/{m}/stats), both over the targets
// that serve it. The handles of build.ts carry these.

import { tritonModelConfig, withGatewayBatching } from '../codecs/triton-config.ts';
import { modelStatistics } from '../observe/model-stats.ts';
import { targetName, type ModelConfig } from '../schema.ts';
import type { TargetPath } from '../target.ts';
import type { ModelMetadata } from '../tensors/tensor.ts';

/**
 * modelConfigOf is the serving target's config as its backend gives it (Triton's own, the ONNX
 * backend's), or written from the metadata for other backends; under the gateway's name, with the
 * configured maxBatchSize, and the gateway's batcher as dynamic_batching when the target batches.
 */
export async function modelConfigOf(name: string, model: ModelConfig, target: TargetPath, version: string | undefined,
  metadata: () => Promise<ModelMetadata>): Promise<Record<string, unknown>> {
  const endpoint = target.endpointFor(version);
  const config = endpoint.config !== undefined ? await endpoint.config() : tritonModelConfig(await metadata());
  const own = model.targets.find((t) => targetName(t, name) === target.name);
  const batching = own?.batching ?? model.batching;
  const out = withGatewayBatching(config, name, batching);
  if (model.metadata?.maxBatchSize !== undefined) out.max_batch_size = model.metadata.maxBatchSize;
  return out;
}

/**
 * modelStatsOf gives one `$model_stat` per version among the serving targets (a version the client
 * named: the targets serving it, as one), each summing its targets' counts.
 */
export async function modelStatsOf(name: string, serving: readonly TargetPath[], version: string | undefined): Promise<Array<Record<string, unknown>>> {
  const groups = new Map<string | undefined, TargetPath[]>();
  for (const t of serving) {
    const key = version ?? t.version;
    groups.set(key, [...(groups.get(key) ?? []), t]);
  }
  return Promise.all([...groups.entries()].map(([v, targets]) => modelStatistics(name, v, targets.map((t) => ({
    stats: t.stats, labels: t.versionLabel === undefined ? [t.name] : [t.name, t.versionLabel('')],
  })))));
}
