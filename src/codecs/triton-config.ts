// triton-config.ts — a model's metadata as Triton's JSON model configuration (the ModelConfig
// message of model_config.proto, with its field names, as GET v2/models/{m}/config answers it:
// server/docs/protocol/extension_model_configuration.md). Pure: the backend or the gateway says
// what it knows, this writes it in Triton's shape, which tritonclient, perf_analyzer and
// model_analyzer read.

import type { Datatype } from '../tensors/datatype.ts';
import type { ModelMetadata, TensorSpec } from '../tensors/tensor.ts';

/** TritonModelConfig is the JSON object; only the fields written here are typed. */
export interface TritonModelConfig extends Record<string, unknown> {
  name: string;
  platform: string;
  backend: string;
  max_batch_size: number;
  input: Array<Record<string, unknown>>;
  output: Array<Record<string, unknown>>;
}

/** ConfigFacts is what a backend adds to the metadata: its Triton platform and backend, its instances. */
export interface ConfigFacts {
  /** Triton's platform name ("onnxruntime_onnx"); the metadata's platform when omitted. */
  platform?: string;
  /** Triton's backend name ("onnxruntime"); "" when no Triton backend runs it. */
  backend?: string;
  /** Execution instances: instance_group count. */
  instances?: number;
  /** KIND_CPU or KIND_GPU. */
  kind?: 'KIND_CPU' | 'KIND_GPU';
  defaultModelFilename?: string;
}

/** tritonDatatype gives the model-config name of a KServe v2 datatype (BYTES is TYPE_STRING there). */
export function tritonDatatype(datatype: Datatype | string): string {
  return datatype === 'BYTES' ? 'TYPE_STRING' : `TYPE_${datatype}`;
}

/**
 * tritonModelConfig writes metadata as a model configuration. With max_batch_size > 0 Triton's
 * dims leave out the batch dimension, which the metadata shapes carry first (as -1).
 */
export function tritonModelConfig(meta: ModelMetadata, facts: ConfigFacts = {}): TritonModelConfig {
  const maxBatch = meta.maxBatchSize ?? 0;
  const dims = (s: TensorSpec): number[] => (maxBatch > 0 && s.shape.length > 0 ? s.shape.slice(1) : s.shape);
  const config: TritonModelConfig = {
    name: meta.name,
    platform: facts.platform ?? meta.platform,
    backend: facts.backend ?? '',
    version_policy: { latest: { num_versions: 1 } },
    max_batch_size: maxBatch,
    input: meta.inputs.map((s) => ({
      name: s.name, data_type: tritonDatatype(s.datatype), format: 'FORMAT_NONE', dims: dims(s),
      is_shape_tensor: false, allow_ragged_batch: false, optional: false,
    })),
    output: meta.outputs.map((s) => ({ name: s.name, data_type: tritonDatatype(s.datatype), dims: dims(s), label_filename: '', is_shape_tensor: false })),
    batch_input: [],
    batch_output: [],
    parameters: {},
  };
  if (facts.instances !== undefined) {
    config.instance_group = [{ name: meta.name, kind: facts.kind ?? 'KIND_CPU', count: facts.instances, gpus: [], secondary_devices: [], profile: [], passive: false, host_policy: '' }];
  }
  if (facts.defaultModelFilename !== undefined) config.default_model_filename = facts.defaultModelFilename;
  return config;
}

/** DynamicBatching is the gateway's batcher as Triton's dynamic_batching block says it. */
export interface DynamicBatching {
  maxBatchSize: number;
  maxQueueDelayMs: number;
}

/**
 * withGatewayBatching gives a config seen through the gateway: under the gateway's model name, and
 * with the gateway's batcher as dynamic_batching when the server does not batch itself (a
 * client that reads the config learns that its single rows are merged).
 */
export function withGatewayBatching(config: Record<string, unknown>, name: string, batching: DynamicBatching | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = { ...config, name };
  if (batching !== undefined && out.dynamic_batching === undefined && typeof out.max_batch_size === 'number' && out.max_batch_size > 0) {
    out.dynamic_batching = {
      preferred_batch_size: [batching.maxBatchSize],
      max_queue_delay_microseconds: Math.round(batching.maxQueueDelayMs * 1000),
      preserve_ordering: true,
    };
  }
  return out;
}
