// describe.ts — a loaded ONNX model as the gateway describes it: its v2 metadata (inputs,
// outputs, whether dim 0 batches) and, for Triton tooling, its model configuration.

import { basename } from 'node:path';
import { tritonModelConfig } from '../../codecs/triton-config.ts';
import type { ModelMetadata } from '../../tensors/tensor.ts';
import type { Loaded } from './load.ts';

/** largeBatch is the maxBatchSize reported for models whose dim 0 is dynamic. */
export const largeBatch = 65536;

/** metadataOf is a loaded model's v2 metadata under the name it is served as. */
export function metadataOf(m: Loaded, model: string): ModelMetadata {
  const batched = m.inputs.length > 0 && m.inputs.every((s) => s.shape[0] === -1);
  return {
    name: model, versions: [m.file.version], platform: 'onnx_onnxv1',
    inputs: m.inputs, outputs: m.outputs,
    maxBatchSize: batched ? largeBatch : 0,
    parameters: { executionProvider: m.info.provider },
  };
}

// configOf is the model as Triton's onnxruntime backend would describe it: its inputs and outputs,
// max_batch_size, and one instance per worker thread, on the provider the session runs on.
export function configOf(m: Loaded, model: string, workers: number): Record<string, unknown> {
  return tritonModelConfig(metadataOf(m, model), {
    platform: 'onnxruntime_onnx', backend: 'onnxruntime', instances: workers,
    kind: m.info.provider === 'cpu' ? 'KIND_CPU' : 'KIND_GPU', defaultModelFilename: basename(m.file.path),
  });
}
