// triton-config.ts: metadata written as Triton's JSON model configuration (model_config.proto's
// ModelConfig with Triton's field names), as GET v2/models/{m}/config answers it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tritonDatatype, tritonModelConfig, withGatewayBatching } from '../../src/codecs/triton-config.ts';

test('datatypes take their model-config names; BYTES is TYPE_STRING there', () => {
  assert.deepEqual(['FP32', 'INT64', 'BOOL', 'UINT8', 'FP16', 'BYTES'].map(tritonDatatype),
    ['TYPE_FP32', 'TYPE_INT64', 'TYPE_BOOL', 'TYPE_UINT8', 'TYPE_FP16', 'TYPE_STRING']);
});

test('a batching model\'s dims leave out the batch dimension; a non-batching model\'s keep every one', () => {
  const batched = tritonModelConfig({
    name: 'iris', platform: 'onnx_onnxv1', maxBatchSize: 8,
    inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 4] }],
    outputs: [{ name: 'label', datatype: 'INT64', shape: [-1] }, { name: 'probabilities', datatype: 'FP32', shape: [-1, 3] }],
  }, { platform: 'onnxruntime_onnx', backend: 'onnxruntime', instances: 2, kind: 'KIND_GPU', defaultModelFilename: 'model.onnx' });
  assert.equal(batched.max_batch_size, 8);
  assert.deepEqual(batched.input, [{ name: 'input', data_type: 'TYPE_FP32', format: 'FORMAT_NONE', dims: [4], is_shape_tensor: false, allow_ragged_batch: false, optional: false }]);
  assert.deepEqual(batched.output.map((o) => [o.name, o.data_type, o.dims]), [['label', 'TYPE_INT64', []], ['probabilities', 'TYPE_FP32', [3]]]);
  assert.equal(batched.platform, 'onnxruntime_onnx');
  assert.equal(batched.backend, 'onnxruntime');
  assert.deepEqual((batched.instance_group as Array<Record<string, unknown>>).map((g) => [g.kind, g.count]), [['KIND_GPU', 2]]);
  assert.equal(batched.default_model_filename, 'model.onnx');
  assert.deepEqual(batched.version_policy, { latest: { num_versions: 1 } });

  const fixed = tritonModelConfig({ name: 'd', platform: 'pytorch_libtorch', maxBatchSize: 0, inputs: [{ name: 'v', datatype: 'FP32', shape: [3] }], outputs: [] });
  assert.equal(fixed.max_batch_size, 0);
  assert.deepEqual(fixed.input[0]!.dims, [3]);
  assert.equal(fixed.platform, 'pytorch_libtorch', 'the metadata\'s platform when the backend names none');
  assert.equal(fixed.instance_group, undefined);
});

test('seen through the gateway: its name, and its batcher as dynamic_batching unless the server batches itself', () => {
  const own = { name: 'linear', max_batch_size: 8, dynamic_batching: { max_queue_delay_microseconds: 100 } };
  assert.deepEqual(withGatewayBatching(own, 'lin', { maxBatchSize: 32, maxQueueDelayMs: 5 }), { ...own, name: 'lin' });
  const plain = { name: 'iris', max_batch_size: 64 };
  assert.deepEqual(withGatewayBatching(plain, 'iris', { maxBatchSize: 32, maxQueueDelayMs: 2.5 }).dynamic_batching,
    { preferred_batch_size: [32], max_queue_delay_microseconds: 2500, preserve_ordering: true });
  assert.equal(withGatewayBatching(plain, 'iris', undefined).dynamic_batching, undefined);
  assert.equal(withGatewayBatching({ name: 'x', max_batch_size: 0 }, 'x', { maxBatchSize: 32, maxQueueDelayMs: 1 }).dynamic_batching, undefined,
    'a model without a batch dimension is not batched');
});
